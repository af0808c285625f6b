"""ASE calculator for nanomlip models."""

from __future__ import annotations

import copy
import difflib
import inspect
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from nanomlip import _keys as K
from nanomlip.data.graph import atoms_to_graph, to_device
from nanomlip.data.inputs import check_species
from nanomlip.integrations import allocator
from nanomlip.models.checkpoint import (
    TORCHSCRIPT_METADATA_FILE,
    load_torchscript,
    model_metadata,
)
from nanomlip.models.nano import NanoModel
from nanomlip.models.registry import DEFAULT_MODEL, load_model, registered_models

if TYPE_CHECKING:
    from nanomlip.md.dispersion import D3Dispersion

__all__ = ["DEFAULT_MODEL", "NanoCalculator"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _is_torchscript_file(reference: Any) -> bool:
    if not isinstance(reference, str | os.PathLike):
        return False
    path = Path(reference)
    if not path.is_file() or not zipfile.is_zipfile(path):
        return False
    names = zipfile.ZipFile(path).namelist()
    return any(name.endswith(f"extra/{TORCHSCRIPT_METADATA_FILE}") for name in names)


#: Keywords that :class:`NanoCalculator` passes on to ASE's ``Calculator``.
ASE_CALCULATOR_OPTIONS = ("restart", "ignore_bad_restart_file", "label", "atoms", "directory")


def _check_calculator_options(kwargs: dict[str, Any], own: list[str]) -> None:
    """Raise ``TypeError`` for keywords neither NanoCalculator (``own``) nor ASE takes."""
    unknown = sorted(set(kwargs) - set(ASE_CALCULATOR_OPTIONS))
    if not unknown:
        return
    accepted = [*own, *ASE_CALCULATOR_OPTIONS]
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, accepted, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise TypeError(
        f"NanoCalculator got unknown keyword argument(s) {', '.join(hints)}; "
        f"it accepts {', '.join(accepted)}"
    )


class NanoCalculator(Calculator):
    """ASE calculator running a nanomlip student.

    Args:
        model: A :class:`NanoModel` instance, a checkpoint path (``.safetensors``),
            a TorchScript export made by :func:`nanomlip.models.export_torchscript`,
            or a registered model name. ``None`` loads the shipped default model.
        device: Torch device, e.g. ``"cpu"`` or ``"cuda"``.
        dtype: ``"float32"`` (fast) or ``"float64"`` (precise).
        dispersion: ``None``, ``"d3"`` (D3(BJ) with PBE parameters, the teacher's
            functional), ``"d3:<functional>"`` or a :class:`~nanomlip.md.dispersion.D3Dispersion`,
            added to every result (see :mod:`nanomlip.md.dispersion`).
        **kwargs: ASE's own calculator options (:data:`ASE_CALCULATOR_OPTIONS`, e.g.
            ``label``, ``directory``); any other keyword is a ``TypeError``.

    Results: ``energy`` and ``free_energy`` (eV), ``forces`` (eV/Å), ``energies``
    (per atom, eV), and ``stress`` (eV/Å^3, Voigt order) for structures periodic
    in all three directions.

    Attributes:
        metadata: What the model file says about itself (dict): ``species``
            (atomic numbers), ``cutoff`` (Å), ``teacher``, ``dataset``, ``training``,
            ``num_parameters``, ``nanomlip_version``, ... (``nanomlip info MODEL``
            prints it).
        cutoff: Radial cutoff of the model, in Å.
        species: Atomic numbers the model knows.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energies"]

    def __init__(
        self,
        model: NanoModel | str | os.PathLike | None = None,
        device: str = "cpu",
        dtype: str = "float32",
        dispersion: str | D3Dispersion | None = None,
        **kwargs: Any,
    ) -> None:
        parameters = inspect.signature(type(self).__init__).parameters.values()
        own = [p.name for p in parameters if p.name != "self" and p.kind != p.VAR_KEYWORD]
        _check_calculator_options(kwargs, own)
        super().__init__(**kwargs)
        self.dispersion: D3Dispersion | None = None
        if dispersion is not None:
            from nanomlip.md.dispersion import make_dispersion  # lazy: nanomlip.md loads ASE MD

            self.dispersion = make_dispersion(dispersion)
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {list(_DTYPES)}, got {dtype!r}")
        self.device = torch.device(device)
        self.dtype = _DTYPES[dtype]
        if model is None:
            if DEFAULT_MODEL not in registered_models():
                raise ValueError(
                    f"no default model {DEFAULT_MODEL!r} is shipped with this installation; "
                    "pass model=<checkpoint path | registered name | NanoModel>"
                )
            model = DEFAULT_MODEL
        self.model: torch.nn.Module
        if not isinstance(model, NanoModel) and _is_torchscript_file(model):
            module, metadata = load_torchscript(model, device=self.device)
            self.model = module.to(self.dtype)
            for parameter in self.model.parameters():
                parameter.requires_grad_(False)
            self.metadata = metadata
            self.cutoff = float(metadata["cutoff"])
            self.species = [int(z) for z in metadata["species"]]
        elif isinstance(model, NanoModel):
            # Never modify the caller's model (dtype, device, training mode): copy if needed.
            first = next(model.parameters())
            if first.dtype != self.dtype or first.device != self.device or model.training:
                model = copy.deepcopy(model).to(device=self.device, dtype=self.dtype).eval()
            self._use_nano_model(model)
        else:
            loaded = load_model(model, device=str(self.device)).to(self.dtype).eval()
            for parameter in loaded.parameters():
                parameter.requires_grad_(False)
            self._use_nano_model(loaded)

    def _use_nano_model(self, model: NanoModel) -> None:
        self.model = model
        self.metadata = model_metadata(model)
        self.cutoff = model.cutoff
        self.species = model.species()

    def calculate(
        self,
        atoms: Atoms | None = None,
        properties: list[str] | None = None,
        system_changes: list[str] = all_changes,
    ) -> None:
        super().calculate(atoms, properties or ["energy"], system_changes)
        structure = self.atoms
        if structure is None:
            raise ValueError("NanoCalculator needs atoms to evaluate")
        check_species(structure.get_atomic_numbers(), self.species)
        graph = atoms_to_graph(structure, self.cutoff, dtype=self.dtype)
        if self.device.type == "cpu":
            allocator.prepare_for(int(graph[K.EDGE_INDEX].shape[1]))
        output = self.model(to_device(graph, self.device))
        energy = float(output[K.ENERGY].detach().sum().cpu())
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "energies": output[K.ATOMIC_ENERGIES].detach().cpu().double().numpy(),
            "forces": output[K.FORCES].detach().cpu().double().numpy(),
        }
        if structure.pbc.all():
            stress = output[K.STRESS][0].detach().cpu().double().numpy()
            self.results["stress"] = stress.flat[[0, 4, 8, 5, 2, 1]].copy()
        if self.dispersion is not None:
            from nanomlip.md.dispersion import add_dispersion_results

            add_dispersion_results(self.results, self.dispersion, structure, properties)
