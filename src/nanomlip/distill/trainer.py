r"""Distillation training: fit a student to teacher labels, resumably and reproducibly.

One run lives in one folder ``RUN``:

==============================  =================================================================
File                            Content
==============================  =================================================================
``checkpoint_last.pt``          model, EMA, optimizer, schedule, step/epoch/position, history and
                                RNG states (tensors and plain containers only, so
                                ``torch.load(..., weights_only=True)`` reads it)
``model.safetensors``           best EMA weights (lowest validation score) with provenance
``metrics.csv``/``metrics.json`` one row per evaluation (flat MAEs / full report)
``learning_curve.png``          training loss and validation MAEs against the step
``config.yaml``                 the training configuration
==============================  =================================================================

Reproducibility: the batches of epoch ``e`` are a pure function of ``(seed, e)``
and the checkpoint records how many batches of the current epoch are done, so a
run that is killed and rerun with the same command continues exactly where the
last checkpoint left it and ends with the same weights as an uninterrupted run.

The validation score that selects the best model is the loss-weighted sum of
MAEs, :math:`w_E\,\mathrm{MAE}_{E/N} + w_F\,\mathrm{MAE}_F + w_\sigma\,\mathrm{MAE}_\sigma`
(eV/atom, eV/Å, eV/Å^3).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from nanomlip import _keys as K
from nanomlip._progress import RateMeter, format_rate, progress_bar
from nanomlip.data.graph import collate, to_device
from nanomlip.data.store import LabeledDataset
from nanomlip.distill import data as D
from nanomlip.distill import stats
from nanomlip.distill.config import TrainConfig
from nanomlip.distill.freeze import freeze_early_layers
from nanomlip.distill.losses import LossSettings, distillation_loss
from nanomlip.distill.metrics import error_report, flatten_overall, predict
from nanomlip.distill.plots import learning_curve
from nanomlip.units import EV_PER_A3_TO_GPA
from nanomlip.models.checkpoint import load_checkpoint, save_checkpoint
from nanomlip.models.config import preset_config
from nanomlip.models.grow import grow_model
from nanomlip.models.nano import NanoModel
from nanomlip.models.registry import build_model

CHECKPOINT = "checkpoint_last.pt"
MODEL = "model.safetensors"
STATE_FORMAT = "nanomlip-train-state"
STATE_VERSION = 1
#: Seconds between redraws of ``learning_curve.png`` during training (always drawn at the end).
PLOT_INTERVAL_S = 60.0

Graph = dict[str, torch.Tensor]
Callback = Callable[["Trainer"], None]
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


# ------------------------------------------------------------------ data and model set-up
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
        return self.dataset.arrays["num_atoms"][self.train_index]


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
    dtype = _DTYPES[config.dtype]
    train_graphs = D.build_graphs(dataset, train_index, cutoff, dtype, progress)
    if config.category_weights:
        categories = dataset.arrays["category"][train_index].tolist()
        D.set_category_weights(train_graphs, categories, config.category_weights)
    return TrainingData(
        dataset=dataset,
        sha256=D.dataset_sha256(root),
        train_index=train_index,
        val_index=val_index,
        train_graphs=train_graphs,
        val_graphs=D.build_graphs(dataset, val_index, cutoff, dtype, progress),
    )


def build_student(
    config: TrainConfig, data: TrainingData, initial: NanoModel | None = None
) -> tuple[NanoModel, dict[str, Any]]:
    """The untrained student, initialised from the statistics of the training frames.

    With ``initial`` (the loaded ``config.init_from`` checkpoint) the model is that
    checkpoint (fine-tuning), with its own statistics.

    Returns:
        ``(model, statistics)`` where ``statistics`` records the fitted values.
    """
    if initial is not None:
        return _initial_checkpoint(config, data, initial)
    overrides = dict(config.model)
    overrides.setdefault("avg_num_neighbors", stats.average_num_neighbors(data.train_graphs))
    model = build_model(config.preset, config.seed, **overrides).to(_DTYPES[config.dtype])
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
        "avg_num_neighbors": float(overrides["avg_num_neighbors"]),
        "reference_energies_eV": {str(z): v for z, v in shifts.items()},
        "energy_scale_eV": {str(z): v for z, v in scales.items()},
        "species": elements,
    }
    return model, statistics


def _initial_checkpoint(
    config: TrainConfig, data: TrainingData, initial: NanoModel
) -> tuple[NanoModel, dict[str, Any]]:
    """The model of ``config.init_from``, checked against the elements of the data."""
    model = initial.to(_DTYPES[config.dtype])
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


# ------------------------------------------------------------------ schedule and EMA
def learning_rate(step: int, total_steps: int, config: TrainConfig) -> float:
    """Learning rate of optimizer step ``step`` (0-based): linear warm-up, then decay.

    Args:
        step: The step about to be taken.
        total_steps: Length of the whole schedule in steps.
        config: ``lr``, ``warmup_steps``, ``schedule`` and ``min_lr_ratio``.
    """
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    span = max(1, total_steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    low = config.min_lr_ratio
    if config.schedule == "cosine":
        factor = low + (1 - low) * 0.5 * (1 + math.cos(math.pi * progress))
    elif config.schedule == "exponential":
        factor = low**progress if low > 0 else 1.0 - progress
    else:
        factor = 1.0
    return config.lr * factor


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float, step: int) -> None:
    """``ema <- d * ema + (1 - d) * model`` with ``d = min(decay, (1 + step) / (10 + step))``.

    The ramp lets the average follow the fast early changes. Buffers are copied; frozen
    parameters (``requires_grad=False``) are left as they are, bit for bit.
    """
    d = min(decay, (1 + step) / (10 + step))
    for averaged, current in zip(ema.parameters(), model.parameters(), strict=True):
        if not current.requires_grad:
            continue
        averaged.mul_(d).add_(current.detach(), alpha=1 - d)
    for averaged, current in zip(ema.buffers(), model.buffers(), strict=True):
        averaged.copy_(current)


# ------------------------------------------------------------------ RNG state
def rng_state() -> dict[str, Any]:
    """Torch, NumPy and Python global RNG states as tensors and plain containers."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` recorded."""
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["name"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


# ------------------------------------------------------------------ small file helpers
def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _csv_text(rows: Sequence[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


# ------------------------------------------------------------------ the trainer
@dataclass
class TrainState:
    """Progress of a run; everything here goes into the checkpoint.

    Attributes:
        step: Optimizer steps taken.
        epoch: Current epoch (0-based).
        position: Batches of the current epoch already taken.
        best_score: Lowest validation score so far (``inf`` before the first).
        best_step: Step of the best model (-1 before the first).
        history: One row per evaluation (flat metrics and the full report).
        loss_sums: Sums of the loss and of each term since the last evaluation.
        loss_count: Steps summed in ``loss_sums``.
        train_seconds: Wall time spent in optimizer steps, over all invocations.
    """

    step: int = 0
    epoch: int = 0
    position: int = 0
    best_score: float = math.inf
    best_step: int = -1
    history: list[dict[str, Any]] = field(default_factory=list)
    loss_sums: dict[str, float] = field(default_factory=dict)
    loss_count: int = 0
    train_seconds: float = 0.0


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` did.

    Attributes:
        out: The run folder.
        state: Final progress.
        stopped_by: ``max_epochs``, ``max_steps`` or ``max_minutes``.
        steps: Optimizer steps taken in this invocation.
        frames: Training frames processed in this invocation.
        seconds: Wall time of those steps (s), excluding evaluation and checkpoints.
        steady_steps_per_second: Steps per second without the first 10 % of the steps
            (``nan`` under two steps).
    """

    out: Path
    state: TrainState
    stopped_by: str
    steps: int
    frames: int
    seconds: float
    steady_steps_per_second: float = math.nan

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class Trainer:
    """Distils a labelled dataset into a student; rerunning the same job resumes it.

    Args:
        data: Dataset folder (see :mod:`nanomlip.data.store`).
        out: Run folder (created if needed).
        config: The training configuration.
        callbacks: Called as ``callback(trainer)`` after every optimizer step (after
            any evaluation and checkpoint of that step).

    Raises:
        FileNotFoundError: ``data`` does not exist.
        ValueError: A bad dataset, or ``out`` holds a run with another configuration
            or dataset.
    """

    def __init__(
        self,
        data: str | os.PathLike,
        out: str | os.PathLike,
        config: TrainConfig,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.config = config
        self.out = Path(out)
        self.data_root = Path(data)
        self.callbacks = list(callbacks)
        self.device = torch.device(config.device)
        initial = load_checkpoint(config.init_from) if config.init_from else None
        if initial is not None and config.model:
            # Fine-tuning with model fields: the checkpoint grows to them, same function.
            initial = grow_model(initial, seed=config.seed, **config.model)
        cutoff = (
            initial.cutoff
            if initial is not None
            else preset_config(config.preset, **config.model).cutoff
        )
        self.data = load_training_data(data, config, float(cutoff), config.progress)
        model, self.statistics = build_student(config, self.data, initial)
        freeze_early_layers(model, config.freeze_layers)
        self.model = model.to(self.device)
        self.ema = copy.deepcopy(self.model).eval()
        for parameter in self.ema.parameters():
            parameter.requires_grad_(False)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        self.loss_settings = LossSettings(
            **{name: getattr(config, name) for name in LossSettings.__dataclass_fields__}
        )
        self.batches_per_epoch = len(self._epoch_batches(0))
        self.total_steps = self.batches_per_epoch * config.max_epochs
        self.val_batches = D.make_batches(
            [int(g[K.NUM_ATOMS]) for g in self.data.val_graphs],
            range(len(self.data.val_graphs)),
            config.batch_size,
            config.max_atoms_per_batch,
        )
        self.state = TrainState()
        self.last_terms: dict[str, float] = {}
        self._last_plot = time.monotonic()
        self.out.mkdir(parents=True, exist_ok=True)
        if (self.out / CHECKPOINT).exists():
            self._resume()
        else:
            _atomic_write_text(self.out / "config.yaml", yaml.safe_dump(config.to_dict()))

    # ---------------------------------------------------------------- batches
    def _epoch_batches(self, epoch: int) -> list[list[int]]:
        return list(
            D.iterate_epoch(
                self.data.train_num_atoms,
                self.config.seed,
                epoch,
                self.config.batch_size,
                self.config.max_atoms_per_batch,
            )
        )

    def _collate(self, graphs: Sequence[Graph], members: Sequence[int]) -> Graph:
        return to_device(collate([graphs[i] for i in members]), self.device)

    # ---------------------------------------------------------------- checkpoint
    def checkpoint_dict(self) -> dict[str, Any]:
        """Everything needed to continue, as tensors and plain containers."""
        return {
            "format": STATE_FORMAT,
            "format_version": STATE_VERSION,
            "config": self.config.to_dict(),
            "dataset_sha256": self.data.sha256,
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": {
                "schedule": self.config.schedule,
                "total_steps": self.total_steps,
                "step": self.state.step,
            },
            "state": {
                "step": self.state.step,
                "epoch": self.state.epoch,
                "position": self.state.position,
                "best_score": self.state.best_score,
                "best_step": self.state.best_step,
                "history": self.state.history,
                "loss_sums": self.state.loss_sums,
                "loss_count": self.state.loss_count,
                "train_seconds": self.state.train_seconds,
            },
            "rng": rng_state(),
        }

    def save(self) -> Path:
        """Write ``checkpoint_last.pt`` atomically (temporary file, then rename)."""
        path = self.out / CHECKPOINT
        tmp = path.with_name(f".{path.name}.tmp")
        torch.save(self.checkpoint_dict(), tmp)
        os.replace(tmp, path)
        return path

    def _resume(self) -> None:
        path = self.out / CHECKPOINT
        try:
            saved = torch.load(path, map_location=self.device, weights_only=True)
        except Exception as error:  # noqa: BLE001 - any unreadable file gets the same advice
            raise ValueError(
                f"cannot read {str(path)!r} ({error}); delete it to start the run afresh"
            ) from error
        if saved.get("format") != STATE_FORMAT:
            raise ValueError(f"{str(path)!r} is not a nanomlip training checkpoint")
        self._check_same_job(saved)
        self.model.load_state_dict(saved["model"])
        self.ema.load_state_dict(saved["ema"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.state = TrainState(**saved["state"])
        set_rng_state(saved["rng"])
        self._write_metrics()

    def _check_same_job(self, saved: dict[str, Any]) -> None:
        differences = self.config.differences(saved["config"])
        if differences:
            listed = "; ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in differences.items())
            raise ValueError(
                f"{str(self.out)!r} holds a run with a different configuration ({listed}); "
                "rerun with the same configuration to resume, or choose another --out"
            )
        if saved["dataset_sha256"] != self.data.sha256:
            raise ValueError(
                f"{str(self.out)!r} holds a run trained on different data (dataset hash "
                "changed); rerun with the same dataset to resume, or choose another --out"
            )

    # ---------------------------------------------------------------- one step
    def train_step(self, members: Sequence[int]) -> dict[str, float]:
        """One optimizer step on the training frames ``members``; returns the loss terms."""
        self.model.train()
        lr = learning_rate(self.state.step, self.total_steps, self.config)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        batch = self._collate(self.data.train_graphs, members)
        self.optimizer.zero_grad(set_to_none=True)
        output = self.model(batch)
        loss, terms = distillation_loss(self.model, batch, output, self.loss_settings)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"non-finite loss at step {self.state.step} (terms {terms}); lower lr or "
                "check the data for absurd labels"
            )
        loss.backward()
        if self.config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        if self.config.ema_decay > 0:
            update_ema(self.ema, self.model, self.config.ema_decay, self.state.step)
        else:
            self.ema.load_state_dict(self.model.state_dict())
        return {"loss": float(loss.detach()), **terms}

    # ---------------------------------------------------------------- evaluation
    def evaluate(self) -> dict[str, Any]:
        """Validate the EMA model, log a metrics row and export it if it is the best."""
        row: dict[str, Any] = {
            "step": self.state.step,
            "epoch": self.state.epoch,
            "lr": learning_rate(max(self.state.step - 1, 0), self.total_steps, self.config),
        }
        count = max(self.state.loss_count, 1)
        row["train_loss"] = self.state.loss_sums.get("loss", math.nan) / count
        row.update(
            {f"train/{k}": v / count for k, v in self.state.loss_sums.items() if k != "loss"}
        )
        self.state.loss_sums, self.state.loss_count = {}, 0
        report = self._validation_report()
        score = self._score(report) if report else -float(self.state.step)
        if report:
            row.update(flatten_overall(report))
            row["val_score"] = score
        row["train_seconds"] = self.state.train_seconds
        self.state.history.append({**row, "report": report})
        if score < self.state.best_score:
            self.state.best_score, self.state.best_step = score, self.state.step
            self.export(self.out / MODEL)
        self._write_metrics()
        return row

    def _validation_report(self) -> dict[str, Any] | None:
        if not self.data.val_graphs:
            return None
        predictions = predict(self.ema, self.data.val_graphs, self.val_batches, self.device)
        categories = self.data.dataset.arrays["category"][predictions.frame_id]
        return error_report(predictions, categories)

    def _score(self, report: dict[str, Any]) -> float:
        overall = report["overall"]
        terms = [
            (self.config.energy_weight, overall["energy_mae_meV_per_atom"], 1e-3),
            (self.config.forces_weight, overall["forces_mae_meV_per_A"], 1e-3),
            (self.config.stress_weight, overall["stress_mae_GPa"], 1 / EV_PER_A3_TO_GPA),
        ]
        return float(sum(w * v * unit for w, v, unit in terms if v is not None))

    def _write_metrics(self, plot: bool = False) -> None:
        """Rewrite the metrics files; redraw the PNG if asked or a minute after the last one."""
        history = self.state.history
        flat = [{k: v for k, v in row.items() if k != "report"} for row in history]
        _atomic_write_text(self.out / "metrics.csv", _csv_text(flat))
        _atomic_write_text(self.out / "metrics.json", json.dumps(history, indent=1))
        due = time.monotonic() - self._last_plot > PLOT_INTERVAL_S
        if history and (plot or due):
            learning_curve(flat, self.out / "learning_curve.png")
            self._last_plot = time.monotonic()

    def export(self, path: str | os.PathLike) -> Path:
        """Save the EMA model as a nanomlip checkpoint with distillation provenance."""
        teacher = self.data.dataset.manifest.get("teacher", {})
        ema = copy.deepcopy(self.ema).cpu()
        ema.metadata = {"preset": self.config.preset, "seed": self.config.seed}
        return save_checkpoint(
            ema,
            path,
            teacher=teacher.get("spec"),
            teacher_version=teacher.get("version"),
            task=teacher.get("task"),
            dataset=self.data_root.resolve().name,
            dataset_sha256=self.data.sha256,
            training=self.summary(),
        )

    def summary(self) -> dict[str, Any]:
        """JSON-ready description of the run for the model's metadata."""
        best = next(
            (row for row in self.state.history if row["step"] == self.state.best_step), None
        )
        return {
            "config": self.config.to_dict(),
            "step": self.state.step,
            "epoch": self.state.epoch,
            "best_step": self.state.best_step,
            "n_train_frames": len(self.data.train_index),
            "n_val_frames": len(self.data.val_index),
            "statistics": self.statistics,
            "val": (best.get("report") or {}).get("overall") if best else None,
        }

    # ---------------------------------------------------------------- the loop
    def fit(self) -> TrainResult:
        """Train until ``max_epochs``, ``max_steps`` or ``max_minutes``, whichever comes first.

        ``num_threads`` applies for the duration of this call only.
        """
        previous = torch.get_num_threads()
        if self.config.num_threads:
            torch.set_num_threads(self.config.num_threads)
        try:
            return self._fit()
        finally:
            torch.set_num_threads(previous)

    def _fit(self) -> TrainResult:
        started = time.perf_counter()
        steps = frames = 0
        seconds = 0.0
        stopped_by = "max_epochs"
        # Steps against the time spent in them (evaluation and checkpoints left out).
        meter = RateMeter(clock=lambda: seconds)
        while self.state.epoch < self.config.max_epochs:
            batches = self._epoch_batches(self.state.epoch)
            bar = progress_bar(
                len(batches),
                initial=self.state.position,
                desc=f"epoch {self.state.epoch + 1}/{self.config.max_epochs}",
                unit="step",
                enabled=self.config.progress,
                leave=False,
            )
            for members in batches[self.state.position :]:
                stopped_by = self._limit_reached(started)
                if stopped_by:
                    break
                tic = time.perf_counter()
                terms = self.train_step(members)
                elapsed = time.perf_counter() - tic
                seconds += elapsed
                steps += 1
                frames += len(members)
                self._after_step(terms, elapsed, len(batches))
                bar.update(1)
                meter.tick()
                bar.set_postfix(
                    loss=f"{terms['loss']:.4g}", steady=f"{format_rate(meter.steady())} steps/s"
                )
                for callback in self.callbacks:
                    callback(self)
            bar.close()
            if stopped_by:
                break
            stopped_by = "max_epochs"
        self._finish()
        steady = meter.steady()
        return TrainResult(self.out, self.state, stopped_by, steps, frames, seconds, steady)

    def _limit_reached(self, started: float) -> str:
        config = self.config
        if config.max_steps is not None and self.state.step >= config.max_steps:
            return "max_steps"
        if (
            config.max_minutes is not None
            and time.perf_counter() - started > 60 * config.max_minutes
        ):
            return "max_minutes"
        return ""

    def _after_step(self, terms: dict[str, float], elapsed: float, num_batches: int) -> None:
        state = self.state
        self.last_terms = terms
        for name, value in terms.items():
            state.loss_sums[name] = state.loss_sums.get(name, 0.0) + value
        state.loss_count += 1
        state.train_seconds += elapsed
        state.step += 1
        state.position += 1
        epoch_done = state.position == num_batches
        eval_due = self.config.eval_every > 0 and state.step % self.config.eval_every == 0
        if epoch_done or eval_due:
            self.evaluate()
        if epoch_done:
            state.epoch += 1
            state.position = 0
        if epoch_done or state.step % self.config.checkpoint_every == 0:
            self.save()

    def _finish(self) -> None:
        self.save()
        self._write_metrics(plot=True)
        if not (self.out / MODEL).exists():
            self.export(self.out / MODEL)


def train(
    data: str | os.PathLike,
    out: str | os.PathLike,
    config: TrainConfig | None = None,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Distil the dataset ``data`` into a student in run folder ``out`` (resumes if possible).

    Args:
        data: Dataset folder.
        out: Run folder.
        config: Training configuration (default: :class:`TrainConfig` defaults).
        callbacks: See :class:`Trainer`.

    Returns:
        What the run did; the best model is ``out/model.safetensors``.
    """
    return Trainer(data, out, config or TrainConfig(), callbacks).fit()
