import os
from pathlib import Path

import numpy as np
import pytest

from nanomlip.data.schema import CHUNK_ARRAYS, HVP_ARRAYS, chunk_problems
from nanomlip.data.store import (
    DATASET_VERSION,
    ChunkWriter,
    LabeledDataset,
    chunk_path,
    existing_chunks,
    load_chunk,
    write_chunk,
)


def test_chunks_get_the_umask_mode_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_chunk(tmp_path, 0, {"energy": np.zeros(3)})
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert not list(path.parent.glob(".tmp-*"))


# ---------------------------------------------------------------- the frozen chunk format
# tests/data/fixtures/dataset-v1 was written by ``nanomlip label --teacher
# ase:ase.calculators.emt:EMT`` (format_version 1) on a recipe of 2 prototypes and 3 close
# contacts (Al, Cu, Au; --max-force 30, so that one contact is rejected). A change of the
# chunk format makes these tests fail: bump DATASET_VERSION and keep a reader of version 1.
FROZEN = Path(__file__).parent / "fixtures" / "dataset-v1"


def test_the_frozen_chunk_follows_the_schema():
    arrays = load_chunk(chunk_path(FROZEN, 0))
    assert chunk_problems(arrays) == []
    assert list(arrays) == [spec.name for spec in CHUNK_ARRAYS]


def test_the_frozen_dataset_reads_as_it_was_written():
    data = LabeledDataset(FROZEN)
    assert data.manifest["format_version"] == DATASET_VERSION == 1
    assert len(data) == 4 and data.arrays["num_atoms"].tolist() == [2, 3, 3, 3]
    assert data.rejected == [(3, "absurd force: 50.1 eV/Å")]
    assert data.arrays["category"].tolist() == ["bulk", "bulk", "close_contact", "close_contact"]
    bulk_frame, contact = data.atoms(0), data.atoms(2)
    assert bulk_frame.get_potential_energy() == 0.32750039914586626
    assert bulk_frame.pbc.all() and bulk_frame.calc.results["stress"].shape == (6,)
    assert not contact.pbc.any() and "stress" not in contact.calc.results  # NaN stress
    assert "energies" not in contact.calc.results  # this teacher gives no per-atom energies
    np.testing.assert_array_equal(
        contact.get_forces()[0], np.float32([-2.48982453, 0.10846744, -1.94116807])
    )
    assert contact.info["seed"] == "11/1/0" and contact.info["frame_index"] == 2


def test_the_writer_reproduces_the_frozen_chunk():
    data = LabeledDataset(FROZEN)
    writer = ChunkWriter(0)
    for index, atoms in enumerate(data):
        results = atoms.calc.results
        writer.add(
            atoms,
            int(data.arrays["frame_index"][index]),
            results["energy"],
            results["forces"],
            results.get("stress"),
            results.get("energies"),
        )
    for frame_index, reason in data.rejected:
        writer.reject(frame_index, reason)
    frozen = load_chunk(chunk_path(FROZEN, 0))
    written = writer.arrays()
    assert list(written) == list(frozen)
    for name, value in frozen.items():
        if name != "labeling_seconds":
            assert written[name].dtype == value.dtype, name
            np.testing.assert_array_equal(written[name], value, err_msg=name)


def test_an_empty_chunk_follows_the_schema():
    assert chunk_problems(ChunkWriter(3).arrays()) == []


def test_schema_problems_are_named():
    arrays = load_chunk(chunk_path(FROZEN, 0))
    bad = {**arrays, "positions": arrays["positions"].astype(np.float64), "extra": np.zeros(1)}
    del bad["energy"]
    assert chunk_problems(bad) == ["missing array 'energy'", "unknown array 'extra'"]
    bad = {**arrays, "positions": arrays["positions"].astype(np.float64)}
    bad["forces"] = bad["forces"][:-1]
    assert chunk_problems(bad) == [
        "positions: dtype float64, expected float32",
        "forces: shape (10, 3), expected (11, 3)",
    ]
    assert set(HVP_ARRAYS[0].empty().shape) == {0, 3}


DATASETS = sorted((Path(__file__).parents[2] / "datasets").glob("distill-*"))


@pytest.mark.parametrize("root", DATASETS, ids=[root.name for root in DATASETS])
def test_committed_datasets_follow_the_schema(root):
    chunks = existing_chunks(root)
    for chunk in {chunks[0], chunks[-1]}:
        assert chunk_problems(load_chunk(chunk_path(root, chunk))) == [], (root.name, chunk)
