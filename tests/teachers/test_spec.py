import numpy as np
import pytest
from ase.build import bulk, molecule

import nanomlip
from nanomlip.models import save_checkpoint
from nanomlip.teachers import TeacherError, load_teacher, split_spec


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("sevennet:7net-0", ("sevennet", "7net-0", None)),
        ("sevennet:7net-mf-0@PBE", ("sevennet", "7net-mf-0", "PBE")),
        ("sevennet:/data/omni.pth@mpa", ("sevennet", "/data/omni.pth", "mpa")),
        ("chgnet:0.3.0", ("chgnet", "0.3.0", None)),
        ("mace:/m/model.model", ("mace", "/m/model.model", None)),
        ("ase:ase.calculators.emt:EMT", ("ase", "ase.calculators.emt:EMT", None)),
        ("nanomlip:nano-5.0", ("nanomlip", "nano-5.0", None)),
    ],
)
def test_split_spec(spec, expected):
    assert split_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("7net-0", "FAMILY:MODEL"),
        ("orb:v3", "unknown teacher family 'orb'; available"),
        ("sevennet:", "names no model"),
        ("sevennet:7net-0@", "empty task"),
        ("ase:ase.calculators.emt", "ase:package.module:ClassName"),
        ("ase:no.such.module:X", "cannot import"),
        ("ase:ase.calculators.emt:Nope", "has no class"),
        ("mace:/no/such/file.model", "does not exist"),
        ("nanomlip:/no/such.safetensors", "cannot load nanomlip teacher"),
    ],
)
def test_bad_specs_give_clear_errors(spec, message):
    with pytest.raises(TeacherError, match=message):
        load_teacher(spec)


def test_ase_teacher_labels_and_hessian_vector_product_is_symmetric():
    teacher = load_teacher("ase:ase.calculators.emt:EMT")
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.rattle(0.05, seed=0)
    (label,) = teacher.label([atoms])
    assert label.forces.shape == (4, 3) and label.stress.shape == (6,)
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(2, 4, 3))
    hu, hv = teacher.hessian_vector_product(atoms, u), teacher.hessian_vector_product(atoms, v)
    assert np.isclose(np.vdot(v, hu), np.vdot(u, hv), rtol=1e-3)  # Hessian is symmetric
    assert teacher.provenance.family == "ase"


def test_nanomlip_teacher_knows_only_its_species(tmp_path):
    model = nanomlip.build_model("nano-xs")
    model.set_species([1, 6, 8])
    path = save_checkpoint(model, tmp_path / "t.safetensors")
    teacher = load_teacher(f"nanomlip:{path}")
    assert teacher.elements == ["H", "C", "O"]
    label = teacher.label_one(molecule("CH3OH"))
    assert label.stress is None and label.energies.shape == (6,)
    with pytest.raises(ValueError, match="does not know Cl"):
        teacher.label_one(molecule("CH3Cl"))
