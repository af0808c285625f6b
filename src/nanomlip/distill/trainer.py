r"""Distillation training: fit a student to teacher labels, resumably and reproducibly.

:class:`Trainer` takes a ready :class:`~nanomlip.distill.setup.TrainingData` and a resolved
:class:`~nanomlip.models.config.ModelConfig`; :func:`train` and :func:`make_trainer` start
from a dataset folder. One run lives in one folder (files in :mod:`nanomlip.distill.run_folder`).

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
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from nanomlip import _keys as K
from nanomlip._progress import RateMeter, format_rate, progress_bar
from nanomlip.data.graph import collate, to_device
from nanomlip.distill import data as D
from nanomlip.distill.config import TrainConfig
from nanomlip.distill.freeze import freeze_early_layers
from nanomlip.distill.losses import LossSettings, distillation_loss
from nanomlip.distill.metrics import error_report, flatten_overall, predict
from nanomlip.distill.run_folder import (
    CHECKPOINT,
    CONFIG,
    MODEL,
    STATE_FORMAT,
    STATE_VERSION,
    TrainState,
    atomic_write_text,
    read_state,
    rng_state,
    save_state,
    set_rng_state,
    write_metrics,
)
from nanomlip.distill.schedule import learning_rate, update_ema
from nanomlip.distill.setup import (
    TrainingData,
    build_student,
    initial_model,
    load_training_data,
    resolve_student,
    student_cutoff,
)
from nanomlip.integrations import allocator
from nanomlip.models.checkpoint import save_checkpoint
from nanomlip.models.config import ModelConfig
from nanomlip.models.nano import NanoModel
from nanomlip.schema import ENERGY_MAE, FORCES_MAE, STRESS_MAE, ErrorReport
from nanomlip.units import EV_PER_A3_TO_GPA

__all__ = [
    "CHECKPOINT",
    "MODEL",
    "TrainResult",
    "TrainState",
    "Trainer",
    "TrainingData",
    "learning_rate",
    "load_training_data",
    "make_trainer",
    "train",
]

#: Seconds between redraws of ``learning_curve.png`` during training (always drawn at the end).
PLOT_INTERVAL_S = 60.0

Graph = dict[str, torch.Tensor]
Callback = Callable[["Trainer"], None]


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
    """Distils prepared training data into a student; rerunning the same job resumes it.

    Args:
        data: The training and validation graphs (:mod:`nanomlip.distill.setup`).
        model_config: The student's resolved configuration
            (:func:`~nanomlip.distill.setup.resolve_student`); with ``initial``, its config.
        out: Run folder (created if needed).
        config: The training configuration.
        callbacks: Called as ``callback(trainer)`` after every optimizer step (after
            any evaluation and checkpoint of that step).
        initial: The model to start from (``config.init_from``, already grown), if any.

    Raises:
        ValueError: ``out`` holds a run with another configuration or dataset, or
            ``initial`` lacks elements of the data.
    """

    def __init__(
        self,
        data: TrainingData,
        model_config: ModelConfig,
        out: str | os.PathLike,
        config: TrainConfig,
        callbacks: Sequence[Callback] = (),
        initial: NanoModel | None = None,
    ) -> None:
        self.config = config
        self.out = Path(out)
        self.data = data
        self.callbacks = list(callbacks)
        self.device = torch.device(config.device)
        model, self.statistics = build_student(config, data, model_config, initial)
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
            [int(g[K.NUM_ATOMS]) for g in data.val_graphs],
            range(len(data.val_graphs)),
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
            atomic_write_text(self.out / CONFIG, yaml.safe_dump(config.to_dict()))

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
            "state": self.state.to_dict(),
            "rng": rng_state(),
        }

    def save(self) -> Path:
        """Write ``checkpoint_last.pt`` atomically (temporary file, then rename)."""
        return save_state(self.out / CHECKPOINT, self.checkpoint_dict())

    def _resume(self) -> None:
        saved = read_state(self.out / CHECKPOINT, self.device)
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
        # Keep freed memory in the heap as the calculator does: 1 thread, v5 frames, batch 16,
        # 134 -> 182 frames/s (page faults 3.4 M -> 0.14 M per 300 steps).
        allocator.prepare_for(int(batch[K.EDGE_INDEX].shape[1]))
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

    def _validation_report(self) -> ErrorReport | None:
        if not self.data.val_graphs:
            return None
        predictions = predict(self.ema, self.data.val_graphs, self.val_batches, self.device)
        categories = self.data.dataset.arrays["category"][predictions.frame_id]
        return error_report(predictions, categories)

    def _score(self, report: ErrorReport) -> float:
        overall = report["overall"]
        terms = [
            (self.config.energy_weight, overall[ENERGY_MAE], 1e-3),
            (self.config.forces_weight, overall[FORCES_MAE], 1e-3),
            (self.config.stress_weight, overall[STRESS_MAE], 1 / EV_PER_A3_TO_GPA),
        ]
        return float(sum(w * v * unit for w, v, unit in terms if v is not None))

    def _write_metrics(self, plot: bool = False) -> None:
        """Rewrite the metrics files; redraw the PNG if asked or a minute after the last one."""
        due = time.monotonic() - self._last_plot > PLOT_INTERVAL_S
        write_metrics(self.out, self.state.history, plot or due)
        if self.state.history and (plot or due):
            self._last_plot = time.monotonic()

    def export(
        self,
        path: str | os.PathLike,
        dataset: str | None = None,
        notes: str | None = None,
        dataset_sha256: str | None = None,
    ) -> Path:
        """Save the EMA model as a nanomlip checkpoint with distillation provenance.

        Args:
            path: Checkpoint file to write.
            dataset: Name recorded as the model's distillation dataset (the one its later
                fine-tunes replay); default: the training data's folder name.
            notes: Free text kept in the metadata (e.g. what a fine-tune started from).
            dataset_sha256: SHA-256 recorded with ``dataset`` (default: the training data's).
        """
        teacher = self.data.dataset.manifest.get("teacher", {})
        ema = copy.deepcopy(self.ema).cpu()
        ema.metadata = {"preset": self.config.preset, "seed": self.config.seed}
        if notes:
            ema.metadata["notes"] = notes
        return save_checkpoint(
            ema,
            path,
            teacher=teacher.get("spec"),
            teacher_version=teacher.get("version"),
            task=teacher.get("task"),
            dataset=dataset or self.data.name,
            dataset_sha256=dataset_sha256 or self.data.sha256,
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


def make_trainer(
    data: str | os.PathLike,
    out: str | os.PathLike,
    config: TrainConfig,
    callbacks: Sequence[Callback] = (),
) -> Trainer:
    """A :class:`Trainer` for the dataset folder ``data``: split, graphs and student resolved.

    Raises:
        FileNotFoundError: ``data`` or ``config.init_from`` does not exist.
        ValueError: A bad dataset, or ``out`` holds a run with another configuration
            or dataset.
    """
    initial = initial_model(config)
    prepared = load_training_data(data, config, student_cutoff(config, initial), config.progress)
    model_config = resolve_student(config, prepared, initial)
    return Trainer(prepared, model_config, out, config, callbacks, initial)


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
    return make_trainer(data, out, config or TrainConfig(), callbacks).fit()
