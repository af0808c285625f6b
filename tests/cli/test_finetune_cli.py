"""``nanomlip finetune`` and ``nanomlip specialize`` on the command line."""

from __future__ import annotations

import json

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

import nanomlip
from nanomlip.cli.main import main


def _frames(count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(count):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        atoms.positions += rng.normal(0, 0.1, atoms.positions.shape)
        atoms.calc = EMT()
        atoms.calc = SinglePointCalculator(
            atoms, energy=atoms.get_potential_energy(), forces=atoms.get_forces()
        )
        frames.append(atoms)
    return frames


def test_finetune_writes_the_model_and_the_report(tmp_path, small_model, capsys):
    model = nanomlip.save_checkpoint(small_model.float(), tmp_path / "m.safetensors")
    write(tmp_path / "dft.extxyz", _frames(6))
    args = ["finetune", "--data", str(tmp_path / "dft.extxyz"), "--out", str(tmp_path / "run")]
    args += ["--model", str(model), "--replay", "0", "--set", "max_epochs=2", "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "user held-out | after" in out
    assert (tmp_path / "run" / "model.safetensors").is_file()
    report = json.loads((tmp_path / "run" / "finetune_report.json").read_text())
    assert report["training"]["steps"] > 0
    assert report["prepared"]["refit_references"]  # "user" data is not the model's teacher


def test_finetune_names_the_bad_frame(tmp_path, small_model, capsys):
    model = nanomlip.save_checkpoint(small_model.float(), tmp_path / "m.safetensors")
    frames = _frames(3)
    frames[1].calc.results["forces"][0, 0] = np.nan
    write(tmp_path / "bad.extxyz", frames)
    args = ["finetune", "--data", str(tmp_path / "bad.extxyz"), "--out", str(tmp_path / "run")]
    assert main([*args, "--model", str(model), "--replay", "0"]) == 2
    assert "bad.extxyz, frame 1: forces is not finite" in capsys.readouterr().err


def test_finetune_rejects_a_bad_option(tmp_path, small_model, capsys):
    write(tmp_path / "dft.extxyz", _frames(2))
    args = ["finetune", "--data", str(tmp_path / "dft.extxyz"), "--out", str(tmp_path / "run")]
    assert main([*args, "--replay", "1.5"]) == 2
    assert "replay must be in [0, 1)" in capsys.readouterr().err


def test_specialize_refuses_an_unknown_selection(tmp_path, capsys):
    write(tmp_path / "cu.cif", bulk("Cu", cubic=True))
    args = ["specialize", str(tmp_path / "cu.cif"), "--teacher", "ase:ase.calculators.emt:EMT"]
    assert main([*args, "--out", str(tmp_path / "run"), "--select", "vibes"]) == 2
    assert "method must be one of" in capsys.readouterr().err
