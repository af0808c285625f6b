import csv

import numpy as np
import pytest
from ase import units
from ase.build import bulk, molecule
from ase.calculators.emt import EMT
from ase.io import read

from nanomlip.md import (
    ENSEMBLES,
    THERMO_COLUMNS,
    MDConfig,
    SimulationError,
    density_g_cm3,
    energy_drift,
    initialize_velocities,
    load_restart,
    pressure_GPa,
    read_thermo_log,
    run_md,
    thermo_row,
)
from nanomlip.testing import nan_after_emt


def cu(repeat=(2, 1, 1)):
    return bulk("Cu", "fcc", a=3.61, cubic=True).repeat(repeat)


def rows(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def NaNAfter(n):  # noqa: N802 - reads like the class it stands for
    return nan_after_emt(n, nan_energy=True)


def test_initial_velocities_are_exact_reproducible_and_drift_free():
    a, b = cu(), cu()
    initialize_velocities(a, 500.0, np.random.default_rng(3))
    initialize_velocities(b, 500.0, np.random.default_rng(3))
    np.testing.assert_array_equal(a.get_momenta(), b.get_momenta())
    assert a.get_temperature() == pytest.approx(500.0)
    np.testing.assert_allclose(a.get_momenta().sum(axis=0), 0.0, atol=1e-12)


def test_pressure_includes_the_kinetic_part_and_density_is_right():
    atoms = cu()
    atoms.calc = EMT()
    initialize_velocities(atoms, 300.0, np.random.default_rng(0))
    ase_pressure = -np.trace(atoms.get_stress(voigt=False, include_ideal_gas=True)) / 3
    assert pressure_GPa(atoms) == pytest.approx(ase_pressure / units.GPa, rel=1e-10)
    assert density_g_cm3(atoms) == pytest.approx(8.96, abs=0.05)  # copper


def test_non_periodic_rows_leave_pressure_volume_density_empty(tmp_path):
    water = molecule("H2O")
    water.calc = EMT()
    row = thermo_row(water, 0, 0.0)
    assert row.pressure_GPa is None and row.volume_A3 is None and row.density_g_cm3 is None
    config = MDConfig(ensemble="nvt-langevin", steps=4, traj_every=2, log_every=2)
    run_md(molecule("CH4"), config, tmp_path, calculator=EMT())
    table = rows(tmp_path / "thermo.csv")
    assert [r["pressure_GPa"] for r in table] == ["", "", ""]
    assert all(float(r["temperature_K"]) > 0 for r in table)


def test_energy_drift_is_the_slope_per_atom_in_meV():
    t = np.linspace(0, 2, 11)
    assert energy_drift(t, 5.0 + 0.004 * t, num_atoms=4) == pytest.approx(1.0)
    assert np.isnan(energy_drift([0.0], [1.0], 4))


def test_nve_with_emt_conserves_energy(tmp_path):
    config = MDConfig(
        ensemble="nve", temperature_K=300, timestep_fs=2.0, steps=300, log_every=5, seed=1
    )
    result = run_md(cu((2, 2, 1)), config, tmp_path, calculator=EMT())
    etot = np.array([r.etot_eV for r in read_thermo_log(result.thermo)])
    assert len(etot) == 61
    assert np.ptp(etot) / len(result.atoms) < 5e-4  # eV/atom over 0.6 ps
    assert abs(result.energy_drift_meV_atom_ps) < 0.5
    assert result.steps_run == 300 and result.ns_per_day > 0


@pytest.mark.parametrize("ensemble", ENSEMBLES)
def test_every_ensemble_runs_and_writes_files(tmp_path, ensemble):
    config = MDConfig(ensemble=ensemble, steps=6, traj_every=3, log_every=2, pressure_GPa=1.0)
    result = run_md(cu(), config, tmp_path, calculator=EMT())
    assert result.last_step == 6
    frames = read(result.trajectory, ":")
    assert [f.info["step"] for f in frames] == [0, 3, 6]
    table = rows(result.thermo)
    assert tuple(table[0]) == THERMO_COLUMNS
    assert [int(r["step"]) for r in table] == [0, 2, 4, 6]
    assert all(r["pressure_GPa"] and r["density_g_cm3"] for r in table)
    assert (result.energy_drift_meV_atom_ps is None) == (ensemble != "nve")


@pytest.mark.parametrize("ensemble", ["npt-mtk", "npt-berendsen"])
def test_anisotropic_npt_changes_cell_vectors_independently(tmp_path, ensemble):
    atoms = cu()
    config = MDConfig(
        ensemble=ensemble, anisotropic=True, steps=20, pressure_GPa=5.0, pdamp_fs=50, seed=2
    )
    run_md(atoms, config, tmp_path, calculator=EMT())
    lengths = atoms.cell.lengths()
    assert not np.allclose(lengths / lengths[0], [1.0, 0.5, 0.5], rtol=1e-6)


def test_same_seed_same_run_other_seed_other_run(tmp_path):
    def thermo(seed, name):
        config = MDConfig(ensemble="nvt-langevin", steps=10, log_every=1, seed=seed)
        return (run_md(cu(), config, tmp_path / name, calculator=EMT()).thermo).read_text()

    assert thermo(7, "a") == thermo(7, "b")
    assert thermo(7, "a") != thermo(8, "c")


def test_non_finite_forces_stop_and_keep_earlier_output(tmp_path):
    config = MDConfig(ensemble="nve", steps=50, traj_every=4, log_every=1)
    with pytest.raises(SimulationError, match=r"step 9 .*potential energy is nan") as error:
        run_md(cu(), config, tmp_path, calculator=NaNAfter(10))  # call 1 is step 0
    assert "last frame written (step 8)" in str(error.value)
    assert [f.info["step"] for f in read(tmp_path / "trajectory.extxyz", ":")] == [0, 4, 8]
    assert [r.step for r in read_thermo_log(tmp_path / "thermo.csv")] == list(range(9))


def test_runaway_temperature_stops_the_run(tmp_path):
    config = MDConfig(ensemble="nve", temperature_K=300, steps=100, max_temperature_K=600)
    atoms = cu()
    atoms.positions[0] = atoms.positions[1] + [0.9, 0, 0]  # a violent close contact
    with pytest.raises(SimulationError, match=r"step \d+ .*temperature .* exceeds the limit 600"):
        run_md(atoms, config, tmp_path, calculator=EMT())
    assert (tmp_path / "thermo.csv").read_text().startswith("step,time_ps")


def test_restart_continues_without_duplicates(tmp_path):
    config = MDConfig(ensemble="nvt-nose-hoover", steps=20, traj_every=5, log_every=2)
    with pytest.raises(SimulationError):
        run_md(cu(), config, tmp_path, calculator=NaNAfter(14))  # dies at step 13
    atoms, step, time_ps = load_restart(tmp_path)
    assert step == 10 and time_ps == pytest.approx(0.010)
    assert np.abs(atoms.get_momenta()).sum() > 0
    result = run_md(
        atoms, config, tmp_path, calculator=EMT(), start_step=step, start_time_ps=time_ps
    )
    assert result.first_step == 10 and result.last_step == 20
    steps = [r.step for r in read_thermo_log(result.thermo)]
    assert steps == list(range(0, 21, 2))
    frames = read(result.trajectory, ":")
    assert [f.info["step"] for f in frames] == [0, 5, 10, 15, 20]
    assert frames[-1].info["time_ps"] == pytest.approx(0.020)


def test_restart_needs_a_trajectory(tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot restart"):
        load_restart(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ensemble": "nvx"}, "unknown ensemble"),
        ({"timestep_fs": -1.0}, "timestep must be positive"),
        ({"traj_every": 0}, "traj_every"),
        ({"anisotropic": True}, "only to NPT"),
        ({"traj_format": "pdb"}, "trajectory format"),
    ],
)
def test_invalid_settings_are_clear_errors(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        run_md(cu(), MDConfig(**change), tmp_path, calculator=EMT())


def test_npt_of_a_molecule_is_refused(tmp_path):
    with pytest.raises(ValueError, match="periodic"):
        run_md(molecule("CH4"), MDConfig(ensemble="npt-mtk"), tmp_path, calculator=EMT())


def test_traj_format_is_ase_trajectory(tmp_path):
    config = MDConfig(steps=4, traj_every=2, traj_format="traj")
    result = run_md(cu(), config, tmp_path, calculator=EMT())
    assert result.trajectory.name == "trajectory.traj"
    assert [f.info["step"] for f in read(result.trajectory, ":")] == [0, 2, 4]
    atoms, step, _ = load_restart(tmp_path, "traj")
    assert step == 4 and np.abs(atoms.get_momenta()).sum() > 0


def test_parse_supercell_forms():
    from nanomlip.md.io import parse_supercell

    assert parse_supercell("5") == (5, 5, 5)
    assert parse_supercell("4x3X2") == (4, 3, 2)
    for bad in ("", "0", "2x2", "axbxc", "-1x1x1"):
        with pytest.raises(ValueError, match="NxMxK"):
            parse_supercell(bad)


def test_make_supercell_refuses_a_non_periodic_direction():
    from nanomlip.md.io import make_supercell

    water = molecule("H2O")
    assert len(make_supercell(water, "1")) == 3
    assert make_supercell(water, None) is water
    with pytest.raises(ValueError, match="non-periodic"):
        make_supercell(water, "2")
