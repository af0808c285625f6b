"""Any ASE calculator class as a teacher (``ase:package.module:ClassName``), e.g. a DFT code."""

from __future__ import annotations

import importlib
from typing import Any

from ase.calculators.calculator import Calculator

from nanomlip.teachers.base import ALL_ELEMENTS, Provenance, Teacher, TeacherError


class ASETeacher(Teacher):
    """Any ASE calculator class (``ase:package.module:ClassName``), e.g. a DFT code.

    Args:
        spec: Canonical spec.
        target: ``package.module:ClassName``.
        options: Keyword arguments for the calculator's constructor.
        elements: Symbols it can handle (default H..Pu: the calculator decides).
    """

    def __init__(
        self,
        spec: str,
        target: str,
        options: dict[str, Any] | None = None,
        elements: list[str] | None = None,
    ) -> None:
        super().__init__(spec)
        module_name, _, class_name = target.partition(":")
        if not module_name or not class_name:
            raise TeacherError(
                f"ASE teacher spec must be ase:package.module:ClassName, got ase:{target}"
            )
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise TeacherError(f"cannot import module {module_name!r}: {error}") from error
        if not hasattr(module, class_name):
            raise TeacherError(f"module {module_name!r} has no class {class_name!r}")
        self.calculator_class = getattr(module, class_name)
        self.options = dict(options or {})
        self._elements = list(elements) if elements else list(ALL_ELEMENTS)
        package = module_name.split(".")[0]
        self._version = f"{package} {getattr(importlib.import_module(package), '__version__', '?')}"
        self.target = target

    @property
    def provenance(self) -> Provenance:
        return Provenance(self.spec, "ase", self.target, None, self._version)

    @property
    def elements(self) -> list[str]:
        return self._elements

    def make_calculator(self) -> Calculator:
        return self.calculator_class(**self.options)


def load(
    spec: str, model: str, task: str | None, device: str = "cpu", **options: Any
) -> ASETeacher:
    """The teacher of a parsed spec (:func:`nanomlip.teachers.load_teacher` calls this).

    Args:
        spec: The canonical spec string.
        model: The part after ``family:`` (and before ``@task``).
        task: Unused.
        device: Torch device.
        options: Keyword options: ``calculator_options`` (the calculator's constructor
            arguments) and ``elements`` (symbols it can handle).
    """
    return ASETeacher(spec, model, options.get("calculator_options"), options.get("elements"))
