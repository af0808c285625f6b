"""Rejection of absurd teacher labels: the limits, and why a label breaks them."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from nanomlip.teachers.base import Label
from nanomlip.units import EV_PER_A3_TO_GPA


@dataclass(frozen=True)
class RejectionRules:
    """Limits beyond which a teacher label is considered absurd and the frame dropped.

    Attributes:
        max_force: Largest force component magnitude, eV/Å.
        max_abs_energy_per_atom: Largest |energy| per atom, eV.
        max_stress: Largest stress component magnitude, GPa.
    """

    max_force: float = 100.0
    max_abs_energy_per_atom: float = 50.0
    max_stress: float = 500.0

    def __post_init__(self) -> None:
        for name, value in dataclasses.asdict(self).items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"rejection limit {name} must be a positive number, got {value}")


def rejection_reason(label: Label, atoms: Atoms, rules: RejectionRules) -> str | None:
    """Why a label is rejected (``"kind: detail"``), or ``None`` if it is acceptable."""
    arrays = {"energy": np.asarray(label.energy), "forces": label.forces}
    if label.stress is not None:
        arrays["stress"] = label.stress
    for name, value in arrays.items():
        if not np.all(np.isfinite(value)):
            return f"non-finite {name}"
    if label.forces.shape != (len(atoms), 3):
        return f"bad forces shape: {label.forces.shape} for {len(atoms)} atoms"
    if abs(label.energy) / len(atoms) > rules.max_abs_energy_per_atom:
        return f"absurd energy: {label.energy / len(atoms):.3g} eV/atom"
    force = float(np.abs(label.forces).max()) if len(atoms) else 0.0
    if force > rules.max_force:
        return f"absurd force: {force:.3g} eV/Å"
    if label.stress is not None:
        stress = float(np.abs(label.stress).max()) * EV_PER_A3_TO_GPA
        if stress > rules.max_stress:
            return f"absurd stress: {stress:.3g} GPa"
    return None
