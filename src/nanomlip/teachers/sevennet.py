"""SevenNet teachers: the models shipped inside the ``sevenn`` package, or any checkpoint.

Spec forms: ``sevennet:7net-0``, ``sevennet:7net-l3i5``, ``sevennet:7net-mf-0@PBE``
and ``sevennet:/path/to/checkpoint.pth@task`` (e.g. SevenNet-Omni with its modal).
Only checkpoints present on disk are used: nothing is downloaded.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ase import Atoms
from ase.calculators.calculator import Calculator

from nanomlip.teachers.base import Label, Provenance, Teacher, TeacherError, symbols_from_numbers

#: Atoms per batched forward pass of :meth:`SevenNetTeacher.label` (small cells are evaluated
#: together: one 12-atom cell alone costs about as much as twenty in one graph).
BATCH_ATOMS = 512

#: Short names -> attribute of ``sevenn._const`` holding the shipped checkpoint path.
SHIPPED_CHECKPOINTS = {
    "7net-0": "SEVENNET_0_11Jul2024",
    "7net-0_22may2024": "SEVENNET_0_22May2024",
    "7net-l3i5": "SEVENNET_l3i5",
    "7net-mf-0": "SEVENNET_MF_0",
    "7net-mf-ompa": "SEVENNET_MF_ompa",
    "7net-omat": "SEVENNET_omat",
    "7net-omni": "SEVENNET_omni",
}


def _import_sevenn():
    try:
        import sevenn  # noqa: F401
        from sevenn import _const
        from sevenn import util as sevenn_util
    except ImportError as error:
        raise TeacherError(
            "SevenNet teachers need the sevenn package: pip install 'nanomlip[teachers]'"
        ) from error
    return _const, sevenn_util


def shipped_models() -> dict[str, str]:
    """Short names of SevenNet checkpoints present in this installation -> path."""
    const, _ = _import_sevenn()
    found = {}
    for name, attribute in SHIPPED_CHECKPOINTS.items():
        path = getattr(const, attribute, None)
        if path and os.path.isfile(path):
            found[name] = path
    return found


class SevenNetTeacher(Teacher):
    """A SevenNet model and, for multi-task models, one task (``modal``).

    Args:
        spec: Canonical spec.
        model: Shipped short name (``7net-0``) or checkpoint path.
        task: Modal of a multi-task model (required for those, rejected for others).
        device: Torch device.
    """

    provides_atomic_energies = True

    def __init__(self, spec: str, model: str, task: str | None, device: str = "cpu") -> None:
        super().__init__(spec)
        const, sevenn_util = _import_sevenn()
        shipped = shipped_models()
        if model in shipped:
            self.checkpoint_path = shipped[model]
        elif Path(model).is_file():
            self.checkpoint_path = str(Path(model).resolve())
        elif model.lower() in SHIPPED_CHECKPOINTS:
            raise TeacherError(
                f"SevenNet model {model!r} is not shipped in this sevenn installation and "
                f"nothing is downloaded; shipped: {sorted(shipped)}. Point at its checkpoint "
                "instead: sevennet:/path/to/checkpoint.pth@task"
            )
        else:
            raise TeacherError(
                f"unknown SevenNet model {model!r}: not a shipped name ({sorted(shipped)}) "
                "and not an existing checkpoint file"
            )
        self.model_name = model
        self.device = device
        checkpoint = sevenn_util.load_checkpoint(self.checkpoint_path)
        config = checkpoint.config
        self._type_map = dict(config["_type_map"]) if "_type_map" in config else {}
        self._numbers = list(self._type_map) or list(
            config.get("chemical_species_by_atomic_number", [])
        )
        modal_map = config.get("_modal_map") or {}
        self.tasks = sorted(modal_map) if modal_map else []
        if self.tasks and task is None:
            raise TeacherError(
                f"SevenNet model {model!r} is multi-task; choose one with @TASK, "
                f"e.g. {spec}@{self.tasks[0]}; tasks: {self.tasks}"
            )
        if task is not None and task not in self.tasks:
            raise TeacherError(
                f"SevenNet model {model!r} has no task {task!r}; "
                f"tasks: {self.tasks or 'none (single-task model)'}"
            )
        self.task = task
        self.cutoff = float(config.get("cutoff", 0.0))
        self._batch_model: Any = None
        import sevenn

        self._version = sevenn.__version__

    @property
    def provenance(self) -> Provenance:
        return Provenance(
            spec=self.spec,
            family="sevennet",
            model=self.model_name,
            task=self.task,
            version=f"sevenn {self._version}",
            extra={"checkpoint": os.path.basename(self.checkpoint_path)},
        )

    @property
    def elements(self) -> list[str]:
        return symbols_from_numbers(self._numbers)

    def energy_statistics(self) -> tuple[dict[int, float], dict[int, float]] | None:
        """Shift and scale of SevenNet's ``rescale_atomic_energy`` (this task's, if modal-wise)."""
        model = getattr(self.calculator(), "model", None)
        rescale = getattr(model, "_modules", {}).get("rescale_atomic_energy")
        if rescale is None or not self._type_map:
            return None
        calculator: Any = self.calculator()  # a SevenNetCalculator
        modal = (calculator.sevennet_config.get("_modal_map") or {}).get(self.task)

        def per_element(values) -> dict[int, float]:
            table = values.detach().double().cpu().numpy()
            if table.ndim == 2:  # (tasks, types)
                table = table[modal if modal is not None else 0]
            if table.ndim == 0:
                return {int(z): float(table) for z in self._type_map}
            return {int(z): float(table[index]) for z, index in self._type_map.items()}

        return per_element(rescale.shift), per_element(rescale.scale)

    def make_calculator(self) -> Calculator:
        from sevenn.calculator import SevenNetCalculator

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no tensor-product accelerator" on CPU
            return SevenNetCalculator(self.checkpoint_path, device=self.device, modal=self.task)

    def label(self, structures: Sequence[Atoms]) -> list[Label]:
        """Label structures in batched forward passes of up to :data:`BATCH_ATOMS` atoms.

        The same network as :meth:`label_one` (float32 rounding apart: ~1e-6 eV/Å), evaluated
        on one disconnected graph per batch, as ``sevenn`` trains; per-atom energies included.
        """
        for atoms in structures:
            self.check_elements(atoms)
        labels: list[Label] = []
        batch: list[Atoms] = []
        for atoms in structures:
            if batch and sum(len(a) for a in batch) + len(atoms) > BATCH_ATOMS:
                labels += self._label_batch(batch)
                batch = []
            batch.append(atoms)
        if batch:
            labels += self._label_batch(batch)
        return labels

    def _label_batch(self, structures: list[Atoms]) -> list[Label]:
        from sevenn import _keys as KEY
        from sevenn.atom_graph_data import AtomGraphData
        from sevenn.train.dataload import unlabeled_atoms_to_graph
        from torch_geometric.loader.dataloader import Collater

        graphs = []
        for atoms in structures:
            graph = AtomGraphData.from_numpy_dict(
                unlabeled_atoms_to_graph(atoms, self.cutoff, with_shift=False)
            )
            if self.task is not None:
                graph[KEY.DATA_MODALITY] = self.task
            graphs.append(graph)
        batch = Collater([], follow_batch=None, exclude_keys=None)(graphs).to(self.device)
        output = self._batched_model()(batch)
        energy = output[KEY.PRED_TOTAL_ENERGY].detach().cpu().double().numpy().reshape(-1)
        forces = output[KEY.PRED_FORCE].detach().cpu().double().numpy()
        atomic = output[KEY.ATOMIC_ENERGY].detach().cpu().double().numpy().reshape(-1)
        # sevenn's stress: (xx, yy, zz, xy, yz, zx), opposite sign to ASE's
        stress = -output[KEY.PRED_STRESS].detach().cpu().double().numpy()[:, [0, 1, 2, 4, 5, 3]]
        labels = []
        start = 0
        for index, atoms in enumerate(structures):
            stop = start + len(atoms)
            labels.append(
                Label(
                    energy=float(energy[index]),
                    forces=forces[start:stop].copy(),
                    stress=stress[index].copy() if atoms.pbc.all() else None,
                    energies=atomic[start:stop].copy(),
                )
            )
            start = stop
        return labels

    def _batched_model(self) -> Any:
        """The network set up for batched graphs (a second copy; the calculator's is single)."""
        if self._batch_model is None:
            from sevenn import util as sevenn_util

            model = sevenn_util.load_checkpoint(self.checkpoint_path).build_model()
            model.set_is_batch_data(True)
            self._batch_model = model.to(self.device).eval()
        return self._batch_model


def load(
    spec: str, model: str, task: str | None, device: str = "cpu", **options: Any
) -> SevenNetTeacher:
    """The teacher of a parsed spec (:func:`nanomlip.teachers.load_teacher` calls this).

    Args:
        spec: The canonical spec string.
        model: The part after ``family:`` (and before ``@task``).
        task: Modal of a multi-task model, or ``None``.
        device: Torch device.
        options: Unused (other families take options).
    """
    return SevenNetTeacher(spec, model, task, device=device)
