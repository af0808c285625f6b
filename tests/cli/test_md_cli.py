import csv
import json

import numpy as np
import pytest
from ase.build import bulk
from ase.io import read, write

import nanomlip
from nanomlip._defaults import DEFAULT_MODEL
from nanomlip.cli.main import main
from nanomlip.integrations.ase_calculator import NanoCalculator

COLUMNS = [
    "step",
    "time_ps",
    "temperature_K",
    "pressure_GPa",
    "epot_eV",
    "etot_eV",
    "volume_A3",
    "density_g_cm3",
]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.safetensors"
    return nanomlip.save_checkpoint(nanomlip.build_model("nano-xs"), path)


@pytest.fixture
def si8(tmp_path):
    path = tmp_path / "si8.cif"
    write(path, bulk("Si", "diamond", a=5.43, cubic=True))
    return path


def md(structure, checkpoint, *extra):
    args = ["md", str(structure), "--model", str(checkpoint), "--no-progress"]
    return main(args + [str(e) for e in extra])


def thermo(out_dir):
    with open(out_dir / "thermo.csv", newline="") as file:
        return list(csv.DictReader(file))


def frame_steps(path):
    return [int(f.info["step"]) for f in read(path, ":")]


@pytest.mark.parametrize(
    "ensemble",
    ["nve", "nvt-langevin", "nvt-nose-hoover", "npt-mtk", "npt-berendsen", "npt-mtk --anisotropic"],
)
def test_each_ensemble_runs_and_writes_files(tmp_path, si8, checkpoint, capsys, ensemble):
    name, *flags = ensemble.split()
    out = tmp_path / "run"
    code = md(
        si8,
        checkpoint,
        "--ensemble",
        name,
        *flags,
        "--steps",
        4,
        "--traj-every",
        2,
        "--log-every",
        1,
        "--timestep",
        0.5,
        "--out-dir",
        out,
    )
    assert code == 0
    summary = capsys.readouterr().out
    assert "4 steps" in summary and "ns/day" in summary
    assert ("energy drift" in summary) == (name == "nve")
    rows = thermo(out)
    assert list(rows[0]) == COLUMNS
    assert [int(r["step"]) for r in rows] == [0, 1, 2, 3, 4]
    assert float(rows[2]["time_ps"]) == pytest.approx(0.001)
    assert all(r["pressure_GPa"] and float(r["density_g_cm3"]) > 2 for r in rows)
    assert frame_steps(out / "trajectory.extxyz") == [0, 2, 4]


def test_default_out_dir_traj_format_and_progress_bar(tmp_path, si8, checkpoint, capsys):
    args = ["md", str(si8), "--model", str(checkpoint), "--steps", "2", "--traj-format", "traj"]
    assert main(args) == 0
    assert "ns_day" in capsys.readouterr().err  # tqdm postfix
    assert frame_steps(tmp_path / "si8_md" / "trajectory.traj") == [0, 2]


def test_same_seed_reproduces_the_run(tmp_path, si8, checkpoint):
    for name, seed in [("a", 5), ("b", 5), ("c", 6)]:
        common = ["--steps", 3, "--log-every", 1, "--out-dir", tmp_path / name]
        assert md(si8, checkpoint, "--seed", seed, *common) == 0
    text = {name: (tmp_path / name / "thermo.csv").read_text() for name in "abc"}
    assert text["a"] == text["b"] != text["c"]
    frames = [read(tmp_path / name / "trajectory.extxyz") for name in "ab"]
    np.testing.assert_array_equal(frames[0].get_momenta(), frames[1].get_momenta())


@pytest.fixture
def nan_after(monkeypatch):
    """Make every NanoCalculator return NaN forces from its n-th calculation on."""
    state = {"n": 10**9, "calls": 0}
    original = NanoCalculator.calculate

    def calculate(self, *args, **kwargs):
        original(self, *args, **kwargs)
        state["calls"] += 1
        if state["calls"] >= state["n"]:
            self.results["forces"] = self.results["forces"] * np.nan

    monkeypatch.setattr(NanoCalculator, "calculate", calculate)
    return state


