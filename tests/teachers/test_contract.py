"""The contract every teacher adapter keeps: same outputs, shapes, units and errors.

Each adapter is loaded from its spec and must give, for a periodic crystal and a
molecule: a finite energy (eV), forces (N, 3) in eV/Å equal to minus the energy's
gradient, a Voigt stress (6,) in eV/Å³ equal to the strain derivative of the energy over
the volume (ASE's sign) for 3D-periodic cells and ``None`` otherwise, per-atom energies
(N,) summing to the energy where the adapter says it has them, the same labels one by one
as in a batch, and provenance that names its spec. Unknown specs and elements are clear
errors. Adapters whose packages are not installed are skipped (MACE lives in its own
environment).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.data import atomic_numbers

import nanomlip
from nanomlip.models import save_checkpoint
from nanomlip.teachers import Label, Teacher, TeacherError, load_teacher
from nanomlip.teachers.spec import FAMILIES, split_spec

#: Finite-difference step (Å for positions, strain for the stress).
STEP = 1e-3


def _needs(package: str) -> list[pytest.MarkDecorator]:
    missing = importlib.util.find_spec(package) is None
    return [pytest.mark.teacher, pytest.mark.skipif(missing, reason=f"needs {package}")]


@pytest.fixture(scope="module")
def student_spec(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("student") / "student.safetensors"
    save_checkpoint(nanomlip.build_model("nano-xs", seed=5).double(), path)
    return f"nanomlip:{path}"


ADAPTERS = [
    pytest.param("ase:ase.calculators.emt:EMT", id="ase-emt"),
    pytest.param("student", id="nanomlip"),
    pytest.param("sevennet:7net-0", id="sevennet", marks=_needs("sevenn")),
    pytest.param("sevennet:7net-mf-0@PBE", id="sevennet-multitask", marks=_needs("sevenn")),
    pytest.param("chgnet:0.3.0", id="chgnet", marks=_needs("chgnet")),
]


@pytest.fixture(params=ADAPTERS)
def teacher(request, student_spec) -> Teacher:
    spec = student_spec if request.param == "student" else request.param
    return load_teacher(spec)


def crystal() -> Atoms:
    atoms = bulk("Cu", "fcc", a=3.62, cubic=True)
    atoms.rattle(0.05, seed=1)
    return atoms


def molecule() -> Atoms:
    return Atoms("Cu3", positions=[[0, 0, 0], [2.4, 0, 0], [1.1, 2.0, 0.3]])


def energy(teacher: Teacher, atoms: Atoms) -> float:
    return teacher.label_one(atoms).energy


def check_label(label: Label, atoms: Atoms, teacher: Teacher) -> None:
    n = len(atoms)
    assert isinstance(label.energy, float) and np.isfinite(label.energy)
    assert label.forces.shape == (n, 3) and label.forces.dtype == np.float64
    assert np.all(np.isfinite(label.forces))
    if atoms.pbc.all():
        assert label.stress is not None and label.stress.shape == (6,)
        assert label.stress.dtype == np.float64
    else:
        assert label.stress is None
    if teacher.provides_atomic_energies and label.energies is not None:
        assert label.energies.shape == (n,)
        assert label.energies.sum() == pytest.approx(label.energy, abs=1e-4 * n)
    else:
        assert label.energies is None or label.energies.shape == (n,)


def test_provenance_and_elements(teacher):
    family, _, task = split_spec(teacher.spec)
    provenance = teacher.provenance
    assert provenance.spec == teacher.spec and provenance.family == family in FAMILIES
    assert provenance.task == task
    assert isinstance(provenance.model, str) and provenance.model
    assert isinstance(provenance.version, str) and provenance.version
    numbers = [atomic_numbers[symbol] for symbol in teacher.elements]
    assert numbers == sorted(set(numbers)) and "Cu" in teacher.elements


def test_labels_have_the_contract_shapes(teacher):
    for atoms in (crystal(), molecule()):
        check_label(teacher.label_one(atoms), atoms, teacher)
    batch = teacher.label([crystal(), molecule()])
    assert batch[0].energy == pytest.approx(teacher.label_one(crystal()).energy, abs=1e-6)
    np.testing.assert_allclose(batch[1].forces, teacher.label_one(molecule()).forces, atol=1e-6)


def test_forces_are_minus_the_energy_gradient_in_ev_per_angstrom(teacher):
    atoms = crystal()
    forces = teacher.label_one(atoms).forces
    for atom, axis in ((0, 0), (2, 1)):
        moved = [atoms.copy(), atoms.copy()]
        moved[0].positions[atom, axis] += STEP
        moved[1].positions[atom, axis] -= STEP
        slope = (energy(teacher, moved[0]) - energy(teacher, moved[1])) / (2 * STEP)
        assert -slope == pytest.approx(forces[atom, axis], abs=2e-3 + 2e-3 * abs(slope))


def test_stress_is_the_strain_derivative_in_ev_per_cubic_angstrom(teacher):
    atoms = crystal()
    stress = teacher.label_one(atoms).stress
    strained = []
    for sign in (1.0, -1.0):
        copy = atoms.copy()
        deformation = np.eye(3)
        deformation[0, 0] += sign * STEP
        copy.set_cell(atoms.cell.array @ deformation, scale_atoms=True)
        strained.append(energy(teacher, copy))
    derivative = (strained[0] - strained[1]) / (2 * STEP) / atoms.get_volume()
    assert stress[0] == pytest.approx(derivative, abs=2e-4 + 2e-3 * abs(derivative))


def test_unknown_elements_are_named(teacher):
    if "Og" in teacher.elements or len(teacher.elements) >= 94:
        pytest.skip("this adapter accepts every element and leaves the check to its calculator")
    with pytest.raises(ValueError, match="does not know Og"):
        teacher.label_one(Atoms("Og", positions=[[0, 0, 0]]))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no-colon", "must look like FAMILY:MODEL"),
        ("lava:model", "unknown teacher family 'lava'"),
        ("sevennet:", "names no model"),
        ("ase:no_such_module_here:Calc", "cannot import module"),
        ("ase:ase.calculators.emt:NoSuchClass", "has no class"),
        ("nanomlip:/no/such/student.safetensors", "cannot load nanomlip teacher"),
    ],
)
def test_unknown_specs_are_teacher_errors(spec, message):
    with pytest.raises(TeacherError, match=message):
        load_teacher(spec)
