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

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.units import GPa

from nanomlip.bench.models import BenchModel

#: Ways a (system, model) evaluation can end.
OK, SKIPPED, FAILED = "ok", "skipped", "failed"


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
    calculator: Calculator, atoms: Atoms, volumes: Sequence[float] | np.ndarray
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
    known = [v for v in values if v is not None]
    return float(np.mean(np.abs(known)) * 100.0) if known else None


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.median(known)) if known else None


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
        f"{head}  V0 {r.v0:8.3f} ({100 * (r.v0_error or 0.0):+5.1f}%)  B0 {r.b0:7.1f} "
        f"({100 * (r.b0_error or 0.0):+6.1f}%)  B1 {r.b1:5.2f}  Delta {r.delta:7.2f} meV  "
        f"{r.seconds:5.2f} s"
    )
