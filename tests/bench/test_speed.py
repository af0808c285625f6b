"""The in-process timing that every speed point uses, on an untrained student."""

from nanomlip.bench.protocol import time_steps
from nanomlip.bench.systems import rattled_diamond_si
from nanomlip.integrations.ase_calculator import NanoCalculator
from nanomlip.models.registry import build_model


def test_time_steps_times_every_step_of_a_student():
    atoms = rattled_diamond_si(1)
    calculator = NanoCalculator(model=build_model("nano-xs"), dtype="float32")
    timings = time_steps(calculator, atoms, steps=2, warmup=1)
    assert len(timings) == 2
    assert all(seconds > 0 for seconds in timings)
    assert len(atoms) == 8