def test_non_finite_stop_keeps_output_and_restart_continues(
    tmp_path, si8, checkpoint, capsys, nan_after
):
    out = tmp_path / "run"
    options = ["--ensemble", "nve", "--steps", 12, "--traj-every", 3, "--log-every", 1]
    options += ["--out-dir", out, "--timestep", 0.5]
    nan_after["n"] = 9  # calculation 1 is step 0, so step 8 turns NaN
    assert md(si8, checkpoint, *options) == 1
    error = capsys.readouterr().err
    assert "step 8" in error and "forces are not finite" in error and "step 6" in error
    assert frame_steps(out / "trajectory.extxyz") == [0, 3, 6]
    assert [int(r["step"]) for r in thermo(out)] == list(range(8))

    nan_after["n"] = 10**9
    assert md(si8, checkpoint, *options, "--restart") == 0
    assert "step 6 → 12" in capsys.readouterr().out
    assert frame_steps(out / "trajectory.extxyz") == [0, 3, 6, 9, 12]
    rows = thermo(out)
    assert [int(r["step"]) for r in rows] == list(range(13))
    times = [float(r["time_ps"]) for r in rows]
    np.testing.assert_allclose(times, np.arange(13) * 0.0005)


def test_restart_of_a_finished_run_extends_it(tmp_path, si8, checkpoint):
    out = tmp_path / "run"
    common = ["--ensemble", "npt-berendsen", "--traj-every", 2, "--log-every", 2]
    assert md(si8, checkpoint, *common, "--steps", 4, "--out-dir", out) == 0
    assert md(si8, checkpoint, *common, "--steps", 8, "--out-dir", out, "--restart") == 0
    assert [int(r["step"]) for r in thermo(out)] == [0, 2, 4, 6, 8]
    assert frame_steps(out / "trajectory.extxyz") == [0, 2, 4, 6, 8]


def test_temperature_explosion_stops_with_clear_error(tmp_path, si8, checkpoint, capsys):
    out = tmp_path / "run"
    code = md(
        si8,
        checkpoint,
        "--temperature",
        300,
        "--max-temperature",
        305,
        "--friction",
        1000,
        "--steps",
        50,
        "--log-every",
        1,
        "--out-dir",
        out,
    )
    assert code == 1
    error = capsys.readouterr().err
    assert error.startswith("nanomlip md: error: step ")
    assert "exceeds the limit 305.0 K" in error
    assert len(thermo(out)) >= 1  # rows written before the stop are kept


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--ensemble", "npx"], "unknown ensemble 'npx'"),
        (["--timestep", "-1"], "timestep must be positive"),
        (["--anisotropic"], "only to NPT"),
        (["--traj-every", "0"], "traj_every must be >= 1"),
    ],
)
def test_bad_options_are_clear_errors(si8, checkpoint, capsys, extra, message):
    assert md(si8, checkpoint, *extra) == 2
    error = capsys.readouterr().err
    assert error.startswith("nanomlip md: error:") and message in error


def test_missing_file_restart_and_default_model_errors(tmp_path, si8, checkpoint, capsys):
    assert md(tmp_path / "none.cif", checkpoint) == 2
    assert "does not exist" in capsys.readouterr().err
    assert md(si8, checkpoint, "--restart", "--out-dir", tmp_path / "empty") == 2
    assert "cannot restart" in capsys.readouterr().err
    out = tmp_path / "default"
    assert main(["md", str(si8), "--steps", "1", "--no-progress", "--out-dir", str(out)]) == 0
    assert (out / "thermo.csv").is_file()  # the shipped default model ran
    record = json.loads((out / "run.json").read_text())
    assert record["segments"][0]["model"] == DEFAULT_MODEL  # its name, not "default"


def test_untrained_preset_is_announced(tmp_path, si8, capsys):
    args = ["md", str(si8), "--preset", "nano-xs", "--steps", "1", "--no-progress"]
    assert main(args + ["--out-dir", str(tmp_path / "p")]) == 0
    assert "UNTRAINED nano-xs" in capsys.readouterr().out


def test_supercell_option_repeats_the_structure(tmp_path, si8, checkpoint):
    out = tmp_path / "run"
    code = md(
        si8,
        checkpoint,
        "--supercell",
        "2x1x1",
        "--steps",
        2,
        "--log-every",
        1,
        "--traj-every",
        1,
        "--out-dir",
        out,
    )
    assert code == 0
    frames = read(out / "trajectory.extxyz", ":")
    assert len(frames[0]) == 16


