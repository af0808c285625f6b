r"""Equation-of-state benchmark on the 71 elemental crystals of the Delta test.

``ase.collections.dcdft`` stores, for each element, the crystal used by the Delta
test (Lejaeghere et al., Science 351, aad3000 (2016)) and the WIEN2k PBE reference
equation of state in its data dictionary: ``wien2k_volume`` (V0, Å^3/atom),
``wien2k_B`` (B0, GPa) and ``wien2k_Bp`` (B1, dimensionless).

Protocol, per system and model: the reference cell is scaled isotropically to the
WIEN2k V0, then to ``points`` volumes uniformly spaced in
``[(1 - strain) V0, (1 + strain) V0]`` with atoms fixed in fractional coordinates
(as in the Delta test; no internal relaxation). The energies are fitted with the
third-order Birch-Murnaghan equation of state, which is a cubic polynomial in
:math:`x = V^{-2/3}`, so the fit is linear least squares:

.. math:: E(V) = c_0 + c_1 x + c_2 x^2 + c_3 x^3, \qquad x = V^{-2/3}

==========================  ===================  ==========================================
Quantity                    Variable             Units
==========================  ===================  ==========================================
:math:`V_0`                 ``v0``               Å^3/atom, where :math:`dE/dx = 0`
:math:`B_0 = V E''(V_0)`    ``b0``               GPa
:math:`B_1 = dB/dP`         ``b1``               dimensionless, :math:`-1 - V E'''/E''`
:math:`E_0`                 ``e0``               eV/atom
:math:`\Delta`              ``delta``            meV/atom, :func:`ase.utils.deltacodesdft.delta`
==========================  ===================  ==========================================

A fit fails (and is reported as failed) when the fitted curve has no minimum
(no stationary point with positive curvature), when the minimum lies outside the
sampled volume range, or when the fitted curve is not convex on the grid.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.units import GPa

#: Ways a (system, model) evaluation can end.
OK, SKIPPED, FAILED = "ok", "skipped", "failed"

#: The two kinds of models named on the command line.
MODEL_KINDS = ("student", "teacher")


class EOSFitError(ValueError):
    """The energies admit no physical Birch-Murnaghan fit (reason in the message)."""


# --------------------------------------------------------------------------- reference


@dataclass(frozen=True)
class Reference:
    """A reference equation of state.

    Attributes:
        v0: Equilibrium volume, Å^3/atom.
        b0: Bulk modulus, GPa.
        b1: Pressure derivative of the bulk modulus.
    """

    v0: float
    b0: float
    b1: float


def dcdft_names() -> list[str]:
    """The 71 system names of ``ase.collections.dcdft`` (element symbols, H..Rn)."""
    from ase.collections import dcdft

    return dcdft.names


def wien2k_reference(name: str) -> Reference:
    """The WIEN2k PBE equation of state of ``name`` stored in ``ase.collections.dcdft``."""
    from ase.collections import dcdft

    data = dcdft.data[name]
    return Reference(
        v0=float(data["wien2k_volume"]),
        b0=float(data["wien2k_B"]),
        b1=float(data["wien2k_Bp"]),
    )


def reference_structure(name: str) -> Atoms:
    """The dcdft crystal of ``name``, scaled isotropically to the WIEN2k volume."""
    from ase.collections import dcdft

    atoms = dcdft[name]
    return scaled_to_volume(atoms, wien2k_reference(name).v0 * len(atoms))


def scaled_to_volume(atoms: Atoms, volume: float) -> Atoms:
    """A copy of ``atoms`` with its cell scaled isotropically to ``volume`` (Å^3).

    Atoms keep their fractional coordinates.
    """
    scaled = atoms.copy()
    factor = (volume / atoms.get_volume()) ** (1.0 / 3.0)
    scaled.set_cell(atoms.cell[:] * factor, scale_atoms=True)
    return scaled


def volume_grid(v0: float, points: int = 9, strain: float = 0.06) -> np.ndarray:
    """``points`` volumes uniformly spaced in ``[(1 - strain) v0, (1 + strain) v0]``.

    Args:
        v0: Centre volume (any unit, e.g. Å^3/atom).
        points: Number of volumes, at least 5.
        strain: Relative half-width of the range in volume (0.06 = ±6 %).
    """
    if points < 5:
        raise ValueError(f"need at least 5 volume points for a 4-parameter fit, got {points}")
    if not 0.0 < strain < 0.5:
        raise ValueError(f"strain must be in (0, 0.5), got {strain}")
    return v0 * np.linspace(1.0 - strain, 1.0 + strain, points)


# --------------------------------------------------------------------------- fit


@dataclass(frozen=True)
class EOSFit:
    """A third-order Birch-Murnaghan fit.

    Attributes:
        v0: Equilibrium volume, Å^3/atom.
        e0: Energy at ``v0``, eV/atom.
        b0: Bulk modulus, GPa.
        b1: Pressure derivative of the bulk modulus.
        rms: Root-mean-square residual of the fit, meV/atom.
    """

    v0: float
    e0: float
    b0: float
    b1: float
    rms: float


def fit_birch_murnaghan(volumes: Sequence[float], energies: Sequence[float]) -> EOSFit:
    """Fit E(V) per atom with the third-order Birch-Murnaghan equation of state.

    Args:
        volumes: Volumes, Å^3/atom (at least 5, distinct).
        energies: Energies, eV/atom.

    Returns:
        The fitted parameters.

    Raises:
        EOSFitError: No minimum, minimum outside the sampled volumes, or a fitted
            curve that is not convex on them.
    """
    v = np.asarray(volumes, dtype=float)
    e = np.asarray(energies, dtype=float)
    if v.shape != e.shape or v.size < 5:
        raise EOSFitError(f"need >= 5 matching volumes and energies, got {v.size} and {e.size}")
    if not np.all(np.isfinite(e)):
        raise EOSFitError("non-finite energies")
    poly = np.polynomial.Polynomial.fit(v ** (-2.0 / 3.0), e, deg=3).convert()
    rms = float(np.sqrt(np.mean((poly(v ** (-2.0 / 3.0)) - e) ** 2)) * 1000.0)
    d1, d2, d3 = poly.deriv(1), poly.deriv(2), poly.deriv(3)
    minima = [x.real for x in d1.roots() if abs(x.imag) < 1e-12 and x.real > 0 and d2(x.real) > 0]
    if not minima:
        raise EOSFitError("energy curve has no minimum (no stationary point with E'' > 0)")
    x0 = min(minima, key=lambda x: abs(x ** (-1.5) - v.mean()))
    v0 = float(x0**-1.5)
    if not v.min() <= v0 <= v.max():
        raise EOSFitError(
            f"minimum at {v0:.4g} Å^3/atom lies outside the grid [{v.min():.4g}, {v.max():.4g}]"
        )
    if np.any(_second_derivative(poly, v) <= 0.0):
        raise EOSFitError("fitted energy curve is not convex on the grid (B < 0 somewhere)")
    dx = -2.0 / 3.0 * v0 ** (-5.0 / 3.0)  # dx/dV
    ddx = 10.0 / 9.0 * v0 ** (-8.0 / 3.0)  # d2x/dV2
    e_vv = float(d2(x0)) * dx**2  # dE/dx = 0 at the minimum
    e_vvv = float(d3(x0)) * dx**3 + 3.0 * float(d2(x0)) * dx * ddx
    return EOSFit(
        v0=v0,
        e0=float(poly(x0)),
        b0=v0 * e_vv / GPa,
        b1=-1.0 - v0 * e_vvv / e_vv,
        rms=rms,
    )


def _second_derivative(poly: np.polynomial.Polynomial, volumes: np.ndarray) -> np.ndarray:
    """d2E/dV2 (eV/Å^6) of the fitted polynomial in x = V^(-2/3) at ``volumes``."""
    x = volumes ** (-2.0 / 3.0)
    dx = -2.0 / 3.0 * volumes ** (-5.0 / 3.0)
    ddx = 10.0 / 9.0 * volumes ** (-8.0 / 3.0)
    return poly.deriv(2)(x) * dx**2 + poly.deriv(1)(x) * ddx


def delta_mev(fit: EOSFit, reference: Reference) -> float:
    """Delta gauge between a fit and a reference, meV/atom (symmetric, ±6 % around V0)."""
    from ase.utils.deltacodesdft import delta

    value = delta(fit.v0, fit.b0 * GPa, fit.b1, reference.v0, reference.b0 * GPa, reference.b1)
    return float(value) * 1000.0


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class ModelSpec:
    """A model named on the command line.

    Attributes:
        label: Name shown in tables and plots.
        kind: ``"student"`` (nanomlip checkpoint or registered name) or ``"teacher"``
            (a teacher spec such as ``sevennet:7net-mf-0@PBE``).
        target: Checkpoint path / registered name, or teacher spec.
    """

    label: str
    kind: str
    target: str


MODELS_HELP = (
    "comma-separated list of [LABEL=]student:CHECKPOINT_OR_NAME and "
    "[LABEL=]teacher:SPEC entries, e.g. "
    "'nano=student:runs/nano.safetensors,teacher:sevennet:7net-mf-0@PBE'. "
    "A student is a nanomlip checkpoint path, TorchScript export or registered name; "
    "a teacher is any teacher spec (sevennet:7net-0, sevennet:7net-mf-0@PBE, chgnet:0.3.0, "
    "ase:ase.calculators.emt:EMT). LABEL names the column (default: the checkpoint stem "
    "or the teacher spec)."
)


def parse_model_specs(text: str) -> list[ModelSpec]:
    """Parse ``--models``: comma-separated ``[LABEL=]student:X`` / ``[LABEL=]teacher:SPEC``.

    Raises:
        ValueError: An entry without a known kind, or duplicate labels.
    """
    specs = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        label = None
        head, colon, _ = entry.partition(":")
        if colon and "=" in head:
            label, _, entry = entry.partition("=")
            label = label.strip()
        kind, _, target = entry.partition(":")
        kind = kind.strip().lower()
        if kind not in MODEL_KINDS or not target:
            raise ValueError(
                f"model entry {entry!r} must be student:CHECKPOINT_OR_NAME or teacher:SPEC "
                "(optionally prefixed by LABEL=)"
            )
        specs.append(ModelSpec(label or _default_label(kind, target), kind, target))
    labels = [spec.label for spec in specs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"model labels must be unique, got {labels}; use LABEL=... to rename")
    if not specs:
        raise ValueError("no models given")
    return specs


#: File suffixes a student label drops (``runs/x/model.safetensors`` -> ``model``).
_MODEL_SUFFIXES = (".safetensors", ".pt")


def _default_label(kind: str, target: str) -> str:
    """A student's label: its registered name as given (``nano-5.0``), else the file stem."""
    if kind != "student":
        return target
    name = Path(target).name
    for suffix in _MODEL_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@dataclass
