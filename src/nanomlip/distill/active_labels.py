"""Teacher labels on chosen MD frames, with the current student's errors recorded.

Each labelled frame carries, in ``info``, the error of the student that chose it:
``student_force_mae_meV_A`` (mean |ΔF| over atoms and components, meV/Å) and
``student_energy_error_meV_atom`` ((E_student - E_teacher) / N, meV/atom).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator


def label_frames(teacher: Any, frames: Sequence[Atoms], student: Any) -> list[Atoms]:
    """Teacher labels on each frame, plus the student's errors in ``info`` (meV/Å, meV/atom)."""
    out = []
    for frame in frames:
        label = teacher.label_one(frame)
        atoms = frame.copy()
        results = {"energy": label.energy, "free_energy": label.energy, "forces": label.forces}
        if label.stress is not None:
            results["stress"] = label.stress
        probe = frame.copy()
        probe.calc = student
        error = np.asarray(probe.get_forces()) - label.forces
        atoms.info["student_force_mae_meV_A"] = 1e3 * float(np.mean(np.abs(error)))
        atoms.info["student_energy_error_meV_atom"] = (
            1e3 * (probe.get_potential_energy() - label.energy) / len(frame)
        )
        atoms.calc = SinglePointCalculator(atoms, **results)
        out.append(atoms)
    return out


def frame_errors(frames: Sequence[Atoms]) -> list[float]:
    """The students' force MAE (meV/Å) recorded on labelled frames."""
    return [float(f.info["student_force_mae_meV_A"]) for f in frames]


def pooled_force_mae(frames: Sequence[Atoms]) -> float:
    """Force MAE over every atom of the frames (meV/Å), weighting frames by size."""
    sizes = np.asarray([len(f) for f in frames], dtype=float)
    return float(np.sum(np.asarray(frame_errors(frames)) * sizes) / np.sum(sizes))
