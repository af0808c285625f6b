"""Teachers other than SevenNet: CHGNet, MACE model files, any ASE calculator, nanomlip students."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.data import chemical_symbols

from nanomlip.teachers.base import Label, Provenance, Teacher, TeacherError

ALL_ELEMENTS = chemical_symbols[1:95]


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
            numbers = [int(z) for z in self.calculator().models[0].atomic_numbers]
            self._elements = [chemical_symbols[z] for z in sorted(numbers)]
        return self._elements

    def make_calculator(self) -> Calculator:
        from mace.calculators import MACECalculator

        return MACECalculator(model_paths=self.path, device=self.device, default_dtype="float64")


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
        from nanomlip import __version__

        return Provenance(self.spec, "nanomlip", self.model_name, None, f"nanomlip {__version__}")

    @property
    def elements(self) -> list[str]:
        return [chemical_symbols[z] for z in self._calc.species]

    def make_calculator(self) -> Calculator:
        return self._calc