class BenchModel:
    """A model ready to benchmark.

    Attributes:
        label: Name in tables and plots.
        calculator: Its ASE calculator.
        kind: ``"student"``, ``"teacher"`` or any other tag.
        target: What it was loaded from (checkpoint, name or spec).
        elements: Symbols the model knows; ``None`` lets the calculator decide
            (systems whose first evaluation raises ``ValueError`` or
            ``NotImplementedError`` are then skipped).
        info: Provenance for the JSON output.
    """

    label: str
    calculator: Calculator
    kind: str = "custom"
    target: str = ""
    elements: list[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)


def load_bench_model(spec: ModelSpec, device: str = "cpu") -> BenchModel:
    """Load a student (float32 :class:`~nanomlip.NanoCalculator`) or a teacher."""
    if spec.kind == "student":
        from ase.data import chemical_symbols

        from nanomlip.integrations.ase_calculator import NanoCalculator

        calculator = NanoCalculator(model=spec.target, device=device, dtype="float32")
        return BenchModel(
            label=spec.label,
            calculator=calculator,
            kind="student",
            target=spec.target,
            elements=[chemical_symbols[z] for z in calculator.species],
            info={"metadata": _jsonable(getattr(calculator, "metadata", {}))},
        )
    from nanomlip.teachers import load_teacher

    teacher = load_teacher(spec.target, device=device)
    return BenchModel(
        label=spec.label,
        calculator=teacher.calculator(),
        kind="teacher",
        target=spec.target,
        elements=list(teacher.elements),
        info={"provenance": asdict(teacher.provenance)},
    )


