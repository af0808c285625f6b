"""CHGNet teachers: the models shipped inside the ``chgnet`` package (``chgnet:0.3.0``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ase import Atoms
from ase.calculators.calculator import Calculator

from nanomlip.teachers.base import ALL_ELEMENTS, Label, Provenance, Teacher, TeacherError


class CHGNetTeacher(Teacher):
    """CHGNet with weights shipped in ``chgnet`` (``chgnet:0.3.0``, ``chgnet:r2scan``).

    CHGNet is a crystal model that needs a periodic cell, so structures that are not
    3D-periodic are labelled in a cubic box with 20 Å of vacuum (stress dropped).
    """

    provides_atomic_energies = True

    def __init__(self, spec: str, model: str, device: str = "cpu") -> None:
        super().__init__(spec)
        try:
            import chgnet
        except ImportError as error:
            raise TeacherError(
                "CHGNet teachers need the chgnet package: pip install chgnet"
            ) from error
        shipped = sorted(os.listdir(Path(chgnet.__file__).parent / "pretrained"))
        if model not in shipped:
            raise TeacherError(f"unknown CHGNet model {model!r}; shipped models: {shipped}")
        self.model_name = model
        self.device = device
        self._version = chgnet.__version__

    @property
    def provenance(self) -> Provenance:
        return Provenance(self.spec, "chgnet", self.model_name, None, f"chgnet {self._version}")

    @property
    def elements(self) -> list[str]:
        return list(ALL_ELEMENTS)

    def label_one(self, atoms: Atoms) -> Label:
        if atoms.pbc.all():
            return super().label_one(atoms)
        boxed = atoms.copy()
        boxed.center(vacuum=20.0)
        boxed.pbc = True
        label = super().label_one(boxed)
        label.stress = None
        return label

    def make_calculator(self) -> Calculator:
        from chgnet.model import CHGNet
        from chgnet.model.dynamics import CHGNetCalculator

        model = CHGNet.load(model_name=self.model_name, use_device=self.device, verbose=False)
        return CHGNetCalculator(
            model, use_device=self.device, on_isolated_atoms="ignore", return_site_energies=True
        )


def load(
    spec: str, model: str, task: str | None, device: str = "cpu", **options: Any
) -> CHGNetTeacher:
    """The teacher of a parsed spec (:func:`nanomlip.teachers.load_teacher` calls this).

    Args:
        spec: The canonical spec string.
        model: The part after ``family:`` (and before ``@task``).
        task: Unused (CHGNet models have one task).
        device: Torch device.
        options: Unused (other families take options).
    """
    return CHGNetTeacher(spec, model, device=device)
