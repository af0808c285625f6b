"""The model card is built from files written by nanomlip commands, with those commands."""

import json

import pytest

from nanomlip import build_model, save_checkpoint
from nanomlip.cli.main import main
from nanomlip.reports.card import read_json, speed_section


def speed_payload(student_seconds, peer_seconds):
    def point(model, role, n, seconds):
        return {
            "model": model,
            "role": role,
            "system": "si",
            "num_atoms": n,
            "status": "ok",
            "seconds_per_step": seconds,
            "microseconds_per_atom_step": seconds / n * 1e6,
            "ns_per_day": 86400 / seconds * 1e-6,
            "peak_rss_mib": 100.0,
        }

    results = [point("nano-5.0", "student", 64, student_seconds)]
    results.append(point("sevennet-0", "peer", 64, peer_seconds))
    results.append({**point("chgnet", "peer", 64, 1.0), "status": "skipped"})
    return {"command": "nanomlip bench speed --sizes 64", "results": results}


def test_speed_section_gives_ratios_of_points_measured_in_the_same_run():
    text = speed_section(speed_payload(0.01, 1.5), "nano-5.0")
    assert "150x" in text
    assert "chgnet" not in text  # skipped points give no ratio


def test_read_json_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.json"):
        read_json(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_json(broken)


def test_card_command_end_to_end(tmp_path):
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from nanomlip.distill.data import write_labelled_frames

    model = build_model("nano-xs", seed=3)
    checkpoint = save_checkpoint(model, tmp_path / "tiny.safetensors", teacher="ase:emt")
    frames = []
    for index, a in enumerate((3.55, 3.6, 3.65)):
        atoms = bulk("Cu", "fcc", a=a, cubic=True)
        atoms.calc = EMT()
        atoms.get_potential_energy()
        atoms.info.update(category="bulk", group=f"g{index}")
        frames.append(atoms)
    for atoms in frames:
        atoms.get_forces(), atoms.get_stress()
    data = write_labelled_frames(tmp_path / "data", frames, {"spec": "ase:emt", "version": "1"})
    assert (
        main(
            [
                "eval",
                "--model",
                str(checkpoint),
                "--data",
                str(data),
                "--out",
                str(tmp_path / "eval"),
            ]
        )
        == 0
    )
    # An untrained student has no EOS minimum; EMT stands in for both columns.
    models = "tiny=teacher:ase:ase.calculators.emt:EMT,emt=teacher:ase:ase.calculators.emt:EMT"
    assert (
        main(
            [
                "bench",
                "eos",
                "--models",
                models,
                "--systems",
                "Cu,Al",
                "--points",
                "5",
                "--out",
                str(tmp_path / "eos"),
            ]
        )
        == 0
    )
    speed = tmp_path / "speed.json"
    speed.write_text(json.dumps(speed_payload(0.01, 1.0)))
    runs = []
    for name, seconds in (("first", 1800.0), ("second", 900.0)):
        run = tmp_path / name
        run.mkdir()
        rows = [
            {"step": 10, "epoch": 1, "train_seconds": seconds / 2},
            {"step": 20, "epoch": 2, "train_seconds": seconds},
        ]
        (run / "metrics.json").write_text(json.dumps(rows))
        runs += ["--run", str(run)]
    out = tmp_path / "card" / "tiny.md"
    code = main(
        [
            "card",
            str(checkpoint),
            "--eval",
            str(tmp_path / "eval" / "eval.json"),
            "--eos",
            str(tmp_path / "eos" / "eos.json"),
            "--speed",
            str(speed),
            "--data",
            str(data),
            "--label",
            "tiny",
            "--out",
            str(out),
            *runs,
        ]
    )
    assert code == 0
    text = out.read_text()
    evaluation = read_json(tmp_path / "eval" / "eval.json")
    assert evaluation["command"].startswith("nanomlip eval --model")
    assert evaluation["command"] in text
    assert read_json(tmp_path / "eos" / "eos.json")["command"] in text
    assert f"{model.num_parameters():,}" in text
    mae = evaluation["overall"]["forces_mae_meV_per_A"]
    assert f"force MAE {mae:.0f} meV/Å" in text
    assert "Student/teacher V0 MARE ratio on the common set: 1.00x" in text
    assert "3 frames" in text
    assert "Training time: 0.75 h in all" in text  # 0.5 h + 0.25 h of the two runs


def test_card_with_a_missing_input_fails_cleanly(tmp_path, capsys):
    checkpoint = save_checkpoint(build_model("nano-xs"), tmp_path / "m.safetensors")
    out = tmp_path / "card.md"
    code = main(
        [
            "card",
            str(checkpoint),
            "--eval",
            str(tmp_path / "nope.json"),
            "--eos",
            str(tmp_path / "nope2.json"),
            "--out",
            str(out),
        ]
    )
    assert code == 2
    assert "nope.json" in capsys.readouterr().err
    assert not out.exists()


def test_eos_ratio_is_against_the_teacher_not_another_student():
    from nanomlip.reports.card import eos_section

    def row(model, mare):
        return {"model": model, "num_ok": 5, "num_failed": 0, "num_common": 5,
                "mare_v0": mare, "mare_b0": 10.0, "median_delta": 1.0}  # fmt: skip

    eos = {
        "models": [
            {"label": "mine", "kind": "student"},
            {"label": "other", "kind": "student"},
            {"label": "7net", "kind": "teacher"},
        ],
        "summary": [row("mine", 1.6), row("other", 1.8), row("7net", 0.8)],
        "results": [],
    }
    assert "ratio on the common set: 2.00x" in eos_section(eos, "mine")