def _jsonable(value: Any) -> Any:
    """``value`` with anything JSON cannot store turned into strings."""
    return json.loads(json.dumps(value, default=str))


# --------------------------------------------------------------------------- runner


@dataclass
class SystemResult:
    """One (system, model) evaluation.

    Attributes:
        system: dcdft name (element symbol).
        model: Model label.
        status: ``"ok"``, ``"skipped"`` (elements unknown to the model) or ``"failed"``.
        reason: Why it was skipped or failed.
        num_atoms: Atoms in the cell.
        volumes: Sampled volumes, Å^3/atom.
        energies: Energies, eV/atom (empty when skipped).
        v0: Fitted volume, Å^3/atom.
        b0: Fitted bulk modulus, GPa.
        b1: Fitted pressure derivative of the bulk modulus.
        e0: Fitted minimum energy, eV/atom.
        fit_rms: Fit residual, meV/atom.
        v0_error: (v0 - V0_ref) / V0_ref.
        b0_error: (b0 - B0_ref) / B0_ref.
        delta: Delta gauge against the reference, meV/atom.
        seconds: Wall time of the evaluations, s.
    """

    system: str
    model: str
    status: str
    reason: str | None = None
    num_atoms: int = 0
    volumes: list[float] = field(default_factory=list)
    energies: list[float] = field(default_factory=list)
    v0: float | None = None
    b0: float | None = None
    b1: float | None = None
    e0: float | None = None
    fit_rms: float | None = None
    v0_error: float | None = None
    b0_error: float | None = None
    delta: float | None = None
    seconds: float = 0.0


