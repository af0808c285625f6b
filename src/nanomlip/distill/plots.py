"""Learning curves and parity plots (matplotlib ``Figure`` objects, no global pyplot state)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from nanomlip.distill.metrics import Predictions
from nanomlip.schema import ENERGY_MAE, FORCES_MAE, STRESS_MAE, flat_mae_key
from nanomlip.units import EV_PER_A3_TO_GPA


def _save(figure: Figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(tmp, dpi=120, bbox_inches="tight")
    os.replace(tmp, path)
    return path


def _column(history: Sequence[dict[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    rows = [(row["step"], row.get(key, math.nan)) for row in history]
    rows = [(s, v) for s, v in rows if v is not None and math.isfinite(v)]
    if not rows:
        return np.zeros(0), np.zeros(0)
    steps, values = zip(*rows, strict=True)
    return np.asarray(steps), np.asarray(values)


def learning_curve(history: Sequence[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Training loss and validation MAEs against the optimizer step, on log axes.

    Args:
        history: One row per evaluation with ``step``, ``train_loss`` and
            ``val/all/<metric>`` entries (see :func:`~nanomlip.distill.metrics.flatten_overall`).
        path: PNG file to write.
    """
    figure = Figure(figsize=(12, 3.2), layout="constrained")
    panels = [
        ("train_loss", "training loss"),
        (flat_mae_key("all", ENERGY_MAE), "val energy MAE (meV/atom)"),
        (flat_mae_key("all", FORCES_MAE), "val force MAE (meV/Å)"),
        (flat_mae_key("all", STRESS_MAE), "val stress MAE (GPa)"),
    ]
    axes = figure.subplots(1, len(panels))
    for axis, (key, label) in zip(axes, panels, strict=True):
        steps, values = _column(history, key)
        axis.plot(steps, values, marker="o", markersize=3)
        if len(values) and np.all(values > 0):
            axis.set_yscale("log")
        axis.set_xlabel("step")
        axis.set_title(label, fontsize=9)
    return _save(figure, path)


def parity_plots(predictions: Predictions, path: str | os.PathLike, title: str = "") -> Path:
    """Student against teacher: energy per atom, force components, stress components.

    Args:
        predictions: The predictions.
        path: PNG file to write.
        title: Figure title.
    """
    p = predictions
    stress_rows = np.all(np.isfinite(p.stress_true), axis=1)
    panels = [
        ("energy (eV/atom)", p.energy_true / p.num_atoms, p.energy / p.num_atoms),
        ("force (eV/Å)", p.forces_true.ravel(), p.forces.ravel()),
        (
            "stress (GPa)",
            p.stress_true[stress_rows].ravel() * EV_PER_A3_TO_GPA,
            p.stress[stress_rows].ravel() * EV_PER_A3_TO_GPA,
        ),
    ]
    figure = Figure(figsize=(12, 3.8), layout="constrained")
    for axis, (label, teacher, student) in zip(figure.subplots(1, 3), panels, strict=True):
        axis.scatter(teacher, student, s=4, alpha=0.5)
        if len(teacher):
            low = float(min(teacher.min(), student.min()))
            high = float(max(teacher.max(), student.max()))
            axis.plot([low, high], [low, high], color="black", linewidth=0.8)
        axis.set_xlabel(f"teacher {label}")
        axis.set_ylabel(f"student {label}")
        axis.set_aspect("equal", adjustable="datalim")
    if title:
        figure.suptitle(title, fontsize=10)
    return _save(figure, path)
