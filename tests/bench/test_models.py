"""One resolver from a benchmark model spec to a calculator."""

import pytest
from ase.calculators.emt import EMT

from nanomlip.bench.models import ModelSpec, calculator_for, load_bench_model
from nanomlip.integrations.ase_calculator import NanoCalculator


def test_a_preset_becomes_an_untrained_float32_student():
    calculator, notes = calculator_for(ModelSpec("xs", "preset", "nano-xs"))
    assert isinstance(calculator, NanoCalculator)
    assert notes == ["float32"]
    assert str(calculator.dtype) == "torch.float32"


def test_teacher_and_callable_specs_resolve():
    teacher, _ = calculator_for(ModelSpec("emt", "teacher", "ase:ase.calculators.emt:EMT"))
    assert isinstance(teacher, EMT)
    mine, notes = calculator_for(ModelSpec("f", "callable", "f", factory=EMT))
    assert isinstance(mine, EMT) and notes == []
    loaded = load_bench_model(ModelSpec("emt", "teacher", "ase:ase.calculators.emt:EMT"))
    assert loaded.kind == "teacher" and "Cu" in loaded.elements


def test_kinds_without_a_calculator_are_refused():
    with pytest.raises(ValueError, match="no ASE calculator for model kind 'lammps'"):
        calculator_for(ModelSpec("t", "lammps", "tersoff", role="peer"))


def test_specs_survive_the_trip_to_a_worker():
    spec = ModelSpec("v", "lammps", "vashishta", role="peer", systems=("sio2",))
    assert ModelSpec.from_dict(spec.to_dict()) == spec
