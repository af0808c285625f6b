"""A nanomlip student as the teacher of a smaller student (``nanomlip:<checkpoint or name>``)."""

from __future__ import annotations

from typing import Any

from ase.calculators.calculator import Calculator
from ase.data import chemical_symbols

from nanomlip._version import __version__
from nanomlip.teachers.base import Provenance, Teacher, TeacherError


class NanoTeacher(Teacher):
    """A nanomlip student teaching a smaller student (``nanomlip:<checkpoint or name>``)."""

    provides_atomic_energies = True

    def __init__(self, spec: str, model: str, device: str = "cpu") -> None:
        super().__init__(spec)
        from nanomlip.integrations.ase_calculator import NanoCalculator

        try:
            self._calc = NanoCalculator(model=model, device=device)
        except (ValueError, FileNotFoundError) as error:
            raise TeacherError(f"cannot load nanomlip teacher {model!r}: {error}") from error
        self.model_name = model

    @property
    def provenance(self) -> Provenance:
        return Provenance(self.spec, "nanomlip", self.model_name, None, f"nanomlip {__version__}")

    @property
    def elements(self) -> list[str]:
        return [chemical_symbols[z] for z in self._calc.species]

    def make_calculator(self) -> Calculator:
        return self._calc


def load(
    spec: str, model: str, task: str | None, device: str = "cpu", **options: Any
) -> NanoTeacher:
    """The teacher of a parsed spec (:func:`nanomlip.teachers.load_teacher` calls this).

    Args:
        spec: The canonical spec string.
        model: The part after ``family:`` (and before ``@task``).
        task: Unused.
        device: Torch device.
        options: Unused (other families take options).
    """
    return NanoTeacher(spec, model, device=device)
