"""The common teacher interface: label structures with one model task in one setup.

A teacher wraps an ASE calculator (the lingua franca of every foundation model
and DFT code) and adds what distillation needs: a canonical spec string and
provenance (family, model, task, version), the set of elements it knows, batched
labelling, and Hessian-vector products by central differences of forces, which
work for any teacher.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, PropertyNotImplementedError
from ase.data import chemical_symbols

#: Every element H..Pu: teachers whose calculator decides what it can handle.
ALL_ELEMENTS = chemical_symbols[1:95]


class TeacherError(ValueError):
    """A teacher spec that cannot be resolved (bad syntax, unknown model or task)."""


@dataclass
class Label:
    """Teacher outputs for one structure.

    Attributes:
        energy: Total energy, eV.
        forces: (N, 3) forces, eV/Å.
        stress: (6,) Voigt stress (xx, yy, zz, yz, xz, xy), eV/Å^3, ASE sign
            convention; ``None`` for structures not periodic in 3D.
        energies: (N,) per-atom energies, eV, where the teacher provides them.
    """

    energy: float
    forces: np.ndarray
    stress: np.ndarray | None = None
    energies: np.ndarray | None = None


@dataclass
class Provenance:
    """Where labels come from; stored with every labelled frame."""

    spec: str
    family: str
    model: str
    task: str | None
    version: str
    extra: dict[str, str] = field(default_factory=dict)


class Teacher(abc.ABC):
    """A labelling model. Subclasses implement :meth:`make_calculator` and :attr:`elements`.

    Args:
        spec: Canonical spec string, e.g. ``"sevennet:7net-mf-0@PBE"``.
    """

    #: Whether the teacher's calculator reports per-atom energies.
    provides_atomic_energies: bool = False

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self._calculator: Calculator | None = None

    @property
    @abc.abstractmethod
    def provenance(self) -> Provenance:
        """Family, model, task and version of the teacher."""

    @property
    @abc.abstractmethod
    def elements(self) -> list[str]:
        """Chemical symbols the teacher can label, in atomic-number order."""

    @abc.abstractmethod
    def make_calculator(self) -> Calculator:
        """Build a fresh ASE calculator of this teacher."""

    def energy_statistics(self) -> tuple[dict[int, float], dict[int, float]] | None:
        """The teacher's per-element energy shift and scale (eV), where it exposes them.

        Models of the form ``E_i = scale_Z * out_i + shift_Z`` (SevenNet, NequIP) give both,
        keyed by atomic number; a student of the same form can start from them, as
        SevenNet-Nano did. ``None`` (the default) when the teacher has no such readout.
        """
        return None

    def calculator(self) -> Calculator:
        """The teacher's (cached) ASE calculator, e.g. to drive MD for sampling."""
        if self._calculator is None:
            self._calculator = self.make_calculator()
        return self._calculator

    def check_elements(self, atoms: Atoms) -> None:
        """Raise ``ValueError`` naming elements of ``atoms`` the teacher does not know."""
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(self.elements))
        if unknown:
            raise ValueError(
                f"teacher {self.spec} does not know {', '.join(unknown)}; "
                f"it knows {' '.join(self.elements)}"
            )

    def label_one(self, atoms: Atoms) -> Label:
        """Energy, forces, stress (3D-periodic only) and, if available, per-atom energies."""
        self.check_elements(atoms)
        atoms = atoms.copy()
        atoms.calc = self.calculator()
        energy = float(atoms.get_potential_energy())
        forces = np.asarray(atoms.get_forces(), dtype=float)
        stress = np.asarray(atoms.get_stress(voigt=True), dtype=float) if atoms.pbc.all() else None
        energies = None
        if self.provides_atomic_energies:
            try:
                energies = np.asarray(atoms.get_potential_energies(), dtype=float)
            except (PropertyNotImplementedError, NotImplementedError):
                energies = None
        return Label(energy=energy, forces=forces, stress=stress, energies=energies)

    def label(self, structures: Sequence[Atoms]) -> list[Label]:
        """Label a batch of structures (subclasses may evaluate them jointly)."""
        return [self.label_one(atoms) for atoms in structures]

    def hessian_vector_product(
        self, atoms: Atoms, vector: np.ndarray, step: float = 1e-3
    ) -> np.ndarray:
        r"""Hessian of the energy times ``vector`` by central differences of the forces.

        .. math:: H v \approx -\frac{F(x + h \hat v) - F(x - h \hat v)}{2h} |v|

        Args:
            atoms: The structure.
            vector: (N, 3) direction, Å (any norm).
            step: Displacement ``h`` along the unit vector, Å.

        Returns:
            (N, 3) Hessian-vector product, eV/Å².
        """
        vector = np.asarray(vector, dtype=float)
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            return np.zeros_like(vector)
        unit = vector / norm
        forces = []
        for sign in (1.0, -1.0):
            displaced = atoms.copy()
            displaced.positions = atoms.positions + sign * step * unit
            forces.append(self.label_one(displaced).forces)
        return -(forces[0] - forces[1]) / (2.0 * step) * norm


def symbols_from_numbers(numbers: Sequence[int]) -> list[str]:
    """Symbols sorted by atomic number."""
    return [chemical_symbols[int(z)] for z in sorted(set(int(z) for z in numbers))]
