"""MD observables on synthetic trajectories with known answers."""

import importlib.util

import numpy as np
import pytest
from ase import Atoms
from ase.units import kB

from nanomlip.md.observables import (
    block_average,
    density_series,
    diffusivity,
    displacements,
    fit_arrhenius,
    radial_distribution,
)

#: The diffusivity comes from pymatgen-analysis-diffusion (the `electrolytes` extra).
needs_diffusion = pytest.mark.skipif(
    importlib.util.find_spec("pymatgen.analysis.diffusion") is None,
    reason="needs pymatgen-analysis-diffusion (pip install 'nanomlip[electrolytes]')",
)


def _random_walk(d_cm2_s: float, frames: int, interval_fs: float, seed: int = 0) -> list[Atoms]:
    """64 Li walkers (Gaussian steps of variance 2 D dt per axis) among 64 fixed O, wrapped."""
    rng = np.random.default_rng(seed)
    length = 12.0
    sigma = np.sqrt(2 * d_cm2_s * 1e16 * interval_fs * 1e-15)  # Å per axis per frame
    li = rng.uniform(0, length, (64, 3))
    oxygen = rng.uniform(0, length, (64, 3))
    steps = rng.normal(0.0, sigma, (frames - 1, 64, 3))
    paths = np.concatenate([li[None], li[None] + np.cumsum(steps, axis=0)])
    trajectory = []
    for positions in paths:
        atoms = Atoms(
            "Li64O64", positions=np.vstack([positions, oxygen]), cell=[length] * 3, pbc=True
        )
        atoms.wrap()
        trajectory.append(atoms)
    return trajectory


@needs_diffusion
def test_random_walk_gives_its_diffusivity_with_an_honest_error():
    true_d = 1e-5  # cm²/s
    result = diffusivity(_random_walk(true_d, 600, 10.0), "Li", 600.0, frame_interval_fs=10.0)
    assert result.diffusivity_cm2_s == pytest.approx(true_d, rel=0.15)
    assert 0 < result.diffusivity_err_cm2_s < 0.2 * true_d
    assert result.lag_ps[0] == pytest.approx(1.0, abs=0.02)
    slope = np.polyfit(result.lag_ps * 1e-12, result.msd_A2 * 1e-16, 1)[0]
    assert slope / 6 == pytest.approx(true_d, rel=0.15)
    # 4 or 3 parts of 1.5-2 ps are shorter than 2 x 1 ps lags: the block error uses halves
    assert result.blocks_used == 2
    assert result.block_err_cm2_s is not None


@needs_diffusion
def test_a_run_too_short_for_two_blocks_reports_the_fit_error_alone():
    result = diffusivity(_random_walk(1e-5, 350, 10.0), "Li", 600.0, frame_interval_fs=10.0)
    assert result.blocks_used is None and result.block_err_cm2_s is None
    assert result.diffusivity_err_cm2_s == result.fit_err_cm2_s


@needs_diffusion
def test_block_error_is_larger_than_the_fit_error_and_covers_the_truth():
    true_d = 1e-5
    frames = _random_walk(true_d, 600, 10.0, seed=4)
    result = diffusivity(frames, "Li", 600.0, frame_interval_fs=10.0, min_lag_ps=0.2)
    assert result.block_err_cm2_s is not None
    assert result.block_err_cm2_s > result.fit_err_cm2_s
    assert result.diffusivity_err_cm2_s == result.block_err_cm2_s
    assert abs(result.diffusivity_cm2_s - true_d) < 4 * result.diffusivity_err_cm2_s


def test_unwrapping_follows_atoms_across_the_boundary():
    frames = _random_walk(1e-4, 50, 10.0, seed=2)
    moved = displacements(frames)
    wrapped_jump = np.abs(np.diff([f.positions for f in frames], axis=0)).max()
    assert wrapped_jump > 6.0  # some atom crossed the boundary
    assert np.abs(np.diff(moved, axis=1)).max() < 2.0
    np.testing.assert_allclose(moved[64:], 0.0, atol=1e-9)  # the O atoms stand still


