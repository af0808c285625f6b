import json

import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.calculators.singlepoint import SinglePointCalculator

from nanomlip import NanoCalculator, build_model, save_checkpoint
from nanomlip.distill.data import write_labelled_frames
from nanomlip.distill.evaluate import evaluate, markdown_table, write_outputs
from nanomlip.units import EV_PER_A3_TO_GPA

TEACHER = {"spec": "test:offsets", "version": "1", "task": None}
ENERGY_OFFSET = 0.010  # eV/atom
FORCE_OFFSET = 0.020  # eV/Å, every component
STRESS_OFFSET = 0.001  # eV/Å^3, every component


def structures():
    rng = np.random.default_rng(0)
    frames = []
    for index, symbol in enumerate(["Cu", "Ni", "Cu", "Ni"]):
        atoms = bulk(symbol, "fcc", a=3.6, cubic=True)
        atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
        atoms.info.update(category="bulk", group=f"b{index}")
        frames.append(atoms)
    cluster = molecule("CH4")
    cluster.info.update(category="molecule", group="m0")
    frames.append(cluster)
    for atoms in frames:  # the dataset stores positions in float32
        atoms.positions = atoms.positions.astype(np.float32).astype(float)
    return frames


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    model = build_model("nano-xs", seed=1, num_scalar_channels=8, num_tensor_channels=4)
    path = save_checkpoint(model, root / "student.safetensors")
    calculator = NanoCalculator(model=path, dtype="float64")
    frames = structures()
    for atoms in frames:
        atoms.calc = calculator
        results = {
            "energy": atoms.get_potential_energy() + ENERGY_OFFSET * len(atoms),
            "forces": atoms.get_forces() + FORCE_OFFSET,
        }
        if atoms.pbc.all():
            results["stress"] = atoms.get_stress() + STRESS_OFFSET
        atoms.calc = SinglePointCalculator(atoms, **results)
    return path, write_labelled_frames(root / "data", frames, TEACHER)


def test_recovers_known_errors(case, tmp_path):
    path, data = case
    evaluation = evaluate(path, data, dtype="float64", batch_size=2)
    overall = evaluation.report["overall"]
    assert overall["n_frames"] == 5 and overall["n_stress"] == 4
    assert overall["energy_mae_meV_per_atom"] == pytest.approx(1e3 * ENERGY_OFFSET, abs=1e-6)
    assert overall["energy_rmse_meV_per_atom"] == pytest.approx(1e3 * ENERGY_OFFSET, abs=1e-6)
    assert overall["forces_mae_meV_per_A"] == pytest.approx(1e3 * FORCE_OFFSET, abs=1e-3)
    assert overall["stress_mae_GPa"] == pytest.approx(STRESS_OFFSET * EV_PER_A3_TO_GPA, rel=1e-9)
    assert set(evaluation.report["per_category"]) == {"bulk", "molecule"}
    assert evaluation.report["per_category"]["molecule"]["stress_mae_GPa"] is None
    assert set(evaluation.report["per_element"]) == {"Cu", "Ni", "C", "H"}
    h = evaluation.report["per_element"]["H"]
    assert h["n_atoms"] == 4 and h["forces_mae_meV_per_A"] == pytest.approx(20.0, abs=1e-3)

    paths = write_outputs(evaluation, tmp_path / "out")
    assert json.loads(paths["json"].read_text())["overall"]["n_atoms"] == overall["n_atoms"]
    assert "| **all** | 5 |" in paths["markdown"].read_text()
    assert paths["parity"].stat().st_size > 1000
    assert markdown_table(evaluation.report).count("\n") == 2 + 1 + 2 + 4


def test_val_split_and_errors(case):
    path, data = case
    val = evaluate(path, data, split="val", val_fraction=0.3, seed=0)
    assert 1 <= val.report["overall"]["n_frames"] < 5
    with pytest.raises(ValueError, match="split must be one of"):
        evaluate(path, data, split="test")
    small = build_model("nano-xs", num_scalar_channels=8, num_tensor_channels=4)
    small.set_species([29, 28])
    with pytest.raises(ValueError, match="does not know element"):
        evaluate(small, data)


def test_split_options_that_would_be_ignored_are_errors(case):
    path, data = case
    with pytest.raises(ValueError, match="would be ignored"):
        evaluate(path, data, split="all", val_fraction=0.3)


def test_max_frames_evaluates_the_same_sample_every_time(case):
    path, data = case
    first = evaluate(path, data, max_frames=3)
    again = evaluate(path, data, max_frames=3)
    assert first.info["n_frames"] == 3 and first.info["n_frames_in_split"] == 5
    np.testing.assert_array_equal(first.predictions.frame_id, again.predictions.frame_id)
    with pytest.raises(ValueError, match="max_frames must be >= 1"):
        evaluate(path, data, max_frames=0)


def test_cli_eval_defaults_to_the_validation_split(case, capsys):
    from nanomlip.cli.main import build_parser, main

    path, data = case
    evaluate_parser = build_parser()._subparsers._group_actions[0].choices["eval"]
    assert evaluate_parser.get_default("split") == "val"
    assert "training frames included" in evaluate_parser.format_help()
    code = main(["eval", "--model", str(path), "--data", str(data), "--json",
                 "--val-fraction", "0.3", "--seed", "0"])  # fmt: skip
    assert code == 0
    assert json.loads(capsys.readouterr().out)["split"] == "val"
    code = main(["eval", "--model", str(path), "--data", str(data), "--split", "all",
                 "--val-fraction", "0.3"])  # fmt: skip
    assert code == 2 and "would be ignored" in capsys.readouterr().err


def test_split_of_takes_the_validation_frames_of_another_run(case, tmp_path):
    path, data = case
    parent = build_model("nano-xs", seed=2, num_scalar_channels=8, num_tensor_channels=4)
    parent_path = save_checkpoint(
        parent,
        tmp_path / "parent.safetensors",
        training={"config": {"val_fraction": 0.4, "seed": 3}},
    )
    # the evaluated model records no split of its own (a fine-tune: val_fraction 0)
    tuned = save_checkpoint(
        build_model("nano-xs", seed=1, num_scalar_channels=8, num_tensor_channels=4),
        tmp_path / "tuned.safetensors",
        training={"config": {"val_fraction": 0.0}},
    )
    with pytest.raises(ValueError, match="validation split is empty"):
        evaluate(tuned, data, split="val")
    mine = evaluate(tuned, data, split="val", split_of=parent_path)
    theirs = evaluate(parent_path, data, split="val")
    np.testing.assert_array_equal(
        np.sort(mine.predictions.frame_id), np.sort(theirs.predictions.frame_id)
    )
