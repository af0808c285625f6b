"""Student against teacher on a labelled dataset: errors, a Markdown table and parity plots.

The model is anything :class:`~nanomlip.NanoCalculator` accepts (checkpoint,
TorchScript export, registered name or model instance); frames are evaluated in
batched graphs. ``split="val"`` rebuilds the validation split of the run that
trained the model from the seed and fraction in its metadata.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nanomlip.data.store import LabeledDataset
from nanomlip.distill import data as D
from nanomlip.distill.config import TrainConfig
from nanomlip.distill.metrics import Predictions, error_report, predict
from nanomlip.distill.plots import parity_plots
from nanomlip.integrations.ase_calculator import NanoCalculator, check_species
from nanomlip.schema import (
    ENERGY_MAE,
    ENERGY_RMSE,
    FORCES_MAE,
    FORCES_RMSE,
    STRESS_MAE,
    ErrorReport,
)

SPLITS = ("val", "all")


@dataclass
class Evaluation:
    """Result of :func:`evaluate`.

    Attributes:
        report: Errors overall, per category and per element (see
            :func:`~nanomlip.distill.metrics.error_report`).
        predictions: The predictions behind the report.
        info: What was evaluated (model, dataset, split, frame count).
    """

    report: ErrorReport
    predictions: Predictions
    info: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {**self.info, **self.report}


def split_indices(
    dataset: LabeledDataset,
    split: str,
    metadata: dict[str, Any],
    val_fraction: float | None = None,
    seed: int | None = None,
) -> np.ndarray:
    """Dataset indices of ``split``: every frame, or the training run's validation frames.

    The fraction and seed default to the model's training configuration, then to
    the :class:`~nanomlip.distill.config.TrainConfig` defaults.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    if split == "all":
        if val_fraction is not None or seed is not None:
            raise ValueError(
                "val_fraction and seed choose the validation split; with split 'all' they "
                "would be ignored (use split 'val')"
            )
        return np.arange(len(dataset))
    trained = ((metadata.get("training") or {}).get("config")) or {}
    defaults = TrainConfig()
    fraction = val_fraction if val_fraction is not None else trained.get("val_fraction")
    seed = seed if seed is not None else trained.get("seed", defaults.seed)
    fraction = defaults.val_fraction if fraction is None else fraction
    _, val = D.group_split(
        D.split_keys(dataset.arrays, trained.get("split_by", "group")),
        float(fraction),
        int(seed),
        base_frames=trained.get("split_base_frames"),
    )
    if len(val) == 0:
        raise ValueError(
            "the validation split is empty (fraction 0 or a single group); use --split all"
        )
    return val


def split_source_metadata(model: Any) -> dict[str, Any]:
    """Metadata of the model whose training run defines the validation split."""
    from nanomlip.models.registry import load_model

    if isinstance(model, str | os.PathLike):
        model = load_model(model)
    return dict(getattr(model, "metadata", None) or {})


#: Seed of the frame sample drawn by ``evaluate(max_frames=...)``.
SAMPLE_SEED = 0


def sample_frames(indices: np.ndarray, max_frames: int | None) -> np.ndarray:
    """At most ``max_frames`` of ``indices``, drawn with :data:`SAMPLE_SEED`, in order."""
    if max_frames is None or max_frames >= len(indices):
        return indices
    if max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    chosen = np.random.default_rng(SAMPLE_SEED).choice(len(indices), max_frames, replace=False)
    return indices[np.sort(chosen)]


def evaluate(
    model: Any,
    data: str | os.PathLike,
    split: str = "all",
    dtype: str = "float32",
    device: str = "cpu",
    batch_size: int = 16,
    val_fraction: float | None = None,
    seed: int | None = None,
    max_frames: int | None = None,
    split_of: Any = None,
) -> Evaluation:
    """Errors of ``model`` against the teacher labels of dataset ``data``.

    Args:
        model: Anything :class:`~nanomlip.NanoCalculator` accepts.
        data: Dataset folder.
        split: ``all`` frames or the ``val`` split of the model's training run.
        dtype: ``float32`` or ``float64``.
        device: Torch device.
        batch_size: Frames per batch.
        val_fraction: Override of the validation fraction for ``split="val"``.
        seed: Override of the split seed for ``split="val"``.
        max_frames: Evaluate a random sample of at most this many frames of the split
            (drawn with :data:`SAMPLE_SEED`, so the same sample every time).
        split_of: Take ``split="val"`` from this model's training run instead (e.g. a
            fine-tuned model on the validation frames of the model it started from).

    Raises:
        FileNotFoundError: The dataset or model file does not exist.
        ValueError: Unknown split, elements the model does not support, or a bad model.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    calculator = NanoCalculator(model=model, device=device, dtype=dtype)
    dataset = LabeledDataset(data)
    split_metadata = calculator.metadata if split_of is None else split_source_metadata(split_of)
    indices = split_indices(dataset, split, split_metadata, val_fraction, seed)
    split_frames = len(indices)
    indices = sample_frames(indices, max_frames)
    offsets = dataset.atom_offsets
    numbers = np.concatenate(
        [dataset.arrays["numbers"][offsets[i] : offsets[i + 1]] for i in indices]
    )
    check_species(numbers, calculator.species)
    graphs = D.build_graphs(dataset, indices, calculator.cutoff, calculator.dtype)
    num_atoms = dataset.arrays["num_atoms"][indices]
    batches = D.make_batches(num_atoms, range(len(graphs)), batch_size)
    predictions = predict(calculator.model, graphs, batches, calculator.device)
    report = error_report(predictions, dataset.arrays["category"][predictions.frame_id])
    info = {
        "model": str(model) if isinstance(model, str | os.PathLike) else type(model).__name__,
        "dataset": str(data),
        "split": split,
        "n_frames": int(len(indices)),
        "n_frames_in_split": int(split_frames),
        "teacher": (dataset.manifest.get("teacher") or {}).get("spec"),
    }
    return Evaluation(report, predictions, info)


def _cell(value: Any, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown_table(report: ErrorReport) -> str:
    """The report as a Markdown table: overall, categories, then elements."""
    header = (
        "| subset | frames | atoms | E MAE (meV/atom) | E RMSE (meV/atom) | F MAE (meV/Å) "
        "| F RMSE (meV/Å) | S MAE (GPa) |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = [("**all**", report["overall"])]
    rows += [(f"category: {k}", v) for k, v in report["per_category"].items()]
    rows += [(f"element: {k}", v) for k, v in report["per_element"].items()]
    lines = [header]
    for name, m in rows:
        lines.append(
            f"| {name} | {m['n_frames']} | {m['n_atoms']} | "
            f"{_cell(m[ENERGY_MAE])} | {_cell(m[ENERGY_RMSE])} | "
            f"{_cell(m[FORCES_MAE])} | {_cell(m[FORCES_RMSE])} | "
            f"{_cell(m[STRESS_MAE], 3)} |"
        )
    return "\n".join(lines) + "\n"


def write_outputs(evaluation: Evaluation, out: str | os.PathLike) -> dict[str, Path]:
    """Write ``eval.json``, ``eval.md`` and ``parity.png`` into folder ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "eval.json", "markdown": out / "eval.md", "parity": out / "parity.png"}
    paths["json"].write_text(json.dumps(evaluation.to_dict(), indent=2))
    title = (
        f"{evaluation.info['model']} on {evaluation.info['dataset']} ({evaluation.info['split']})"
    )
    paths["markdown"].write_text(f"# {title}\n\n{markdown_table(evaluation.report)}")
    parity_plots(evaluation.predictions, paths["parity"], title=title)
    return paths