@needs_diffusion
def test_too_short_a_run_and_absent_species_are_clear_errors():
    frames = _random_walk(1e-5, 30, 10.0)
    with pytest.raises(ValueError, match="too short"):
        diffusivity(frames, "Li", 300.0, frame_interval_fs=10.0)
    with pytest.raises(ValueError, match="no Na"):
        diffusivity(frames, "Na", 300.0, frame_interval_fs=10.0)


def test_arrhenius_fit_recovers_the_activation_energy_and_extrapolates():
    temps = np.array([500.0, 700.0, 900.0, 1100.0])
    ea, d0 = 0.3, 1e-3
    d = d0 * np.exp(-ea / (kB * temps))
    noisy = d * np.exp(np.random.default_rng(0).normal(0, 0.05, temps.size))
    fit = fit_arrhenius(temps, noisy, errors_cm2_s=0.05 * noisy)
    assert fit.activation_energy_eV == pytest.approx(ea, abs=3 * fit.activation_energy_err_eV)
    assert 0 < fit.activation_energy_err_eV < 0.05
    d300, err300 = fit.diffusivity_at(300.0)
    assert d300 == pytest.approx(d0 * np.exp(-ea / (kB * 300)), rel=3 * err300 / d300)
    exact = fit_arrhenius(temps, d)
    assert exact.activation_energy_eV == pytest.approx(ea, rel=1e-9)
    assert exact.prefactor_cm2_s == pytest.approx(d0, rel=1e-9)


@needs_diffusion
def test_arrhenius_agrees_with_pymatgen():
    from pymatgen.analysis.diffusion.analyzer import fit_arrhenius as pymatgen_fit

    temps, d = [600.0, 800.0, 1000.0], [1e-7, 2e-6, 1.5e-5]
    ea, _, _ = pymatgen_fit(temps, d)
    assert fit_arrhenius(temps, d).activation_energy_eV == pytest.approx(ea, rel=1e-6)


@pytest.mark.parametrize(
    ("temps", "d", "message"),
    [([500.0], [1e-5], "two distinct"), ([500.0, 600.0], [1e-5, -1.0], "positive")],
)
def test_bad_arrhenius_input(temps, d, message):
    with pytest.raises(ValueError, match=message):
        fit_arrhenius(temps, d)


def _ideal_gas(count: int, length: float, seed: int) -> Atoms:
    rng = np.random.default_rng(seed)
    return Atoms(
        f"Ar{count}", positions=rng.uniform(0, length, (count, 3)), cell=[length] * 3, pbc=True
    )


def test_ideal_gas_density_and_flat_rdf():
    frames = [_ideal_gas(400, 20.0, seed) for seed in range(20)]
    expected = 400 * 39.948 * 1.66053907e-24 / (20.0e-8) ** 3
    rho = density_series(frames)
    np.testing.assert_allclose(rho, expected, rtol=1e-4)
    r, g = radial_distribution(frames, r_max_A=9.0, n_bins=30)
    assert r.shape == g.shape == (30,)
    assert np.abs(g[5:].mean() - 1.0) < 0.03


def test_rdf_radius_beyond_half_the_cell_is_an_error():
    with pytest.raises(ValueError, match="half the smallest cell height"):
        radial_distribution([_ideal_gas(10, 10.0, 0)], r_max_A=6.0)


def test_block_average_error_grows_with_correlation():
    rng = np.random.default_rng(1)
    white = rng.normal(0.0, 1.0, 4096)
    mean, error = block_average(white)
    assert abs(mean) < 4 * error
    assert error == pytest.approx(1 / 64, rel=0.35)
    correlated = np.repeat(rng.normal(0.0, 1.0, 256), 16)  # correlation length 16
    _, correlated_error = block_average(correlated)
    assert correlated_error == pytest.approx(1 / 16, rel=0.35)
    with pytest.raises(ValueError, match="1D series"):
        block_average([1.0])
