import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

import nanomlip
from nanomlip.cli.main import main
from nanomlip.data.store import DatasetError, LabeledDataset, existing_chunks
from nanomlip.labeling import RejectionRules, rejection_reason, run_labeling
from nanomlip.models import save_checkpoint
from nanomlip.sampling import parse_recipe
from nanomlip.teachers import Label

RECIPE = {
    "seed": 7,
    "elements": ["H", "C", "O", "Si", "Cu", "Na", "Cl"],
    "max_atoms": 16,
    "samplers": [
        {"name": "close_contacts", "count": 12},
        {"name": "amorphous", "count": 6, "options": {"steps": 0}},
        {"name": "prototypes", "count": 6},
    ],
}


@pytest.fixture(scope="module")
def teacher_spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("teacher") / "teacher.safetensors"
    save_checkpoint(nanomlip.build_model("nano-xs", seed=3), path)
    return f"nanomlip:{path}"


def _frames(root):
    data = LabeledDataset(root)
    return data, {int(i) for i in data.arrays["frame_index"]} | {i for i, _ in data.rejected}


def test_labels_every_frame_once_with_provenance(tmp_path, teacher_spec):
    recipe = parse_recipe(RECIPE)
    report = run_labeling(
        tmp_path / "ds", teacher_spec, recipe, chunk_size=5, md_driver="none", progress=False
    )
    data, seen = _frames(tmp_path / "ds")
    assert seen == set(range(recipe.num_frames))
    assert report.frames == len(data) and report.chunks == 5
    assert data.manifest["teacher"]["spec"] == teacher_spec
    assert data.manifest["teacher"]["family"] == "nanomlip"
    assert set(data.arrays["sampler"]) == {"close_contacts", "amorphous", "prototypes"}
    assert all(seed.startswith("7/") for seed in data.arrays["seed"])
    assert all(group for group in data.arrays["group"])
    # a second run finds nothing to do
    again = run_labeling(
        tmp_path / "ds", teacher_spec, recipe, chunk_size=5, md_driver="none", progress=False
    )
    assert again.chunks == 0


def test_other_job_in_the_same_folder_is_refused(tmp_path, teacher_spec):
    recipe = parse_recipe(RECIPE)
    run_labeling(
        tmp_path, teacher_spec, recipe, chunk_size=5, md_driver="none", progress=False, max_chunks=1
    )
    with pytest.raises(DatasetError, match="different recipe"):
        other = parse_recipe({**RECIPE, "seed": 8})
        run_labeling(tmp_path, teacher_spec, other, chunk_size=5, md_driver="none", progress=False)


def test_two_processes_and_dask_give_the_same_dataset(tmp_path, teacher_spec):
    recipe = parse_recipe(RECIPE)
    kwargs = dict(chunk_size=6, md_driver="none", progress=False)
    run_labeling(tmp_path / "one", teacher_spec, recipe, workers=1, **kwargs)
    run_labeling(tmp_path / "two", teacher_spec, recipe, workers=2, **kwargs)
    run_labeling(tmp_path / "dask", teacher_spec, recipe, workers=2, scheduler="dask", **kwargs)
    reference = LabeledDataset(tmp_path / "one").arrays
    labels = {"energy", "forces", "stress", "energies"}  # workers use other thread counts
    for name in ("two", "dask"):
        other = LabeledDataset(tmp_path / name).arrays
        for key, value in reference.items():
            if key in labels:
                assert np.allclose(value, other[key], rtol=1e-5, atol=1e-5, equal_nan=True), key
            else:
                assert np.array_equal(value, other[key]), (name, key)


