import numpy as np
import pytest
import torch
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator

import nanomlip
from nanomlip.cli.main import main
from nanomlip.data.graph import collate
from nanomlip.data.schema import chunk_problems
from nanomlip.data.store import (
    DatasetError,
    LabeledDataset,
    chunk_path,
    existing_chunks,
    load_chunk,
)
from nanomlip.distill import data as D
from nanomlip.distill.losses import student_hvp
from nanomlip.integrations.ase_calculator import NanoCalculator
from nanomlip.labeling import label_hessian_vector_products
from nanomlip.models import load_checkpoint, save_checkpoint
from nanomlip.reports.datasheet import write_datasheet


@pytest.fixture(scope="module")
def teacher_dataset(tmp_path_factory):
    """Frames labelled by a small nanomlip model that is also the dataset's teacher."""
    root = tmp_path_factory.mktemp("hvp")
    path = save_checkpoint(nanomlip.build_model("nano-xs", seed=3).double(), root / "t.safetensors")
    calculator = NanoCalculator(model=load_checkpoint(path), dtype="float64")
    frames = []
    for index in range(12):
        atoms = bulk("Cu", "fcc", a=3.6).repeat((2, 2, 1)) if index % 2 else bulk("Si").repeat(2)
        atoms.rattle(0.05, seed=index)
        atoms.calc = calculator
        labels = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces()}
        atoms.calc = SinglePointCalculator(atoms, stress=atoms.get_stress(), **labels)
        atoms.info["group"] = f"g{index}"
        frames.append(atoms)
    teacher = {"spec": f"nanomlip:{path}", "version": "test", "task": None}
    return D.write_labelled_frames(root / "data", frames, teacher, chunk_size=5), path


def test_teacher_hvps_match_the_students_central_difference(teacher_dataset, tmp_path):
    source, path = teacher_dataset
    report = label_hessian_vector_products(source, tmp_path / "hvp", fraction=0.5, progress=False)
    data = LabeledDataset(tmp_path / "hvp")
    plain = LabeledDataset(source)
    assert len(data) == len(plain) and report.chunks == 3
    assert np.array_equal(data.arrays["positions"], plain.arrays["positions"])
    for chunk in existing_chunks(tmp_path / "hvp"):
        assert chunk_problems(load_chunk(chunk_path(tmp_path / "hvp", chunk))) == []
    has = [
        bool(np.isfinite(data.arrays["hvp"][a:b]).all())
        for a, b in zip(data.atom_offsets[:-1], data.atom_offsets[1:])
    ]
    assert sum(has) == report.frames and 2 <= report.frames <= 10
    # The student's term uses the same difference: a student equal to the teacher matches it.
    model = load_checkpoint(path).double()
    graphs = [D.frame_graph(data, index, model.cutoff, torch.float64) for index in range(len(data))]
    batch = collate([g for g, ok in zip(graphs, has) if ok])
    predicted = student_hvp(model, batch, step=0.01)
    assert torch.allclose(predicted, batch[D.TARGET_HVP], atol=2e-3, rtol=1e-3)
    assert predicted.abs().max() > 0.1  # not a trivially zero comparison
    sheet = write_datasheet(tmp_path / "hvp", tmp_path / "sheet.md", "cmd").read_text()
    assert f"{report.frames} frames" in sheet and "h = 0.01 Å" in sheet


def test_hvp_job_resumes_and_refuses_another_job(teacher_dataset, tmp_path, capsys):
    source, _ = teacher_dataset
    out = tmp_path / "hvp"
    first = label_hessian_vector_products(source, out, fraction=0.5, max_chunks=1, progress=False)
    assert first.chunks == 1
    args = ["label-hvp", "--data", str(source), "--out", str(out), "--fraction", "0.5",
            "--no-progress"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "wrote 2 chunks" in printed  # only the two missing ones
    assert "resumed: reused 1 chunk(s)" in printed and "steady-state" in printed
    with pytest.raises(DatasetError, match="another HVP job"):
        label_hessian_vector_products(source, out, fraction=0.25, progress=False)
    with pytest.raises(DatasetError, match="without HVPs"):
        label_hessian_vector_products(source, source, progress=False)  # never overwrites
    with pytest.raises(ValueError, match="fraction"):
        label_hessian_vector_products(source, tmp_path / "x", fraction=0.0, progress=False)
