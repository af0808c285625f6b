"""Batched predictions on labelled graphs and their errors, overall, per category and per element.

Units of the reported errors: energy meV/atom, forces meV/Å (per Cartesian
component), stress GPa (per Voigt component). Per element, energy and stress
errors are over the frames that contain the element and force errors over its atoms.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from ase.data import chemical_symbols

from nanomlip import _keys as K
from nanomlip.data.graph import collate, to_device
from nanomlip.distill import data as D
from nanomlip.schema import MAE_KEYS, ErrorMetrics, ErrorReport, flat_mae_key
from nanomlip.units import EV_PER_A3_TO_GPA

Graph = dict[str, torch.Tensor]


@dataclass
class Predictions:
    """Student predictions and teacher labels of a set of frames (F frames, N atoms).

    Attributes:
        frame_id: Dataset index of every frame, (F,).
        num_atoms: Atoms per frame, (F,).
        numbers: Atomic numbers, (N,).
        energy: Predicted total energies, (F,), eV.
        energy_true: Teacher total energies, (F,), eV.
        forces: Predicted forces, (N, 3), eV/Å.
        forces_true: Teacher forces, (N, 3), eV/Å.
        stress: Predicted stress, Voigt (F, 6), eV/Å^3.
        stress_true: Teacher stress, Voigt (F, 6), eV/Å^3; NaN rows where absent.
    """

    frame_id: np.ndarray
    num_atoms: np.ndarray
    numbers: np.ndarray
    energy: np.ndarray
    energy_true: np.ndarray
    forces: np.ndarray
    forces_true: np.ndarray
    stress: np.ndarray
    stress_true: np.ndarray

    @property
    def atom_frame(self) -> np.ndarray:
        """Position (0..F-1) of the frame of every atom, (N,)."""
        return np.repeat(np.arange(len(self.num_atoms)), self.num_atoms)


def predict(
    model: Callable[[Graph], Graph],
    graphs: Sequence[Graph],
    batches: Sequence[Sequence[int]],
    device: torch.device | str = "cpu",
) -> Predictions:
    """Run ``model`` on ``graphs`` batch by batch and gather predictions and labels.

    Args:
        model: A student (``NanoModel`` or TorchScript export) in eval mode.
        graphs: Graphs with targets (see :mod:`nanomlip.distill.data`).
        batches: Indices into ``graphs``, one list per batch.
        device: Where to run.

    Returns:
        The predictions, frames in batch order.
    """
    parts: dict[str, list[np.ndarray]] = {}
    for members in batches:
        batch = to_device(collate([graphs[i] for i in members]), device)
        with torch.enable_grad():
            output = model(batch)
        for key, value in _batch_arrays(batch, output).items():
            parts.setdefault(key, []).append(value)
    return Predictions(**{key: np.concatenate(values) for key, values in parts.items()})


def _batch_arrays(batch: Graph, output: Graph) -> dict[str, np.ndarray]:
    def numpy(value: torch.Tensor) -> np.ndarray:
        return value.detach().cpu().double().numpy()

    stress_true = D.matrix_to_voigt(numpy(batch[D.TARGET_STRESS]))
    stress_true[numpy(batch[D.STRESS_MASK]) == 0] = np.nan
    return {
        "frame_id": batch[D.FRAME_ID].cpu().numpy(),
        "num_atoms": batch[K.NUM_ATOMS].cpu().numpy(),
        "numbers": batch[K.ATOMIC_NUMBERS].cpu().numpy(),
        "energy": numpy(output[K.ENERGY]),
        "energy_true": numpy(batch[D.TARGET_ENERGY]),
        "forces": numpy(output[K.FORCES]),
        "forces_true": numpy(batch[D.TARGET_FORCES]),
        "stress": D.matrix_to_voigt(numpy(output[K.STRESS])),
        "stress_true": stress_true,
    }


def _mae(errors: np.ndarray) -> float | None:
    return float(np.mean(np.abs(errors))) if errors.size else None


def _rmse(errors: np.ndarray) -> float | None:
    return float(np.sqrt(np.mean(errors**2))) if errors.size else None


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def error_metrics(predictions: Predictions, frames: np.ndarray, atoms: np.ndarray) -> ErrorMetrics:
    """Errors over a subset of frames (for energy and stress) and atoms (for forces).

    Args:
        predictions: All predictions.
        frames: Boolean mask over frames, (F,).
        atoms: Boolean mask over atoms, (N,).

    Returns:
        ``n_frames``, ``n_atoms``, ``n_stress``, energy MAE/RMSE (meV/atom), force
        MAE/RMSE (meV/Å) and stress MAE/RMSE (GPa); ``None`` where nothing is labelled.
    """
    p = predictions
    energy_error = ((p.energy - p.energy_true) / p.num_atoms)[frames]
    force_error = (p.forces - p.forces_true)[atoms].ravel()
    stress_rows = frames & np.all(np.isfinite(p.stress_true), axis=1)
    stress_error = (p.stress - p.stress_true)[stress_rows].ravel()
    return ErrorMetrics(
        n_frames=int(frames.sum()),
        n_atoms=int(atoms.sum()),
        n_stress=int(stress_rows.sum()),
        energy_mae_meV_per_atom=_scaled(_mae(energy_error), 1e3),
        energy_rmse_meV_per_atom=_scaled(_rmse(energy_error), 1e3),
        forces_mae_meV_per_A=_scaled(_mae(force_error), 1e3),
        forces_rmse_meV_per_A=_scaled(_rmse(force_error), 1e3),
        stress_mae_GPa=_scaled(_mae(stress_error), EV_PER_A3_TO_GPA),
        stress_rmse_GPa=_scaled(_rmse(stress_error), EV_PER_A3_TO_GPA),
    )


def error_report(predictions: Predictions, categories: np.ndarray) -> ErrorReport:
    """Errors overall, per category and per element.

    Args:
        predictions: The predictions.
        categories: Category of every frame of ``predictions``, (F,).

    Returns:
        ``{"overall": m, "per_category": {name: m}, "per_element": {symbol: m}}`` with
        ``m`` as in :func:`error_metrics`.
    """
    p = predictions
    atom_frame = p.atom_frame
    all_frames = np.ones(len(p.num_atoms), dtype=bool)
    overall = error_metrics(p, all_frames, np.ones(len(p.numbers), dtype=bool))
    per_category = {
        str(name): error_metrics(p, categories == name, (categories == name)[atom_frame])
        for name in sorted(set(categories.tolist()))
    }
    per_element: dict[str, ErrorMetrics] = {}
    for z in sorted({int(z) for z in p.numbers}):
        is_z = p.numbers == z
        frames = np.zeros(len(p.num_atoms), dtype=bool)
        frames[atom_frame[is_z]] = True
        per_element[chemical_symbols[z]] = error_metrics(p, frames, is_z)
    return ErrorReport(overall=overall, per_category=per_category, per_element=per_element)


def flatten_overall(report: ErrorReport, prefix: str = "val") -> dict[str, float]:
    """Overall and per-category MAEs as flat ``{prefix/category/metric: value}`` (NaN if None)."""
    sections = {"all": report["overall"], **report["per_category"]}
    flat: dict[str, float] = {}
    for section, values in sections.items():
        for name in MAE_KEYS:
            value = values[name]
            flat[flat_mae_key(section, name, prefix)] = math.nan if value is None else value
    return flat