def test_kill_minus_nine_then_resume_loses_and_duplicates_nothing(tmp_path, teacher_spec):
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(RECIPE))
    out = tmp_path / "ds"
    command = [
        sys.executable, "-m", "nanomlip.cli.main", "label", "--teacher", teacher_spec,
        "--recipe", str(recipe_file), "--out", str(out), "--chunk-size", "1",
        "--md-driver", "none", "--no-progress",
    ]  # fmt: skip
    process = subprocess.Popen(command, start_new_session=True)
    deadline = time.time() + 60
    while len(existing_chunks(out)) < 3 and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done_before = existing_chunks(out)
    assert 3 <= len(done_before) < parse_recipe(RECIPE).num_frames, "kill came too late to test"
    before = {k: (out / "chunks" / f"chunk-{k:06d}.npz").read_bytes() for k in done_before}
    assert subprocess.run(command, check=False).returncode == 0
    data, seen = _frames(out)
    assert seen == set(range(parse_recipe(RECIPE).num_frames))
    assert len(data.arrays["frame_index"]) == len(set(data.arrays["frame_index"].tolist()))
    for k, content in before.items():  # finished chunks were not rewritten
        assert (out / "chunks" / f"chunk-{k:06d}.npz").read_bytes() == content
    assert not list((out / "chunks").glob(".tmp-*"))