def unknown_elements(atoms: Atoms, elements: Sequence[str] | None) -> list[str]:
    """Symbols of ``atoms`` missing from ``elements`` (none when ``elements`` is None)."""
    if elements is None:
        return []
    return sorted(set(atoms.get_chemical_symbols()) - set(elements))


def energies_per_atom(
    calculator: Calculator, atoms: Atoms, volumes: Sequence[float]
) -> list[float]:
    """Energy (eV/atom) of ``atoms`` scaled to each volume (Å^3/atom)."""
    energies = []
    for volume in volumes:
        scaled = scaled_to_volume(atoms, volume * len(atoms))
        scaled.calc = calculator
        energies.append(float(scaled.get_potential_energy()) / len(scaled))
    return energies


def evaluate_system(
    model: BenchModel,
    name: str,
    points: int = 9,
    strain: float = 0.06,
    structure: Atoms | None = None,
    reference: Reference | None = None,
) -> SystemResult:
    """Scan, fit and compare one system with one model.

    Args:
        model: The model.
        name: dcdft system name.
        points: Volumes in the grid.
        strain: Relative half-width of the grid in volume.
        structure: Cell to scale (default: the dcdft crystal at the WIEN2k volume).
        reference: Reference EOS (default: WIEN2k from dcdft).

    Returns:
        The result; never raises for unknown elements, failed fits or calculator errors.
    """
    reference = reference or wien2k_reference(name)
    atoms = structure if structure is not None else reference_structure(name)
    volumes = volume_grid(reference.v0, points, strain)
    result = SystemResult(name, model.label, OK, num_atoms=len(atoms), volumes=volumes.tolist())
    unknown = unknown_elements(atoms, model.elements)
    if unknown:
        result.status, result.reason = SKIPPED, f"unknown element(s) {', '.join(unknown)}"
        return result
    start = time.perf_counter()
    try:
        first = energies_per_atom(model.calculator, atoms, volumes[:1])
    except (ValueError, NotImplementedError) as error:
        result.status, result.reason = SKIPPED, f"{type(error).__name__}: {error}"
        return result
    try:
        result.energies = first + energies_per_atom(model.calculator, atoms, volumes[1:])
    except Exception as error:  # one bad system must not end a long run
        result.status, result.reason = FAILED, f"calculator error {type(error).__name__}: {error}"
        return result
    finally:
        result.seconds = time.perf_counter() - start
    _fit_into(result, reference)
    return result