def test_bad_supercell_is_a_clear_error(tmp_path, si8, checkpoint, capsys):
    code = md(si8, checkpoint, "--supercell", "2x0x1", "--steps", 2, "--out-dir", tmp_path / "r")
    assert code != 0
    assert "NxMxK" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_failed_run_keeps_the_previous_run(tmp_path, si8, checkpoint, capsys):
    out = tmp_path / "keep"
    assert md(si8, checkpoint, "--steps", 2, "--out-dir", out) == 0
    before = _files(out)
    bad = tmp_path / "nan.extxyz"
    atoms = read(si8)
    atoms.positions[0] = np.nan
    write(bad, atoms)
    for extra in ([], ["--overwrite"]):
        capsys.readouterr()
        assert md(bad, checkpoint, "--steps", 2, "--out-dir", out, *extra) == 2
    assert "NaN" in capsys.readouterr().err
    assert _files(out) == before


def test_a_second_run_refuses_a_full_folder_until_overwrite(tmp_path, si8, checkpoint, capsys):
    out = tmp_path / "run"
    assert md(si8, checkpoint, "--steps", 2, "--out-dir", out) == 0
    before = _files(out)
    capsys.readouterr()
    assert md(si8, checkpoint, "--steps", 4, "--out-dir", out) == 2
    error = capsys.readouterr().err
    assert "is not empty" in error and "--overwrite" in error and "--restart" in error
    assert _files(out) == before
    assert md(si8, checkpoint, "--steps", 4, "--out-dir", out, "--overwrite") == 0
    assert frame_steps(out / "trajectory.extxyz") == [0, 4]
    assert md(si8, checkpoint, "--out-dir", out, "--overwrite", "--restart") == 2


def test_a_start_that_fails_in_the_first_evaluation_keeps_old_output(
    tmp_path, si8, checkpoint, nan_after
):
    out = tmp_path / "run"
    assert md(si8, checkpoint, "--steps", 2, "--out-dir", out) == 0
    before = _files(out)
    nan_after["n"] = nan_after["calls"] + 1  # the very next evaluation is NaN
    assert md(si8, checkpoint, "--steps", 2, "--out-dir", out, "--overwrite") == 1
    assert _files(out) == before


def test_restart_refuses_another_input_file(tmp_path, si8, checkpoint, capsys):
    out = tmp_path / "run"
    assert md(si8, checkpoint, "--steps", 2, "--out-dir", out) == 0
    other = tmp_path / "other.cif"
    write(other, bulk("Si", "diamond", a=5.5, cubic=True))
    before = _files(out)
    assert md(other, checkpoint, "--steps", 4, "--out-dir", out, "--restart") == 2
    assert "different file" in capsys.readouterr().err
    assert md(si8, checkpoint, "--steps", 4, "--out-dir", out, "--restart", "--supercell", 2) == 2
    assert "supercell" in capsys.readouterr().err
    assert _files(out) == before


def test_nve_after_nvt_announces_the_switch_and_fits_drift_to_nve_rows(
    tmp_path, si8, checkpoint, capsys, monkeypatch
):
    import nanomlip.md.dynamics as dynamics

    fitted = []
    original = dynamics.energy_drift

    def energy_drift(times, energies, num_atoms):
        fitted.append(list(times))
        return original(times, energies, num_atoms)

    monkeypatch.setattr(dynamics, "energy_drift", energy_drift)
    out = tmp_path / "run"
    common = ["--log-every", 1, "--out-dir", out, "--timestep", 0.5]
    assert md(si8, checkpoint, "--steps", 4, *common) == 0
    capsys.readouterr()
    assert md(si8, checkpoint, "--ensemble", "nve", "--steps", 8, *common, "--restart") == 0
    printed = capsys.readouterr().out
    assert "ensemble changes from nvt-langevin to nve at step 4" in printed
    assert "energy drift" in printed
    np.testing.assert_allclose(fitted[-1], np.arange(4, 9) * 0.0005)  # NVE rows only
    assert md(si8, checkpoint, "--ensemble", "nve", "--steps", 10, *common, "--restart") == 0
    np.testing.assert_allclose(fitted[-1], np.arange(4, 11) * 0.0005)  # same settings: merged


def test_summary_gives_steady_state_beside_overall(tmp_path, si8, checkpoint, capsys):
    assert md(si8, checkpoint, "--steps", 5, "--out-dir", tmp_path / "r") == 0
    summary = capsys.readouterr().out
    assert "ns/day overall" in summary and "ns/day steady-state" in summary