def test_workers_stop_when_only_the_parent_is_killed(tmp_path, teacher_spec):
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(
        yaml.safe_dump({**RECIPE, "samplers": [{**RECIPE["samplers"][0], "count": 400}]})
    )
    out = tmp_path / "ds"
    command = [
        sys.executable, "-m", "nanomlip.cli.main", "label", "--teacher", teacher_spec,
        "--recipe", str(recipe_file), "--out", str(out), "--chunk-size", "1",
        "--md-driver", "none", "--no-progress", "--workers", "2",
    ]  # fmt: skip
    process = subprocess.Popen(command, start_new_session=True)
    deadline = time.time() + 120
    while len(existing_chunks(out)) < 2 and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)  # the parent only, as `kill PID` does
    process.wait()
    time.sleep(3)  # the workers notice within about a second
    count = len(existing_chunks(out))
    time.sleep(2)
    assert len(existing_chunks(out)) == count, "orphaned workers kept writing chunks"
    try:
        os.killpg(process.pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive, "a worker of the killed labelling run is still alive"


def test_bad_teacher_outputs_are_rejected_and_counted(tmp_path):
    recipe = parse_recipe(
        {
            "seed": 1,
            "elements": ["H", "Xe", "Rn"],
            "samplers": [{"name": "close_contacts", "count": 9}],
        }
    )
    report = run_labeling(
        tmp_path, "ase:nanomlip.testing:FaultyCalculator", recipe, chunk_size=3,
        md_driver="none", progress=False,
    )  # fmt: skip
    assert report.rejected.get("non-finite energy", 0) > 0
    assert report.rejected.get("absurd force", 0) > 0
    data = LabeledDataset(tmp_path)
    assert len(data) + len(data.rejected) == 9
    for atoms in data:
        assert not {"Xe", "Rn"} & set(atoms.get_chemical_symbols())


def test_rejection_reasons():
    from ase import Atoms

    atoms = Atoms("H2", positions=[[0, 0, 0], [0.7, 0, 0]], cell=[5, 5, 5], pbc=True)
    rules = RejectionRules(max_force=10, max_abs_energy_per_atom=5, max_stress=100)
    ok = Label(-1.0, np.zeros((2, 3)), np.zeros(6))
    assert rejection_reason(ok, atoms, rules) is None
    assert rejection_reason(Label(-100.0, np.zeros((2, 3))), atoms, rules).startswith(
        "absurd energy"
    )
    assert rejection_reason(Label(-1, np.full((2, 3), 20.0)), atoms, rules).startswith(
        "absurd force"
    )
    assert rejection_reason(Label(-1, np.zeros((2, 3)), np.full(6, 1.0)), atoms, rules).startswith(
        "absurd stress"
    )
    assert rejection_reason(Label(-1, np.full((2, 3), np.inf)), atoms, rules) == "non-finite forces"


def test_data_info_json_and_extxyz_export(tmp_path, teacher_spec, capsys):
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(RECIPE))
    out = tmp_path / "ds"
    args = ["label", "--teacher", teacher_spec, "--recipe", str(recipe_file), "--out", str(out),
            "--md-driver", "none", "--no-progress", "--chunk-size", "8"]  # fmt: skip
    assert main(args) == 0
    assert "frames/s" in capsys.readouterr().out
    assert main(["data", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    for key in ("n_frames", "n_atoms", "elements", "teacher", "categories"):
        assert key in info
    assert info["teacher"] == teacher_spec
    assert sum(info["categories"].values()) == info["n_frames"]
    assert main(["data", "export", str(out), "--out", str(tmp_path / "all.extxyz")]) == 0
    from ase.io import read

    frames = read(tmp_path / "all.extxyz", index=":")
    assert len(frames) == info["n_frames"]
    assert np.allclose(frames[0].get_forces(), LabeledDataset(out).atoms(0).get_forces(), atol=1e-6)


def test_missing_recipe_and_bad_teacher_are_clear_cli_errors(tmp_path, capsys):
    assert main(["label", "--teacher", "x", "--recipe", str(tmp_path / "no.yaml"),
                 "--out", str(tmp_path / "o")]) == 2  # fmt: skip
    assert "does not exist" in capsys.readouterr().err
    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text(yaml.safe_dump(RECIPE))
    assert main(["label", "--teacher", "orb:v3", "--recipe", str(recipe_file),
                 "--out", str(tmp_path / "o")]) == 2  # fmt: skip
    assert "unknown teacher family" in capsys.readouterr().err


def test_a_resumed_run_says_how_many_chunks_it_reused(tmp_path, teacher_spec, capsys):
    recipe_file = tmp_path / "r.yaml"
    recipe = {"seed": 1, "elements": ["Cu"], "max_atoms": 8}
    recipe["samplers"] = [{"name": "close_contacts", "count": 4}]
    recipe_file.write_text(yaml.safe_dump(recipe))
    args = ["label", "--teacher", teacher_spec, "--recipe", str(recipe_file), "--out",
            str(tmp_path / "d"), "--chunk-size", "2", "--no-progress"]  # fmt: skip
    assert main([*args, "--max-chunks", "1"]) == 0
    first = capsys.readouterr().out
    assert "reused" not in first and "steady-state" in first
    assert main(args) == 0
    assert "resumed: reused 1 chunk(s) already labelled" in capsys.readouterr().out


def test_an_unknown_sampler_leaves_no_manifest(tmp_path, teacher_spec):
    recipe = parse_recipe({"seed": 0, "samplers": [{"name": "nope", "count": 2}]})
    with pytest.raises(ValueError, match="unknown sampler 'nope'"):
        run_labeling(tmp_path / "d", teacher_spec, recipe, progress=False)
    assert not (tmp_path / "d").exists()
    bad_option = {"name": "close_contacts", "count": 2, "options": {"colour": 1}}
    recipe = parse_recipe({"seed": 0, "samplers": [bad_option]})
    with pytest.raises(ValueError, match="unknown options"):
        run_labeling(tmp_path / "d", teacher_spec, recipe, progress=False)
    assert not (tmp_path / "d").exists()


def test_seed_structures_are_labelled(tmp_path, teacher_spec):
    from ase.build import bulk
    from ase.io import write

    seed = tmp_path / "cu.cif"
    write(seed, bulk("Cu", "fcc", a=3.61, cubic=True))
    recipe = parse_recipe({"seed": 0, "elements": ["Cu"], "samplers": [
        {"name": "structures", "count": 3, "options": {"files": [str(seed)], "max_rattle": 0.05}}
    ]})  # fmt: skip
    report = run_labeling(tmp_path / "d", teacher_spec, recipe, chunk_size=2, progress=False)
    data = LabeledDataset(tmp_path / "d")
    assert report.frames == 3 and len(data) == 3
    assert set(data.arrays["category"]) == {"seed"}


def test_md_drivers_are_teacher_specs(tmp_path, teacher_spec):
    from nanomlip.teachers import TeacherError, calculator_factory, load_teacher

    teacher = load_teacher(teacher_spec)
    assert calculator_factory("none", teacher) is None
    assert calculator_factory("teacher", teacher)() is teacher.calculator()
    emt = calculator_factory("ase:ase.calculators.emt:EMT", teacher)
    assert type(emt()).__name__ == "EMT"
    with pytest.raises(TeacherError, match="unknown --md-driver 'lava'"):
        calculator_factory("lava", teacher, "--md-driver")
    recipe = parse_recipe(RECIPE)
    with pytest.raises(TeacherError, match="unknown --fast-driver"):
        run_labeling(tmp_path, teacher_spec, recipe, fast_driver="bogus:x", progress=False)
    assert not (tmp_path / "manifest.json").exists()


def test_chunks_relax_their_seeds_together_with_the_frames_of_one_at_a_time(tmp_path):
    from ase.build import bulk
    from ase.db import connect

    from nanomlip.sampling import FrameGenerator
    from nanomlip.teachers import calculator_factory, labeler_factory, load_teacher

    with connect(tmp_path / "seeds.db") as db:
        db.write(bulk("Cu", "fcc", a=3.70), name="Cu")
        db.write(bulk("CuAu", "rocksalt", a=4.6), name="CuAu")
    spec = "ase:ase.calculators.emt:EMT"
    plan = ["relax", "relax", "strain", "rattle"]
    options = {"source": f"ase_db:{tmp_path / 'seeds.db'}", "plan": plan, "relax_steps": 15}
    recipe = parse_recipe({"seed": 1, "elements": ["Cu", "Au"], "max_atoms": 16, "min_atoms": 4,
        "samplers": [{"name": "corpus", "count": 8, "options": options}]})  # fmt: skip
    teacher = load_teacher(spec)
    calls = []
    labeler = labeler_factory("teacher", teacher)
    assert labeler_factory("none", teacher) is None and labeler() == teacher.label

    def counting(structures):
        calls.append(len(structures))
        return teacher.label(structures)

    generator = FrameGenerator(
        recipe,
        teacher.elements,
        md_calculator=calculator_factory("teacher", teacher),
        md_labeler=lambda: counting,
    )
    generator.prepare(0, 8)
    assert calls and set(calls) == {2}  # both seeds of the chunk in every call
    alone = FrameGenerator(
        recipe, teacher.elements, md_calculator=calculator_factory("teacher", teacher)
    )
    for index in range(8):
        one, other = generator.frame(index), alone.frame(index)
        np.testing.assert_allclose(one.positions, other.positions, atol=1e-10)
    report = run_labeling(tmp_path / "d", spec, recipe, chunk_size=8, progress=False)
    data = LabeledDataset(tmp_path / "d")
    assert report.frames == len(data) == 8
    np.testing.assert_allclose(
        data.atoms(3).positions, alone.frame(int(data.arrays["frame_index"][3])).positions,
        atol=1e-10,
    )  # fmt: skip


def test_frames_that_carry_the_teachers_label_are_not_labelled_again():
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from nanomlip.data.store import ChunkWriter
    from nanomlip.labeling.workers import _label_batch
    from nanomlip.sampling.relaxation import attach_label
    from nanomlip.teachers import load_teacher

    class Counting:
        def __init__(self):
            self.inner, self.seen = load_teacher("ase:ase.calculators.emt:EMT"), 0

        def label(self, structures):
            self.seen += len(structures)
            return self.inner.label(structures)

    atoms = [bulk("Cu", "fcc", a=3.6 + 0.01 * i, cubic=True) for i in range(3)]
    reference = atoms[0].copy()
    reference.calc = EMT()
    known = Label(reference.get_potential_energy(), reference.get_forces(), reference.get_stress())
    attach_label(atoms[0], known)
    for driver_is_teacher, calls in ((True, 2), (False, 3)):
        teacher, writer = Counting(), ChunkWriter(0)
        batch = [(i, a) for i, a in enumerate(atoms)]
        _label_batch(teacher, batch, writer, RejectionRules(), driver_is_teacher)
        assert teacher.seen == calls and len(writer.frames) == 3
        assert writer.frames[0]["energy"] == pytest.approx(known.energy)
