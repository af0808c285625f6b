"""Every command x every bad input: exit status 2, a message naming the problem, and the
outputs of an earlier run left as they were."""

import numpy as np
import pytest
import torch
import yaml
from ase.build import bulk
from ase.io import write

import nanomlip
from nanomlip.cli.main import main

KEEP = "earlier output\n"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Good and bad input files, shared by every case."""
    root = tmp_path_factory.mktemp("inputs")
    cu = bulk("Cu", "fcc", a=3.61, cubic=True)
    write(root / "cu.extxyz", cu)
    (root / "notes.txt").write_text("not a structure\n")
    write(root / "empty.extxyz", cu[[]])
    unknown = cu.copy()
    unknown.numbers[0] = 118
    write(root / "unknown.extxyz", unknown)
    overlap = cu.copy()
    overlap.positions[1] = overlap.positions[0] + [0.02, 0, 0]
    write(root / "overlap.extxyz", overlap)
    nan = cu.copy()
    nan.positions[0] = np.nan
    write(root / "nan.extxyz", nan)
    (root / "corrupt.safetensors").write_bytes(b"\x00garbage" * 64)
    model = nanomlip.build_model("nano-xs", seed=1)
    nanomlip.save_checkpoint(model, root / "model.safetensors", teacher="test:teacher")
    recipe = {"seed": 0, "elements": ["Cu"], "samplers": [{"name": "close_contacts", "count": 2}]}
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    bad_sampler = {**recipe, "samplers": [{"name": "no_such_sampler", "count": 2}]}
    (root / "bad_sampler.yaml").write_text(yaml.safe_dump(bad_sampler))
    return root


STRUCTURES = {
    "missing file": ("none.cif", "does not exist"),
    "not a structure": ("notes.txt", "not a structure file"),
    "empty structure": ("empty.extxyz", "no atoms"),
    "unknown element": ("unknown.extxyz", "does not know element(s) Og"),
    "overlapping atoms": ("overlap.extxyz", "overlapping atoms"),
    "NaN positions": ("nan.extxyz", "NaN"),
}

#: (command, extra arguments, message) for the bad inputs that are options.
OPTIONS = [
    ("calc", ["--index", "99"], "past the end"),
    ("calc", ["--index", "abc"], "index must be an integer"),
    ("relax", ["--index", "5"], "past the end"),
    ("md", ["--index", "x"], "index must be an integer"),
    ("calc", ["--model", "{root}/corrupt.safetensors"], "cannot read checkpoint"),
    ("relax", ["--model", "{root}/corrupt.safetensors"], "cannot read checkpoint"),
    ("md", ["--model", "{root}/corrupt.safetensors"], "cannot read checkpoint"),
    ("relax", ["--fmax", "-1"], "fmax must be positive"),
    ("relax", ["--out", "{out}/relaxed.txt"], "cannot tell a structure format"),
    ("md", ["--timestep", "-1"], "timestep must be positive"),
    ("md", ["--temperature", "nan"], "temperature_K must be a finite number"),
    ("md", ["--steps", "-5"], "steps must be zero or positive"),
    ("md", ["--supercell", "2x0x1"], "NxMxK"),
    ("calc", ["--device", "gpu0"], "is not a torch device"),
]

LABEL = [
    (["--recipe", "{root}/none.yaml"], "does not exist"),
    (["--recipe", "{root}/notes.txt"], "a recipe must be a mapping"),
    (["--recipe", "{root}/bad_sampler.yaml"], "unknown sampler 'no_such_sampler'"),
    (["--teacher", "orb:v3"], "unknown teacher family"),
    (["--teacher", "nanomlip:{root}/corrupt.safetensors"], "cannot read checkpoint"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--max-force", "nan"], "max_force must be a positive number"),
]


def earlier_outputs(out):
    """Files of an earlier run in ``out``, which a failing command must not touch."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("trajectory.extxyz", "thermo.csv", "relaxed.extxyz", "relaxed.log"):
        (out / name).write_text(KEEP)


def assert_untouched(out):
    names = sorted(p.name for p in out.iterdir())
    assert names == ["relaxed.extxyz", "relaxed.log", "thermo.csv", "trajectory.extxyz"]
    assert all((out / name).read_text() == KEEP for name in names)


