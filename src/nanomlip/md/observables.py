"""Observables of an MD trajectory: density, mean-square displacement, diffusivity, RDF.

A trajectory is a sequence of ASE ``Atoms`` with the same atoms in the same order, equally
spaced in time (``frame_interval_fs`` apart), as :func:`nanomlip.md.run_md` writes them.

=============================  ====================================  =======================
Quantity                       Equation                              Function
=============================  ====================================  =======================
density                        ρ = Σ_i m_i / V                       :func:`density_series`
mean and its standard error    block averages of a correlated        :func:`block_average`
                               series (Flyvbjerg-Petersen)
displacement                   Δr_i(t), unwrapped through the        :func:`displacements`
                               periodic boundaries
MSD and diffusivity            D = MSD(Δt) / (6 Δt) (slope, 3D),     :func:`diffusivity`
                               error from the fit and from blocks
Arrhenius law                  D(T) = D₀ exp(-E_a / k_B T)           :func:`fit_arrhenius`
radial distribution            g(r), averaged over frames            :func:`radial_distribution`
=============================  ====================================  =======================

The diffusivity comes from pymatgen-analysis-diffusion's ``DiffusionAnalyzer`` (windowed
MSD over all time origins, framework drift removed, weighted linear fit with its standard
error); it fits lags from ``min_lag_ps`` (default 1 ps, pymatgen's choice that skips the
ballistic regime) up to the lag that every diffusing atom still samples a few times. The
RDF is ASE's ``get_rdf``. Units: Å, fs or ps as named, D in cm²/s, E_a in eV.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms, units

from nanomlip.md.thermo import density_g_cm3

#: Boltzmann constant in eV/K.
BOLTZMANN_EV_PER_K: float = units.kB


def _check_trajectory(frames: Sequence[Atoms], minimum: int = 2) -> None:
    if len(frames) < minimum:
        raise ValueError(f"the trajectory needs at least {minimum} frames, got {len(frames)}")
    count = len(frames[0])
    if any(len(frame) != count for frame in frames):
        raise ValueError("every frame of the trajectory must hold the same atoms")


def density_series(frames: Sequence[Atoms]) -> np.ndarray:
    """Mass density of each frame, in g/cm³, shape (n_frames,).

    Raises:
        ValueError: If a frame is not periodic in all three directions.
    """
    if any(not frame.pbc.all() for frame in frames):
        raise ValueError("a density needs frames periodic in all three directions")
    return np.array([density_g_cm3(frame) for frame in frames])


def block_average(values: Sequence[float] | np.ndarray, min_blocks: int = 4) -> tuple[float, float]:
    """Mean of a correlated time series and its standard error by block averaging.

    The series is halved repeatedly (Flyvbjerg & Petersen, J. Chem. Phys. 91, 461 (1989));
    the standard error of the block means rises while blocks are shorter than the
    correlation time and levels off after. The largest estimate over the levels with at
    least ``min_blocks`` blocks is returned, a conservative plateau value.

    Args:
        values: The series, shape (n,), n >= 2.
        min_blocks: Fewest blocks a level may have to be used.

    Returns:
        ``(mean, standard_error)`` in the units of ``values``.
    """
    series = np.asarray(values, dtype=float)
    if series.ndim != 1 or series.size < 2:
        raise ValueError(f"block averaging needs a 1D series of >= 2 values, got {series.shape}")
    mean, errors = float(series.mean()), []
    blocks = series
    while blocks.size >= max(min_blocks, 2):
        errors.append(float(blocks.std(ddof=1) / np.sqrt(blocks.size)))
        usable = blocks.size - blocks.size % 2
        blocks = 0.5 * (blocks[0:usable:2] + blocks[1:usable:2])
    return mean, max(errors) if errors else float(series.std(ddof=1) / np.sqrt(series.size))


def displacements(frames: Sequence[Atoms]) -> np.ndarray:
    """Displacement of every atom from the first frame, unwrapped, in Å.

    Each step's fractional displacement is wrapped to the nearest image and converted with
    that frame's cell (so NPT runs work), then the steps are summed; an atom must move less
    than half a cell between frames.

    Returns:
        Array of shape (n_atoms, n_frames, 3); ``[:, 0]`` is zero.
    """
    _check_trajectory(frames, minimum=1)
    scaled = np.array([frame.get_scaled_positions(wrap=False) for frame in frames])
    cells = np.array([frame.cell.array for frame in frames])
    steps = np.diff(scaled, axis=0)
    periodic = np.asarray(frames[0].pbc, dtype=bool)
    steps[..., periodic] -= np.round(steps[..., periodic])
    cartesian = np.einsum("tnj,tjk->tnk", steps, cells[1:])
    path = np.concatenate([np.zeros((1, *scaled.shape[1:])), np.cumsum(cartesian, axis=0)])
    return np.transpose(path, (1, 0, 2))


@dataclass(frozen=True)
class Diffusion:
    """Diffusivity of one species in one run.

    Attributes:
        species: Element symbol of the diffusing atoms.
        temperature_K: Temperature of the run, in K.
        diffusivity_cm2_s: Tracer diffusivity D, in cm²/s.
        diffusivity_err_cm2_s: Standard error of D, in cm²/s: the larger of the fit's and
            the block estimate's (the fit alone ignores that MSD points are correlated).
        fit_err_cm2_s: Standard error of the weighted MSD fit (pymatgen), in cm²/s.
        block_err_cm2_s: Standard error of the mean of D over ``blocks_used`` consecutive
            parts of the run, in cm²/s; ``None`` when even halves are shorter than 2
            ``min_lag_ps``.
        blocks_used: Number of parts behind ``block_err_cm2_s``: the most, up to the
            ``blocks`` asked for, that are each at least 2 ``min_lag_ps`` long (``None``:
            the run is too short for two).
        lag_ps: Lag times of the fitted MSD, in ps, shape (n_lags,).
        msd_A2: Mean-square displacement at those lags, in Å², shape (n_lags,).
        max_framework_displacement_A: Largest displacement of a non-diffusing atom, in Å
            (a large value means the framework melted).
    """

    species: str
    temperature_K: float
    diffusivity_cm2_s: float
    diffusivity_err_cm2_s: float
    fit_err_cm2_s: float
    block_err_cm2_s: float | None
    blocks_used: int | None
    lag_ps: np.ndarray
    msd_A2: np.ndarray
    max_framework_displacement_A: float


def _analyzer(
    frames: Sequence[Atoms], species: str, temperature_K: float, steps_per_frame: float
) -> Any:
    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer
    from pymatgen.io.ase import AseAtomsAdaptor

    return DiffusionAnalyzer(
        AseAtomsAdaptor.get_structure(frames[0]),
        displacements(frames),
        species,
        temperature_K,
        time_step=steps_per_frame,  # type: ignore[arg-type]  # pymatgen takes fs, a float
        step_skip=1,
        smoothed="max",
    )


def _block_count(
    num_frames: int, frame_interval_fs: float, min_lag_ps: float, most: int
) -> int | None:
    """The most parts (2 to ``most``) of a run that each span 2 ``min_lag_ps``, or ``None``."""
    for count in range(most, 1, -1):
        if (num_frames // count - 1) * frame_interval_fs / 1000.0 >= 2 * min_lag_ps:
            return count
    return None


def diffusivity(
    frames: Sequence[Atoms],
    species: str,
    temperature_K: float,
    frame_interval_fs: float,
    min_lag_ps: float = 1.0,
    blocks: int = 4,
) -> Diffusion:
    """Tracer diffusivity of ``species`` from a trajectory (pymatgen's ``DiffusionAnalyzer``).

    Args:
        frames: The trajectory, at least a few ``min_lag_ps`` long.
        species: Element symbol of the diffusing atoms, e.g. ``"Li"``.
        temperature_K: Temperature of the run, in K (recorded, and used by pymatgen for
            the conductivity it also computes).
        frame_interval_fs: Time between frames, in fs.
        min_lag_ps: Shortest lag in the fit, in ps.
        blocks: Most consecutive parts of the run whose D values give the block error
            (>= 2); fewer are used when parts this short could not hold 2 ``min_lag_ps``.

    Raises:
        ValueError: If the species is absent or the run is too short for the fit.
    """
    _check_trajectory(frames)
    if species not in frames[0].get_chemical_symbols():
        raise ValueError(f"no {species} atoms in the trajectory")
    if not frame_interval_fs > 0 or not min_lag_ps > 0 or blocks < 2:
        raise ValueError("frame_interval_fs and min_lag_ps must be positive and blocks >= 2")
    # pymatgen starts the fit at a lag of 1000 of its time units, which it takes as fs:
    # give it time in units of min_lag_ps / 1000 and scale its D (cm²/s) back.
    time_unit_fs = min_lag_ps
    steps_per_frame = frame_interval_fs / time_unit_fs
    span_ps = (len(frames) - 1) * frame_interval_fs / 1000.0
    try:
        analyzer = _analyzer(frames, species, temperature_K, steps_per_frame)
    except ValueError as error:
        count = frames[0].get_chemical_symbols().count(species)
        raise ValueError(
            f"a {span_ps:.2f} ps trajectory of {count} {species} atoms is too short to fit D "
            f"from {min_lag_ps} ps lags (pymatgen wants every lag seen 30 times: the longest "
            f"lag is {count} atoms x the run / 30); run longer, on a larger cell, or lower "
            "min_lag_ps"
        ) from error
    fit_err = float(analyzer.diffusivity_std_dev) / time_unit_fs
    block_err = None
    used = _block_count(len(frames), frame_interval_fs, min_lag_ps, blocks)
    if used is not None:
        size = len(frames) // used
        values = [
            _analyzer(
                frames[k * size : (k + 1) * size], species, temperature_K, steps_per_frame
            ).diffusivity
            for k in range(used)
        ]
        block_err = float(np.std(values, ddof=1) / np.sqrt(used)) / time_unit_fs
    return Diffusion(
        species=species,
        temperature_K=float(temperature_K),
        diffusivity_cm2_s=float(analyzer.diffusivity) / time_unit_fs,
        diffusivity_err_cm2_s=max(fit_err, block_err or 0.0),
        fit_err_cm2_s=fit_err,
        block_err_cm2_s=block_err,
        blocks_used=used,
        lag_ps=np.asarray(analyzer.dt, dtype=float) * time_unit_fs / 1000.0,
        msd_A2=np.asarray(analyzer.msd, dtype=float),
        max_framework_displacement_A=float(analyzer.max_framework_displacement),
    )


@dataclass(frozen=True)
class ArrheniusFit:
    """Fit of ln D = ln D₀ - E_a / (k_B T) by weighted least squares in 1/T.

    Attributes:
        activation_energy_eV: E_a, in eV.
        activation_energy_err_eV: Standard error of E_a, in eV (0 for two points).
        prefactor_cm2_s: D₀, in cm²/s.
        covariance: Covariance of (slope, intercept) of ln D against 1/T, shape (2, 2).
    """

    activation_energy_eV: float
    activation_energy_err_eV: float
    prefactor_cm2_s: float
    covariance: np.ndarray

    def diffusivity_at(self, temperature_K: float) -> tuple[float, float]:
        """Extrapolated ``(D, standard error)`` at ``temperature_K``, in cm²/s."""
        slope = -self.activation_energy_eV / BOLTZMANN_EV_PER_K
        design = np.array([1.0 / temperature_K, 1.0])
        log_d = slope * design[0] + np.log(self.prefactor_cm2_s)
        log_err = float(np.sqrt(max(design @ self.covariance @ design, 0.0)))
        value = float(np.exp(log_d))
        return value, value * log_err


def fit_arrhenius(
    temperatures_K: Sequence[float],
    diffusivities_cm2_s: Sequence[float],
    errors_cm2_s: Sequence[float] | None = None,
) -> ArrheniusFit:
    """Arrhenius fit of diffusivities, weighted by their relative errors when given.

    Args:
        temperatures_K: At least two distinct temperatures, in K.
        diffusivities_cm2_s: Positive diffusivities, in cm²/s.
        errors_cm2_s: Their standard errors, in cm²/s (weights 1/σ_lnD = D/σ_D).

    Raises:
        ValueError: For fewer than two points, non-positive D, or mismatched lengths.
    """
    temps = np.asarray(temperatures_K, dtype=float)
    values = np.asarray(diffusivities_cm2_s, dtype=float)
    if temps.shape != values.shape or temps.ndim != 1:
        raise ValueError("temperatures and diffusivities must be 1D and of equal length")
    if len(np.unique(temps)) < 2:
        raise ValueError("an Arrhenius fit needs at least two distinct temperatures")
    if not np.all(values > 0) or not np.all(temps > 0):
        raise ValueError(f"an Arrhenius fit needs positive T and D, got D = {values.tolist()}")
    weights = None
    if errors_cm2_s is not None:
        errors = np.asarray(errors_cm2_s, dtype=float)
        weights = values / np.maximum(errors, 1e-3 * values)
    x, y = 1.0 / temps, np.log(values)
    if len(temps) > 2:
        scaling = "unscaled" if weights is not None else True
        (slope, intercept), cov = np.polyfit(x, y, 1, w=weights, cov=scaling)  # type: ignore[call-overload]
    else:
        slope, intercept = np.polyfit(x, y, 1)
        cov = np.zeros((2, 2))
    return ArrheniusFit(
        activation_energy_eV=float(-slope * BOLTZMANN_EV_PER_K),
        activation_energy_err_eV=float(np.sqrt(cov[0, 0]) * BOLTZMANN_EV_PER_K),
        prefactor_cm2_s=float(np.exp(intercept)),
        covariance=np.asarray(cov, dtype=float),
    )


def radial_distribution(
    frames: Sequence[Atoms],
    r_max_A: float,
    n_bins: int = 100,
    elements: tuple[str, str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Radial distribution function g(r) averaged over frames (ASE's ``get_rdf``).

    Args:
        frames: Periodic frames; ``r_max_A`` must be below half the smallest cell height.
        r_max_A: Largest distance, in Å.
        n_bins: Number of bins.
        elements: A pair of element symbols for a partial g(r), or ``None`` for all atoms.

    Returns:
        ``(r, g)``: bin centres in Å and g(r), each of shape (n_bins,).
    """
    from ase.data import atomic_numbers
    from ase.geometry.rdf import get_rdf

    _check_trajectory(frames, minimum=1)
    pair = None if elements is None else tuple(atomic_numbers[e] for e in elements)
    total, distances = np.zeros(n_bins), np.zeros(n_bins)
    for frame in frames:
        heights = frame.cell.volume / np.linalg.norm(
            np.cross(frame.cell[[1, 2, 0]], frame.cell[[2, 0, 1]]), axis=1
        )
        if r_max_A >= heights.min() / 2:
            raise ValueError(
                f"r_max {r_max_A} Å must be below half the smallest cell height "
                f"({heights.min() / 2:.3f} Å); use a larger cell"
            )
        g, distances = get_rdf(frame, r_max_A, n_bins, elements=pair)
        total += g
    return np.asarray(distances), total / len(frames)
