import csv

import numpy as np
import pytest
from ase.build import bulk
from ase.io import read, write

import nanomlip
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