def _fit_into(result: SystemResult, reference: Reference) -> None:
    """Fill the fit, errors and Delta of ``result``; mark it failed if the fit fails."""
    try:
        fit = fit_birch_murnaghan(result.volumes, result.energies)
    except EOSFitError as error:
        result.status, result.reason = FAILED, str(error)
        return
    result.v0, result.b0, result.b1, result.e0, result.fit_rms = (
        fit.v0,
        fit.b0,
        fit.b1,
        fit.e0,
        fit.rms,
    )
    result.v0_error = (fit.v0 - reference.v0) / reference.v0
    result.b0_error = (fit.b0 - reference.b0) / reference.b0
    result.delta = delta_mev(fit, reference)


@dataclass
class ModelSummary:
    """Aggregate of one model over the systems.

    Attributes:
        model: Label.
        num_ok: Systems fitted.
        num_skipped: Systems with unknown elements.
        num_failed: Failed fits or calculator errors.
        num_common: Systems every compared model fitted (the set the MAREs use).
        mare_v0: Mean absolute relative error of V0 on the common set, %.
        mare_b0: Same for B0, %.
        median_delta: Median Delta on the common set, meV/atom.
        mare_v0_own: MARE of V0 over all systems this model fitted, %.
        mare_b0_own: Same for B0, %.
        median_delta_own: Median Delta over all systems this model fitted, meV/atom.
        seconds: Total evaluation time, s.
    """

    model: str
    num_ok: int
    num_skipped: int
    num_failed: int
    num_common: int
    mare_v0: float | None
    mare_b0: float | None
    median_delta: float | None
    mare_v0_own: float | None
    mare_b0_own: float | None
    median_delta_own: float | None
    seconds: float


def common_systems(results: Sequence[SystemResult]) -> list[str]:
    """Systems (in first-seen order) that every model in ``results`` fitted."""
    systems = list(dict.fromkeys(r.system for r in results))
    models = list(dict.fromkeys(r.model for r in results))
    ok = {(r.system, r.model) for r in results if r.status == OK}
    return [s for s in systems if all((s, m) in ok for m in models)]


def summarize(results: Sequence[SystemResult]) -> list[ModelSummary]:
    """One :class:`ModelSummary` per model; MAREs and median Delta over the common set."""
    common = set(common_systems(results))
    summaries = []
    for label in dict.fromkeys(r.model for r in results):
        mine = [r for r in results if r.model == label]
        fitted = [r for r in mine if r.status == OK]
        shared = [r for r in fitted if r.system in common]
        summaries.append(
            ModelSummary(
                model=label,
                num_ok=len(fitted),
                num_skipped=sum(r.status == SKIPPED for r in mine),
                num_failed=sum(r.status == FAILED for r in mine),
                num_common=len(shared),
                mare_v0=_mean_abs_percent([r.v0_error for r in shared]),
                mare_b0=_mean_abs_percent([r.b0_error for r in shared]),
                median_delta=_median([r.delta for r in shared]),
                mare_v0_own=_mean_abs_percent([r.v0_error for r in fitted]),
                mare_b0_own=_mean_abs_percent([r.b0_error for r in fitted]),
                median_delta_own=_median([r.delta for r in fitted]),
                seconds=sum(r.seconds for r in mine),
            )
        )
    return summaries


