"""The JSON contracts between stages, written once: error metrics, eval and training reports.

``nanomlip eval`` (``eval.json``), the trainer (``metrics.json`` rows and the model's
``training.val``), fine-tuning and the model card all share :class:`ErrorMetrics`; read and
write its fields through the constants below (or the TypedDict keys), never new strings.

Units: energy meV/atom, forces meV/Å (per Cartesian component), stress GPa (per Voigt
component). A metric is ``None`` where nothing in the subset carries that label.
"""

from __future__ import annotations

from typing import Final, TypedDict

ENERGY_MAE: Final = "energy_mae_meV_per_atom"
ENERGY_RMSE: Final = "energy_rmse_meV_per_atom"
FORCES_MAE: Final = "forces_mae_meV_per_A"
FORCES_RMSE: Final = "forces_rmse_meV_per_A"
STRESS_MAE: Final = "stress_mae_GPa"
STRESS_RMSE: Final = "stress_rmse_GPa"
#: The MAEs that validation scores, learning curves and flat metrics rows use.
MAE_KEYS: Final = (ENERGY_MAE, FORCES_MAE, STRESS_MAE)


class ErrorMetrics(TypedDict):
    """Errors over a subset of frames (energy, stress) and of atoms (forces)."""

    n_frames: int
    n_atoms: int
    n_stress: int
    energy_mae_meV_per_atom: float | None
    energy_rmse_meV_per_atom: float | None
    forces_mae_meV_per_A: float | None
    forces_rmse_meV_per_A: float | None
    stress_mae_GPa: float | None
    stress_rmse_GPa: float | None


class ErrorReport(TypedDict):
    """Errors overall, per dataset category and per element symbol."""

    overall: ErrorMetrics
    per_category: dict[str, ErrorMetrics]
    per_element: dict[str, ErrorMetrics]


class EvalReport(ErrorReport, total=False):
    """``eval.json`` of ``nanomlip eval``: the report and what was evaluated."""

    model: str
    dataset: str
    split: str
    n_frames: int
    n_frames_in_split: int
    teacher: str | None
    command: str


class MetricsRow(TypedDict, total=False):
    """One evaluation row of a run's ``metrics.json`` (``metrics.csv`` lacks ``report``).

    Besides these keys a row has ``train/<term>`` loss terms and, with a validation set,
    ``val/<section>/<metric>`` MAEs (section ``all`` or a category; metric of
    :data:`MAE_KEYS`).
    """

    step: int
    epoch: int
    lr: float
    train_loss: float
    val_score: float
    train_seconds: float
    report: ErrorReport | None


def flat_mae_key(section: str, metric: str, prefix: str = "val") -> str:
    """Column of a flat metrics row: ``val/all/energy_mae_meV_per_atom``."""
    return f"{prefix}/{section}/{metric}"
