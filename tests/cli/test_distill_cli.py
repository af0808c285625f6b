import json

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from nanomlip.cli.main import main
from nanomlip.distill.data import write_labelled_frames

TINY = [
    "--preset",
    "nano-xs",
    "--set",
    "model.num_scalar_channels=8",
    "--set",
    "model.num_tensor_channels=4",
    "--set",
    "model.cutoff=3.0",
    "--set",
    "batch_size=4",
    "--set",
    "num_threads=1",
    "--no-progress",
]


def make_dataset(root):
    rng = np.random.default_rng(0)
    frames = []
    for index in range(8):
        atoms = bulk(["Cu", "Ni"][index % 2], "fcc", a=3.6, cubic=True)
        atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
        atoms.calc = EMT()
        results = {k: atoms.get_properties([k])[k] for k in ("energy", "forces", "stress")}
        atoms.calc = SinglePointCalculator(atoms, **results)
        atoms.info.update(category="bulk", group=f"g{index // 2}")
        frames.append(atoms)
    return write_labelled_frames(root, frames, {"spec": "ase:emt", "version": "x", "task": None})


def test_distill_then_eval(tmp_path, capsys):
    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    args = ["distill", "--data", str(data), "--out", str(run), *TINY]
    assert main([*args, "--set", "max_epochs=2", "--set", "val_fraction=0.25"]) == 0
    out = capsys.readouterr().out
    assert "stopped by max_epochs at step 4" in out and "steps/s overall" in out
    assert "steady-state" in out
    for name in ("model.safetensors", "checkpoint_last.pt", "metrics.csv", "learning_curve.png"):
        assert (run / name).is_file()

    code = main(
        [
            "eval",
            "--model",
            str(run / "model.safetensors"),
            "--data",
            str(data),
            "--split",
            "val",
            "--out",
            str(tmp_path / "eval"),
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out.split("\nwrote ")[0])
    assert report["split"] == "val" and report["overall"]["n_frames"] == 2
    assert (tmp_path / "eval" / "parity.png").is_file()

    # resuming with another configuration is refused with one clear line
    assert main([*args, "--set", "max_epochs=3", "--set", "val_fraction=0.25"]) == 2
    err = capsys.readouterr().err
    assert "different configuration (max_epochs: 2 -> 3)" in err and err.count("\n") == 1


def test_bad_options_exit_2(tmp_path, capsys):
    data = make_dataset(tmp_path / "data")
    base = ["distill", "--data", str(data), "--out", str(tmp_path / "run")]
    assert main([*base, "--set", "bogus=1"]) == 2
    assert "unknown training configuration key 'bogus'" in capsys.readouterr().err
    assert main([*base, "--set", "lr=fast"]) == 2
    assert "lr must be float" in capsys.readouterr().err
    assert main([*base, "--config", str(tmp_path / "none.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["distill", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "r")]) == 2
    assert main(["eval", "--model", str(tmp_path / "none.safetensors"), "--data", str(data)]) == 2
