"""The live trust check: teacher spot checks during MD, logged, warned and stopped."""

from __future__ import annotations

import csv
import io

import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.io import write

import nanomlip
from nanomlip.cli.main import main
from nanomlip.md import MDConfig, run_md
from nanomlip.md.trust import TRUST_COLUMNS, TrustCheck, TrustError
from nanomlip.teachers.spec import load_teacher

EMT_SPEC = "ase:ase.calculators.emt:EMT"


def _thermo(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def _cu():
    return bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)


def _config(steps=10):
    return MDConfig(ensemble="nvt-langevin", temperature_K=300, steps=steps, log_every=4)


def test_checks_are_logged_in_the_thermo_csv(tmp_path):
    trust = TrustCheck(load_teacher(EMT_SPEC), every=5)
    run_md(_cu(), _config(), tmp_path, calculator=EMT(), trust=trust)
    rows = _thermo(tmp_path / "thermo.csv")
    checked = {int(r["step"]): r for r in rows if r[TRUST_COLUMNS[0]] != ""}
    assert sorted(checked) == [0, 5, 10]
    assert all(float(r[TRUST_COLUMNS[0]]) < 1e-6 for r in checked.values())  # same model
    assert [int(r["step"]) for r in rows] == [0, 4, 5, 8, 10]
    assert trust.teacher_calls == 3


def test_the_run_stops_past_the_threshold(tmp_path):
    student = nanomlip.NanoCalculator(model=nanomlip.build_model("nano-xs"))
    trust = TrustCheck(load_teacher(EMT_SPEC), every=3, stop_meV_A=1.0)
    with pytest.raises(TrustError, match="above the stop threshold 1 meV/Å"):
        run_md(_cu(), _config(), tmp_path, calculator=student, trust=trust)
    rows = _thermo(tmp_path / "thermo.csv")
    assert float(rows[0][TRUST_COLUMNS[0]]) < 1.0  # ideal lattice: no force, no error
    assert rows[-1]["step"] == "3"  # the first check past the threshold, logged, then stop
    assert float(rows[-1][TRUST_COLUMNS[0]]) > 1.0
    assert float(rows[-1][TRUST_COLUMNS[1]]) >= float(rows[-1][TRUST_COLUMNS[0]])


def test_a_warning_is_printed_once_per_crossing(tmp_path):
    stream = io.StringIO()
    student = nanomlip.NanoCalculator(model=nanomlip.build_model("nano-xs"))
    trust = TrustCheck(load_teacher(EMT_SPEC), every=2, warn_meV_A=1.0, stream=stream)
    run_md(_cu(), _config(steps=4), tmp_path, calculator=student, trust=trust)
    assert stream.getvalue().count("warning") == 1
    assert len(trust.samples) == 3


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="--check-every"):
        TrustCheck(load_teacher(EMT_SPEC), every=0)


def test_cli_check_every_logs_and_stops(tmp_path, capsys):
    structure = tmp_path / "cu.cif"
    write(structure, _cu())
    model = nanomlip.save_checkpoint(nanomlip.build_model("nano-xs"), tmp_path / "m.safetensors")
    args = ["md", str(structure), "--model", str(model), "--no-progress", "--steps", "6"]
    args += ["--out-dir", str(tmp_path / "run"), "--check-every", "2", "--teacher", EMT_SPEC]
    assert main([*args, "--stop-error", "1"]) == 1
    captured = capsys.readouterr()
    assert "stop threshold" in captured.err
    assert "trust check: 2 teacher calls" in captured.out
    rows = _thermo(tmp_path / "run" / "thermo.csv")
    assert rows[-1]["step"] == "2" and float(rows[-1][TRUST_COLUMNS[0]]) > 1.0
    assert main([*args, "--stop-error", "1e9", "--overwrite"]) == 0
    rows = _thermo(tmp_path / "run" / "thermo.csv")
    assert [r["step"] for r in rows if r[TRUST_COLUMNS[0]]] == ["0", "2", "4", "6"]


def test_cli_check_every_needs_a_teacher(tmp_path, capsys):
    structure = tmp_path / "cu.cif"
    write(structure, _cu())
    assert main(["md", str(structure), "--check-every", "2", "--steps", "1"]) == 2
    assert "--teacher" in capsys.readouterr().err


def test_a_restart_adds_the_trust_columns_to_an_old_log(tmp_path):
    run_md(_cu(), _config(steps=4), tmp_path, calculator=EMT())
    from nanomlip.md import load_restart

    atoms, step, time_ps = load_restart(tmp_path)
    trust = TrustCheck(load_teacher(EMT_SPEC), every=2)
    config = _config(steps=8)
    run_md(
        atoms,
        config,
        tmp_path,
        calculator=EMT(),
        start_step=step,
        start_time_ps=time_ps,
        trust=trust,
    )
    rows = _thermo(tmp_path / "thermo.csv")
    assert [r["step"] for r in rows] == ["0", "4", "6", "8"]
    assert rows[0][TRUST_COLUMNS[0]] == "" and rows[-1][TRUST_COLUMNS[0]] != ""