def _mean_abs_percent(values: Sequence[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(np.abs(values)) * 100.0) if values else None


def _median(values: Sequence[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def run_eos_benchmark(
    models: Sequence[BenchModel],
    systems: Sequence[str] | None = None,
    points: int = 9,
    strain: float = 0.06,
    log: Callable[[str], None] = print,
) -> list[SystemResult]:
    """Evaluate every model on every dcdft system.

    Args:
        models: Models to compare.
        systems: dcdft names (default: all 71).
        points: Volumes per system.
        strain: Relative half-width of the volume grid (0.06 = ±6 %).
        log: Where progress lines go.

    Returns:
        Results in (model, system) order.
    """
    names = list(systems) if systems else dcdft_names()
    unknown = sorted(set(names) - set(dcdft_names()))
    if unknown:
        raise ValueError(f"not dcdft systems: {unknown}; available: {' '.join(dcdft_names())}")
    volume_grid(1.0, points, strain)  # validate before the long loop
    results = []
    for model in models:
        for name in names:
            result = evaluate_system(model, name, points, strain)
            log(_progress_line(result))
            results.append(result)
    return results


def _progress_line(r: SystemResult) -> str:
    head = f"{r.model:>24s} {r.system:>3s} {r.status:>7s}"
    if r.status != OK:
        return f"{head}  {r.reason}"
    return (
        f"{head}  V0 {r.v0:8.3f} ({100 * r.v0_error:+5.1f}%)  B0 {r.b0:7.1f} "
        f"({100 * r.b0_error:+6.1f}%)  B1 {r.b1:5.2f}  Delta {r.delta:7.2f} meV  "
        f"{r.seconds:5.2f} s"
    )


# --------------------------------------------------------------------------- outputs


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def summary_table(summaries: Sequence[ModelSummary]) -> str:
    """Markdown summary: counts, MAREs and median Delta on the common set, time."""
    lines = [
        "| model | fitted | skipped | failed | common set | MARE V0 | MARE B0 "
        "| median Δ (meV/atom) | time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        lines.append(
            f"| {s.model} | {s.num_ok} | {s.num_skipped} | {s.num_failed} | {s.num_common} "
            f"| {_cell(s.mare_v0, '.2f')} % | {_cell(s.mare_b0, '.1f')} % "
            f"| {_cell(s.median_delta, '.2f')} | {s.seconds:.0f} s |"
        )
    return "\n".join(lines)


def element_table(results: Sequence[SystemResult], summaries: Sequence[ModelSummary]) -> str:
    """Markdown table: WIEN2k and every model side by side per element, summary last."""
    models = [s.model for s in summaries]
    by_key = {(r.system, r.model): r for r in results}
    header = "| system | WIEN2k V0 | WIEN2k B0 | WIEN2k B1 |"
    rule = "|---|---|---|---|"
    for m in models:
        header += f" {m} V0 | {m} B0 | {m} B1 | {m} Δ |"
        rule += "---|---|---|---|"
    lines = [header, rule]
    for name in dict.fromkeys(r.system for r in results):
        ref = wien2k_reference(name)
        row = f"| {name} | {ref.v0:.2f} | {ref.b0:.1f} | {ref.b1:.2f} |"
        for m in models:
            row += _model_cells(by_key.get((name, m)))
        lines.append(row)
    summary = "| **MARE / median Δ (common set)** | | | |"
    for s in summaries:
        summary += (
            f" **{_cell(s.mare_v0, '.2f')} %** | **{_cell(s.mare_b0, '.1f')} %** | "
            f"| **{_cell(s.median_delta, '.2f')}** |"
        )
    lines.append(summary)
    return "\n".join(lines)


def _model_cells(r: SystemResult | None) -> str:
    if r is None:
        return " | | | |"
    if r.status != OK:
        return f" {r.status} | | | |"
    return (
        f" {r.v0:.2f} ({100 * r.v0_error:+.1f}%) | {r.b0:.1f} ({100 * r.b0_error:+.0f}%) "
        f"| {r.b1:.2f} | {r.delta:.2f} |"
    )


def problems_list(results: Sequence[SystemResult]) -> str:
    """Markdown bullet list of skipped and failed (system, model) pairs with reasons."""
    lines = [
        f"- {r.model} / {r.system}: **{r.status}**: {r.reason}" for r in results if r.status != OK
    ]
    return "\n".join(lines) if lines else "None."


def plot_errors(results: Sequence[SystemResult], path: Path) -> None:
    """PNG of the relative V0 and B0 errors (%) per element, one marker series per model.

    Systems a model skipped or failed have no marker; the B0 axis is linear within ±10 %
    and logarithmic beyond.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = list(dict.fromkeys(r.system for r in results))
    models = list(dict.fromkeys(r.model for r in results))
    index = {name: i for i, name in enumerate(systems)}
    fig, axes = plt.subplots(2, 1, figsize=(max(8.0, 0.22 * len(systems) + 3.0), 7), sharex=True)
    markers = "osD^v<>ph*"
    for k, model in enumerate(models):
        ok = [r for r in results if r.model == model and r.status == OK]
        x = [index[r.system] for r in ok]
        for ax, key in zip(axes, ("v0_error", "b0_error")):
            y = [100.0 * getattr(r, key) for r in ok]
            ax.plot(x, y, markers[k % len(markers)], ms=4, alpha=0.8, label=model)
    for ax, label in zip(axes, ("V0 error vs WIEN2k (%)", "B0 error vs WIEN2k (%)")):
        ax.axhline(0.0, color="k", lw=0.7)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[1].set_yscale("symlog", linthresh=10.0)  # soft solids give errors of several 100 %
    axes[1].margins(y=0.1)
    axes[1].set_xticks(range(len(systems)), systems, fontsize=7, rotation=90)
    axes[0].legend(fontsize=8)
    axes[0].set_title("Equation of state of the Delta-test crystals (ase.collections.dcdft)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_eos_outputs(
    results: Sequence[SystemResult],
    models: Sequence[BenchModel],
    out: Path,
    command: str,
    points: int,
    strain: float,
) -> dict[str, Path]:
    """Write ``eos.json``, ``eos.md`` and ``eos.png`` into the folder ``out``.

    Returns:
        ``{"json": ..., "markdown": ..., "png": ...}`` paths.
    """
    import torch

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summaries = summarize(results)
    paths = {"json": out / "eos.json", "markdown": out / "eos.md", "png": out / "eos.png"}
    payload = {
        "command": command,
        "reference": "WIEN2k PBE (ase.collections.dcdft: wien2k_volume, wien2k_B, wien2k_Bp)",
        "protocol": {
            "points": points,
            "strain": strain,
            "fit": "third-order Birch-Murnaghan, linear least squares in V^(-2/3)",
            "units": {"v0": "A^3/atom", "b0": "GPa", "e0": "eV/atom", "delta": "meV/atom"},
        },
        "models": [
            {"label": m.label, "kind": m.kind, "target": m.target, **_jsonable(m.info)}
            for m in models
        ],
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "common_systems": common_systems(results),
        "summary": [asdict(s) for s in summaries],
        "results": [asdict(r) for r in results],
    }
    paths["json"].write_text(json.dumps(payload, indent=1))
    paths["markdown"].write_text(_markdown(results, summaries, command, points, strain))
    plot_errors(results, paths["png"])
    return paths


def _markdown(
    results: Sequence[SystemResult],
    summaries: Sequence[ModelSummary],
    command: str,
    points: int,
    strain: float,
) -> str:
    return (
        "# Equation of state on the Delta-test crystals (ase.collections.dcdft)\n\n"
        f"Command: `{command}`\n\n"
        f"Protocol: {points} volumes within ±{100 * strain:g} % of the WIEN2k V0, cell scaled "
        "isotropically with atoms fixed in fractional coordinates, third-order "
        "Birch-Murnaghan fit. Reference: WIEN2k PBE. V0 in Å^3/atom (relative error in "
        "brackets), B0 in GPa, Δ in meV/atom. MAREs and median Δ are over the common set: "
        "the systems that every model in this run fitted.\n\n"
        f"## Summary\n\n{summary_table(summaries)}\n\n"
        f"## Per element\n\n{element_table(results, summaries)}\n\n"
        f"## Skipped and failed\n\n{problems_list(results)}\n\n"
        "![V0 and B0 errors](eos.png)\n"
    )
