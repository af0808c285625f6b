"""MACE teachers: a MACE model file (``mace:/path/to/model``), from mace-torch's own environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ase.calculators.calculator import Calculator
from ase.data import chemical_symbols

from nanomlip.teachers.base import Provenance, Teacher, TeacherError


class MACETeacher(Teacher):
    """A MACE model file (``mace:/path/to/model``).

    ``mace-torch`` pins an e3nn version that conflicts with ``sevenn``; install it in
    its own environment and label from there.
    """

    def __init__(self, spec: str, path: str, device: str = "cpu") -> None:
        super().__init__(spec)
        if not Path(path).is_file():
            raise TeacherError(f"MACE model file {path!r} does not exist")
        try:
            import mace
        except ImportError as error:
            raise TeacherError(
                "MACE teachers need mace-torch, which conflicts with sevenn's e3nn: install it "
                "in its own virtual environment (pip install mace-torch nanomlip) and label there"
            ) from error
        self.path = str(Path(path).resolve())
        self.device = device
        self._version = getattr(mace, "__version__", "unknown")
        self._elements: list[str] | None = None

    @property
    def provenance(self) -> Provenance:
        return Provenance(self.spec, "mace", Path(self.path).name, None, f"mace {self._version}")

    @property
    def elements(self) -> list[str]:
        if self._elements is None:
            calculator: Any = self.calculator()  # a MACECalculator
            numbers = [int(z) for z in calculator.models[0].atomic_numbers]
            self._elements = [chemical_symbols[z] for z in sorted(numbers)]
        return self._elements

    def make_calculator(self) -> Calculator:
        from mace.calculators import MACECalculator

        return MACECalculator(model_paths=self.path, device=self.device, default_dtype="float64")


def load(
    spec: str, model: str, task: str | None, device: str = "cpu", **options: Any
) -> MACETeacher:
    """The teacher of a parsed spec (:func:`nanomlip.teachers.load_teacher` calls this).

    Args:
        spec: The canonical spec string.
        model: The part after ``family:`` (and before ``@task``).
        task: Unused.
        device: Torch device.
        options: Unused (other families take options).
    """
    return MACETeacher(spec, model, device=device)
