"""A live trust check during MD: every N-th frame is labelled by the teacher.

The student's force error against the teacher on the current frame goes into two
thermo columns, :data:`TRUST_COLUMNS`:

=============================  ===========================================  ======
Column                         Meaning                                      Unit
=============================  ===========================================  ======
``teacher_force_mae_meV_A``    mean over atoms and components of |ΔF|       meV/Å
``teacher_force_max_meV_A``    largest per-atom error norm max_i |ΔF_i|     meV/Å
=============================  ===========================================  ======

Past ``warn_meV_A`` the check warns (stderr, once per crossing); past ``stop_meV_A``
it stops the run with :class:`TrustError` after the row is written, so the log shows
the frame where the model left the ground it knows. Both thresholds apply to the MAE.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np
from ase import Atoms

from nanomlip.md.errors import SimulationError
from nanomlip.teachers.base import Teacher

TRUST_COLUMNS: tuple[str, ...] = ("teacher_force_mae_meV_A", "teacher_force_max_meV_A")


class TrustError(SimulationError):
    """The student's force error against the teacher passed the stop threshold."""


@dataclass
class TrustSample:
    """One teacher spot check.

    Attributes:
        step: MD step of the frame.
        force_mae_meV_A: Mean absolute force-component error, meV/Å.
        force_max_meV_A: Largest per-atom error norm, meV/Å.
    """

    step: int
    force_mae_meV_A: float
    force_max_meV_A: float

    def values(self) -> tuple[float, float]:
        """The values of :data:`TRUST_COLUMNS`."""
        return self.force_mae_meV_A, self.force_max_meV_A


@dataclass
class TrustCheck:
    """Teacher spot checks every ``every`` steps of an MD run.

    Args:
        teacher: The teacher that labels the checked frames.
        every: Steps between checks (step 0 is checked too).
        warn_meV_A: Warn when the force MAE passes this (``None``: never).
        stop_meV_A: Stop the run when the force MAE passes this (``None``: never).
        stream: Where warnings go (default: stderr).

    Attributes:
        samples: Every check so far.
        teacher_calls: Teacher evaluations made.
        teacher_seconds: Wall time spent in them, s.
    """

    teacher: Teacher
    every: int
    warn_meV_A: float | None = None
    stop_meV_A: float | None = None
    stream: TextIO | None = None
    samples: list[TrustSample] = field(default_factory=list)
    teacher_calls: int = 0
    teacher_seconds: float = 0.0
    _warned: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"--check-every must be >= 1, got {self.every}")
        for name in ("warn_meV_A", "stop_meV_A"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")

    columns = TRUST_COLUMNS

    def due(self, step: int) -> bool:
        """Whether ``step`` is checked."""
        return step % self.every == 0

    def measure(self, atoms: Atoms, step: int) -> TrustSample:
        """Label the current frame with the teacher and compare the student's forces."""
        student = np.asarray(atoms.get_forces(), dtype=float)
        frame = Atoms(
            numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc
        )
        tic = time.perf_counter()
        label = self.teacher.label_one(frame)
        self.teacher_seconds += time.perf_counter() - tic
        self.teacher_calls += 1
        error = student - label.forces
        sample = TrustSample(
            step=step,
            force_mae_meV_A=1e3 * float(np.mean(np.abs(error))),
            force_max_meV_A=1e3 * float(np.max(np.linalg.norm(error, axis=1))),
        )
        self.samples.append(sample)
        return sample

    def enforce(self, sample: TrustSample, time_ps: float) -> None:
        """Warn or stop (raise :class:`TrustError`) if the sample passes a threshold."""
        where = f"step {sample.step} (t = {time_ps:.6g} ps)"
        mae = sample.force_mae_meV_A
        if self.stop_meV_A is not None and mae > self.stop_meV_A:
            raise TrustError(
                f"{where}: the student's force error against {self.teacher.spec} is "
                f"{mae:.1f} meV/Å, above the stop threshold {self.stop_meV_A:g} meV/Å: "
                "the structure left the ground the model knows (fine-tune it there: "
                "nanomlip specialize)"
            )
        over = self.warn_meV_A is not None and mae > self.warn_meV_A
        if over and not self._warned:
            print(
                f"nanomlip md: warning: {where}: force error against {self.teacher.spec} "
                f"{mae:.1f} meV/Å is above {self.warn_meV_A:g} meV/Å",
                file=self.stream or sys.stderr,
            )
        self._warned = over
