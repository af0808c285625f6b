import numpy as np
import pytest
from ase.build import bulk

from nanomlip.teachers import TeacherError, load_teacher

pytest.importorskip("sevenn", reason="SevenNet teachers need pip install .[teachers]")


@pytest.mark.teacher
def test_sevennet_multitask_needs_a_valid_task():
    with pytest.raises(TeacherError, match=r"multi-task.*tasks: \['PBE', 'R2SCAN'\]"):
        load_teacher("sevennet:7net-mf-0")
    with pytest.raises(TeacherError, match="has no task 'HSE'"):
        load_teacher("sevennet:7net-mf-0@HSE")
    with pytest.raises(TeacherError, match="nothing is downloaded"):
        load_teacher("sevennet:7net-omni@mpa")
    teacher = load_teacher("sevennet:7net-mf-0@PBE")
    assert teacher.provenance.task == "PBE" and len(teacher.elements) == 89
    label = teacher.label_one(bulk("Si", "diamond", a=5.43))
    assert np.isfinite(label.energy) and label.energies.shape == (2,)


@pytest.mark.teacher
def test_batched_labels_equal_one_at_a_time(monkeypatch):
    from ase.build import molecule

    from nanomlip.teachers import sevennet

    monkeypatch.setattr(sevennet, "BATCH_ATOMS", 40)  # three batches, one of two cells
    teacher = load_teacher("sevennet:7net-mf-0@PBE")
    cells = [bulk("Si", "diamond", a=5.43), bulk("NaCl", "rocksalt", a=5.6).repeat(2)]
    cells += [bulk("Cu", "fcc", a=3.6).repeat((2, 2, 3)), molecule("H2O")]
    cells[1].rattle(0.05, seed=1)
    for one, batched in zip(map(teacher.label_one, cells), teacher.label(cells), strict=True):
        assert batched.energy == pytest.approx(one.energy, abs=1e-4)
        np.testing.assert_allclose(batched.forces, one.forces, atol=1e-4)
        np.testing.assert_allclose(batched.energies, one.energies, atol=1e-4)
        if one.stress is None:
            assert batched.stress is None
        else:
            np.testing.assert_allclose(batched.stress, one.stress, atol=1e-6)


@pytest.mark.teacher
def test_mace_adapter_explains_the_environment_conflict(tmp_path):
    model_file = tmp_path / "fake.model"
    model_file.write_bytes(b"x")
    try:
        import mace  # noqa: F401
    except ImportError:
        with pytest.raises(TeacherError, match="own virtual environment"):
            load_teacher(f"mace:{model_file}")
    else:
        pytest.skip("mace-torch is installed here; its adapter is exercised in its own env")
