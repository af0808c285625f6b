"""Active selection against the teacher: rounds, stopping rules, resume after kill -9."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.io import read, write

import nanomlip
from nanomlip.distill import selection as S
from nanomlip.distill.specialize import SpecializeOptions, selection_shortfall, specialize
from nanomlip.models.checkpoint import load_checkpoint

EMT_SPEC = "ase:ase.calculators.emt:EMT"


def _cu():
    return bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 2, 1))


def _options(universal, **values) -> SpecializeOptions:
    model, distill = universal
    settings = {
        "teacher": EMT_SPEC,
        "model": str(model),
        "temperatures_K": [300.0, 900.0],
        "md_steps": 30,
        "sample_every": 5,
        "test_frames": 3,
        "select_frames": 4,
        "max_rounds": 1,
        "replay_data": str(distill),
        "forget_frames": 4,
        "train_steps": 20,
        "threshold_meV_A": 0.01,
    }
    return SpecializeOptions(**{**settings, **values})


def test_specialize_runs_end_to_end(universal, tmp_path):
    result = specialize([_cu()], tmp_path / "run", _options(universal))
    rounds = result["rounds"]
    assert [r["round"] for r in rounds] == [0, 1]
    assert rounds[0]["selected_frames"] == 4 and "selected_frames" not in rounds[1]
    assert result["teacher_calls"] == 3 + 4 + 3
    assert result["stopped_by"] == "max_rounds"
    assert result["cpu_minutes"] > 0
    assert result["after_force_mae_meV_A"] == min(r["fresh_force_mae_meV_A"] for r in rounds)
    kept = load_checkpoint(tmp_path / "run" / "model.safetensors")
    assert "specialised" in kept.metadata["notes"]
    card = (tmp_path / "run" / "model.md").read_text()
    assert "fresh F MAE" in card and "teacher calls" in card.lower()
    assert result["speed"]["specialised"]["speedup"] > 0
    labels = sorted(p.name for p in (tmp_path / "run" / "labels").glob("*.extxyz"))
    assert labels == ["round-00-selected.extxyz", "round-00-test.extxyz", "round-01-test.extxyz"]


def test_specialize_stops_at_the_threshold_without_training(universal, tmp_path):
    result = specialize([_cu()], tmp_path / "run", _options(universal, threshold_meV_A=1e6))
    assert result["stopped_by"] == "threshold"
    assert len(result["rounds"]) == 1 and result["teacher_calls"] == 3
    assert not (tmp_path / "run" / "round-00" / "train").exists()


def test_specialize_respects_the_teacher_call_budget(universal, tmp_path):
    options = _options(universal, max_rounds=3, max_teacher_calls=12)
    result = specialize([_cu()], tmp_path / "run", options)
    assert result["stopped_by"] == "max_teacher_calls"
    assert result["teacher_calls"] <= 12
    assert len(result["rounds"]) == 2


def test_a_resumed_run_must_repeat_its_options(universal, tmp_path):
    options = _options(universal, max_rounds=0)
    specialize([_cu()], tmp_path / "run", options)
    with pytest.raises(ValueError, match="md_steps"):
        specialize([_cu()], tmp_path / "run", _options(universal, max_rounds=0, md_steps=40))


@pytest.mark.slow
def test_committee_selection_runs_from_the_second_round(universal, tmp_path):
    options = _options(universal, method="committee", committee_size=2, max_rounds=2, train_steps=8)
    result = specialize([_cu()], tmp_path / "run", options)
    methods = [r.get("selected_by") for r in result["rounds"]]
    assert methods[:2] == ["spot (no committee yet)", "committee"]
    assert len(result["rounds"][0]["committee"]) == 2


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="method must be one of"):
        SpecializeOptions(teacher=EMT_SPEC, method="vibes").validate()


def test_resume_after_kill_minus_nine(universal, tmp_path):
    model, distill = universal
    structure = tmp_path / "cu.cif"
    write(structure, _cu())
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "nanomlip.cli.main", "specialize", str(structure),
        "--teacher", EMT_SPEC, "--out", str(out), "--model", str(model),
        "--replay-data", str(distill), "--temperatures", "300,900", "--md-steps", "30",
        "--sample-every", "5", "--test-frames", "3", "--select-frames", "4",
        "--max-rounds", "1", "--train-steps", "60", "--forget-frames", "4",
        "--threshold", "0.01",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(nanomlip.__file__).parents[1])}
    process = subprocess.Popen(command, start_new_session=True, env=env)
    first_labels = out / "labels" / "round-00-selected.extxyz"
    deadline = time.time() + 120
    while not first_labels.is_file() and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert first_labels.is_file() and not (out / "model.safetensors").exists(), "bad kill time"
    test_labels = (out / "labels" / "round-00-test.extxyz").read_bytes()
    result = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "stopped by max_rounds" in result.stdout
    saved = json.loads((out / "specialize.json").read_text())
    assert saved["finished"] and [r["round"] for r in saved["rounds"]] == [0, 1]
    assert (out / "labels" / "round-00-test.extxyz").read_bytes() == test_labels
    assert saved["teacher_calls"] == 3 + 4 + 3
    phases = json.loads((out / "round-00" / "phases.json").read_text())
    assert set(phases) == {"md", "spot_checks", "selection", "training"}


def test_spot_allocation_follows_the_error():
    take = S.spot_allocation({0: [10.0], 1: [30.0]}, {0: 5, 1: 5}, 4)
    assert sum(take.values()) == 4 and take[1] == 3
    capped = S.spot_allocation({0: [1.0], 1: [100.0]}, {0: 5, 1: 2}, 6)
    assert capped == {0: 4, 1: 2}


def test_spot_selection_skips_the_spot_checks():
    chosen = S.select_spot([0, 0, 0, 1, 1, 1], {0: [5.0], 1: [5.0]}, 4, exclude={2, 5})
    assert len(chosen) == 4 and not {2, 5} & set(chosen)


def test_committee_disagreement_is_zero_for_identical_members():
    atoms = _cu()
    same = [lambda a: np.ones((len(a), 3))] * 2
    assert S.committee_disagreement([atoms], same)[0] == 0
    other = [lambda a: np.zeros((len(a), 3)), lambda a: np.ones((len(a), 3))]
    assert S.committee_disagreement([atoms], other)[0] == pytest.approx(np.sqrt(3) / 2)
    assert S.select_top(np.array([0.1, 0.9, 0.5]), 1, exclude={1}) == [2]


def test_selection_gain():
    assert S.selection_gain([20.0, 40.0], [10.0, 20.0]) == pytest.approx(2.0)
    assert S.selection_gain([], [1.0]) is None


def test_continued_md_starts_each_round_where_the_last_ended(universal, tmp_path):
    from nanomlip.distill.specialize import round_folder_name
    from nanomlip.md.io import trajectory_path

    options = _options(universal, continue_md=True, temperatures_K=[600.0])
    specialize([_cu()], tmp_path / "run", options)

    def frames(round_):
        folder = tmp_path / "run" / round_folder_name(round_) / "md" / "condition-00"
        return read(trajectory_path(folder, "extxyz"), ":")

    first, second = frames(0), frames(1)
    np.testing.assert_allclose(second[0].positions, first[-1].positions, atol=1e-6)
    assert not np.allclose(first[0].positions, second[0].positions, atol=1e-3)
    # without it, every round starts from the structure itself
    plain = _options(universal, temperatures_K=[600.0])
    specialize([_cu()], tmp_path / "plain", plain)
    folder = tmp_path / "plain" / round_folder_name(1) / "md" / "condition-00"
    np.testing.assert_allclose(
        read(trajectory_path(folder, "extxyz"), 0).positions, _cu().positions, atol=1e-6
    )


def test_a_run_made_before_an_option_existed_resumes_with_its_old_value(universal, tmp_path):
    specialize([_cu()], tmp_path / "run", _options(universal))
    path = tmp_path / "run" / "options.json"
    saved = json.loads(path.read_text())
    del saved["continue_md"]
    path.write_text(json.dumps(saved))
    specialize([_cu()], tmp_path / "run", _options(universal))  # resumes: same options
    with pytest.raises(ValueError, match="continue_md"):
        specialize([_cu()], tmp_path / "run", _options(universal, continue_md=True))


def test_selection_shortfall_names_what_to_change():
    """One condition of 100 steps sampled every 10 leaves 2 candidates beside 8 test frames."""
    options = SpecializeOptions(
        teacher=EMT_SPEC,
        temperatures_K=[1000.0],
        md_steps=100,
        sample_every=10,
        test_frames=8,
        select_frames=8,
    )
    message = selection_shortfall(options, num_structures=1)
    assert "10 MD candidates" in message and "only 2 are left" in message
    assert "--md-steps" in message
    assert selection_shortfall(options, num_structures=2) == ""  # 20 candidates: 12 left
    longer = dataclasses.replace(options, md_steps=300)
    assert selection_shortfall(longer, num_structures=1) == ""