def command_line(command, structure, out, root):
    line = [command, str(structure), "--model", str(root / "model.safetensors")]
    if command == "md":
        line += ["--out-dir", str(out), "--overwrite", "--steps", "2", "--no-progress"]
    if command == "relax":
        line += ["--out", str(out / "relaxed.extxyz"), "--steps", "2"]
    return line


def run(line, capsys):
    try:
        code = main(line)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("command", ["calc", "relax", "md"])
@pytest.mark.parametrize("case", list(STRUCTURES))
def test_bad_structure_files(tmp_path, inputs, capsys, command, case):
    name, message = STRUCTURES[case]
    out = tmp_path / "out"
    earlier_outputs(out)
    code, error = run(command_line(command, inputs / name, out, inputs), capsys)
    assert code == 2
    assert error.startswith(f"nanomlip {command}: error:") and message in error
    assert "Traceback" not in error
    assert_untouched(out)


@pytest.mark.parametrize(("command", "extra", "message"), OPTIONS)
def test_bad_options(tmp_path, inputs, capsys, command, extra, message):
    out = tmp_path / "out"
    earlier_outputs(out)
    line = command_line(command, inputs / "cu.extxyz", out, inputs)
    line += [word.format(root=inputs, out=out) for word in extra]
    code, error = run(line, capsys)
    assert code == 2
    assert error.startswith(f"nanomlip {command}: error:") and message in error
    assert_untouched(out)


@pytest.mark.parametrize(("extra", "message"), LABEL)
def test_bad_label_inputs_write_nothing(tmp_path, inputs, capsys, extra, message):
    out = tmp_path / "dataset"
    line = ["label", "--teacher", f"nanomlip:{inputs / 'model.safetensors'}", "--recipe"]
    line += [str(inputs / "recipe.yaml"), "--out", str(out), "--no-progress"]
    line += [word.format(root=inputs) for word in extra]
    code, error = run(line, capsys)
    assert code == 2
    assert error.startswith("nanomlip label: error:") and message in error
    assert not out.exists()  # no manifest that would lock the folder


#: Seed structures of a label recipe (the ``structures`` sampler): options and message.
SEEDS = {
    **{case: ({"files": [name]}, message) for case, (name, message) in STRUCTURES.items()},
    "bad index": ({"files": ["cu.extxyz"], "index": "abc"}, "index must be an"),
    "index past the end": ({"files": ["cu.extxyz"], "index": 7}, "past the end"),
    "bad numbers": ({"files": ["cu.extxyz"], "max_rattle": -1}, "max_rattle"),
}


@pytest.mark.parametrize("case", list(SEEDS))
def test_bad_seed_structures_for_label_write_nothing(tmp_path, inputs, capsys, case):
    options, message = SEEDS[case]
    options = {**options, "files": [str(inputs / name) for name in options["files"]]}
    recipe = {"seed": 0, "elements": ["Cu"], "samplers": [
        {"name": "structures", "count": 2, "options": options}
    ]}  # fmt: skip
    (tmp_path / "seeds.yaml").write_text(yaml.safe_dump(recipe))
    out = tmp_path / "dataset"
    line = ["label", "--teacher", f"nanomlip:{inputs / 'model.safetensors'}", "--recipe"]
    line += [str(tmp_path / "seeds.yaml"), "--out", str(out), "--no-progress"]
    code, error = run(line, capsys)
    assert code == 2
    assert error.startswith("nanomlip label: error:") and message in error
    assert not out.exists()


def test_argparse_numbers_are_exit_2(tmp_path, inputs, capsys):
    code, error = run(["md", str(inputs / "cu.extxyz"), "--steps", "many"], capsys)
    assert code == 2 and "invalid int value: 'many'" in error


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error(tmp_path, inputs, capsys):
    out = tmp_path / "out"
    earlier_outputs(out)
    line = command_line("md", inputs / "cu.extxyz", out, inputs) + ["--device", "cuda"]
    code, error = run(line, capsys)
    assert code == 2 and "CUDA is not available" in error
    assert_untouched(out)
