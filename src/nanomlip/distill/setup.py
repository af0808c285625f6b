"""Setting a distillation run up: the data with its split and graphs, and the student.

:func:`load_training_data` and :func:`resolve_student` turn a dataset folder and a
:class:`~nanomlip.distill.config.TrainConfig` into what :class:`~nanomlip.distill.trainer.Trainer`
takes, a :class:`TrainingData` and a resolved :class:`~nanomlip.models.config.ModelConfig`.
Other callers (benchmarks on a subset, tests) build a :class:`TrainingData` themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from nanomlip.data.store import LabeledDataset
from nanomlip.distill import data as D
from nanomlip.distill import stats
from nanomlip.distill.config import TrainConfig
from nanomlip.models.checkpoint import load_checkpoint
from nanomlip.models.config import ModelConfig, preset_config
from nanomlip.models.grow import grow_model
from nanomlip.models.nano import NanoModel
from nanomlip.models.registry import model_from_config

Graph = dict[str, torch.Tensor]
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class TrainingData:
    """The dataset, its split and the precomputed graphs of both sides.

    Attributes:
        dataset: The labelled dataset.
        sha256: :func:`~nanomlip.distill.data.dataset_sha256` of its folder.
        train_index: Dataset indices of the training frames, (F_train,).
        val_index: Dataset indices of the validation frames, (F_val,).
        train_graphs: Graphs with targets of the training frames.
        val_graphs: Graphs with targets of the validation frames.
    """

    dataset: LabeledDataset
    sha256: str
    train_index: np.ndarray
    val_index: np.ndarray
    train_graphs: list[Graph]
    val_graphs: list[Graph]

    @property
    def train_num_atoms(self) -> np.ndarray:
        """Atoms of each training frame, (F_train,)."""
        return self.dataset.arrays["num_atoms"][self.train_index]

    @property
    def name(self) -> str:
        """The dataset folder's name, recorded as the model's ``dataset``."""
        return self.dataset.root.resolve().name


def training_data(
    dataset: LabeledDataset,
    train_index: np.ndarray,
    val_index: np.ndarray,
    cutoff: float,
    config: TrainConfig,
    progress: bool = False,
) -> TrainingData:
    """Graphs of the frames ``train_index`` and ``val_index`` of ``dataset``.

    Args:
        dataset: The labelled dataset.
        train_index: Dataset indices to train on, (F_train,).
        val_index: Dataset indices to validate on, (F_val,) (may repeat training frames).
        cutoff: Graph cutoff (Å), the student's.
        config: ``dtype`` and ``category_weights``.
        progress: Show a progress bar while the graphs are built.
    """
    dtype = DTYPES[config.dtype]
    train_graphs = D.build_graphs(dataset, train_index, cutoff, dtype, progress)
    if config.category_weights:
        categories = dataset.arrays["category"][train_index].tolist()
        D.set_category_weights(train_graphs, categories, config.category_weights)
    return TrainingData(
        dataset=dataset,
        sha256=D.dataset_sha256(dataset.root),
        train_index=train_index,
        val_index=val_index,
        train_graphs=train_graphs,
        val_graphs=D.build_graphs(dataset, val_index, cutoff, dtype, progress),
    )


def load_training_data(
    root: str | os.PathLike, config: TrainConfig, cutoff: float, progress: bool = False
) -> TrainingData:
    """Load the dataset, split it by group and build every graph once.

    Raises:
        FileNotFoundError: The folder does not exist.
        ValueError: The dataset is damaged or has too few frames to train on.
    """
    dataset = LabeledDataset(root)
    train_index, val_index = D.group_split(
        D.split_keys(dataset.arrays, config.split_by),
        config.val_fraction,
        config.seed,
        base_frames=config.split_base_frames,
    )
    if len(train_index) == 0:
        raise ValueError(f"dataset {str(root)!r} has no frames to train on")
    return training_data(dataset, train_index, val_index, cutoff, config, progress)


def initial_model(config: TrainConfig) -> NanoModel | None:
    """The ``init_from`` checkpoint, grown to the ``model`` fields it names (``None``: none)."""
    if not config.init_from:
        return None
    initial = load_checkpoint(config.init_from)
    if config.model:
        # Fine-tuning with model fields: the checkpoint grows to them, same function.
        initial = grow_model(initial, seed=config.seed, **config.model)
    return initial


def student_cutoff(config: TrainConfig, initial: NanoModel | None = None) -> float:
    """Cutoff (Å) of the student that ``config`` describes (the graphs are built with it)."""
    if initial is not None:
        return float(initial.cutoff)
    return float(preset_config(config.preset, **config.model).cutoff)


def resolve_student(
    config: TrainConfig, data: TrainingData, initial: NanoModel | None = None
) -> ModelConfig:
    """The student's full configuration: ``initial``'s, or the preset with ``config.model``.

    ``avg_num_neighbors`` is measured on the training graphs unless ``config.model`` sets it.
    """
    if initial is not None:
        return initial.config
    overrides = dict(config.model)
    overrides.setdefault("avg_num_neighbors", stats.average_num_neighbors(data.train_graphs))
    return preset_config(config.preset, **overrides)


def build_student(
    config: TrainConfig,
    data: TrainingData,
    model_config: ModelConfig,
    initial: NanoModel | None = None,
) -> tuple[NanoModel, dict[str, Any]]:
    """The untrained student, initialised from the statistics of the training frames.

    With ``initial`` (the loaded ``config.init_from`` checkpoint) the model is that
    checkpoint (fine-tuning), with its own statistics.

    Returns:
        ``(model, statistics)`` where ``statistics`` records the fitted values.

    Raises:
        ValueError: ``initial`` does not have ``model_config``, or lacks elements of the data.
    """
    if initial is not None:
        if initial.config != model_config:
            raise ValueError("model_config must be the configuration of the initial model")
        return _initial_checkpoint(config, data, initial)
    model = model_from_config(model_config, config.preset, config.seed)
    model = model.to(DTYPES[config.dtype])
    arrays = data.dataset.arrays
    offsets = data.dataset.atom_offsets
    train_atoms = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in data.train_index])
    numbers = arrays["numbers"][train_atoms].astype(np.int64)
    elements = sorted({int(z) for z in arrays["numbers"]})
    model.set_species(elements)
    shifts = _reference_energies(data, train_atoms) if config.fit_reference_energies else {}
    scales = (
        stats.force_rms_scale(
            numbers, arrays["forces"][train_atoms], config.energy_scale == "per_element"
        )
        if config.energy_scale != "none"
        else {}
    )
    if config.teacher_statistics:
        shifts, scales = _with_teacher_statistics(data, elements, shifts, scales)
    default_scale = float(np.mean(list(scales.values()))) if scales else 1.0
    with torch.no_grad():
        model.atomic_energy_shift.copy_(stats.per_element_table(shifts, 0.0))
        model.atomic_energy_scale.copy_(stats.per_element_table(scales, default_scale))
    statistics = {
        "avg_num_neighbors": float(model_config.avg_num_neighbors),
        "reference_energies_eV": {str(z): v for z, v in shifts.items()},
        "energy_scale_eV": {str(z): v for z, v in scales.items()},
        "species": elements,
    }
    return model, statistics


def _initial_checkpoint(
    config: TrainConfig, data: TrainingData, initial: NanoModel
) -> tuple[NanoModel, dict[str, Any]]:
    """The model of ``config.init_from``, checked against the elements of the data."""
    model = initial.to(DTYPES[config.dtype])
    present = sorted({int(z) for z in data.dataset.arrays["numbers"]})
    missing = sorted(set(present) - set(model.species()))
    if missing:
        raise ValueError(
            f"init_from {config.init_from!r} does not know atomic numbers {missing} of the "
            "dataset; start a new model instead (no init_from)"
        )
    previous = (model.metadata.get("training") or {}).get("statistics") or {}
    statistics = {**previous, "init_from": str(config.init_from)}
    return model, statistics


def _with_teacher_statistics(
    data: TrainingData, elements: list[int], shifts: dict[int, float], scales: dict[int, float]
) -> tuple[dict[int, float], dict[int, float]]:
    """``shifts`` and ``scales`` with the dataset teacher's values for ``elements``.

    Raises:
        ValueError: The teacher exposes no per-element shift and scale.
    """
    from nanomlip.teachers.spec import load_teacher

    spec = (data.dataset.manifest.get("teacher") or {}).get("spec")
    statistics = load_teacher(spec).energy_statistics() if spec else None
    if statistics is None:
        raise ValueError(
            f"teacher_statistics: the dataset's teacher {spec!r} exposes no per-element "
            "energy shift and scale; set teacher_statistics: false"
        )
    teacher_shifts, teacher_scales = statistics
    shifts = {**shifts, **{z: teacher_shifts[z] for z in elements if z in teacher_shifts}}
    scales = {**scales, **{z: teacher_scales[z] for z in elements if z in teacher_scales}}
    return shifts, scales


def _reference_energies(data: TrainingData, train_atoms: np.ndarray) -> dict[int, float]:
    """Least-squares reference energies from the training frames (all frames for the rest)."""
    arrays = data.dataset.arrays
    shifts = stats.reference_energies(
        arrays["numbers"][train_atoms],
        arrays["num_atoms"][data.train_index],
        arrays["energy"][data.train_index],
    )
    everywhere = {int(z) for z in arrays["numbers"]}
    if everywhere - set(shifts):
        fallback = stats.reference_energies(
            arrays["numbers"], arrays["num_atoms"], arrays["energy"]
        )
        shifts.update({z: fallback[z] for z in everywhere - set(shifts)})
    return shifts
