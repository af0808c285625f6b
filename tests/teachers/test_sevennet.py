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
