"""Every preset, in float32 and float64, passes the reusable consistency suite."""

import numpy as np
import pytest
import torch

from nanomlip import _keys as K
from nanomlip import available_presets, build_model, testing


def perturbed_model(preset, dtype=torch.float64):
    return testing.with_random_element_energies(build_model(preset).to(dtype))


DTYPES = [torch.float64, torch.float32]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("preset", available_presets())
def test_every_preset_passes_the_suite(preset, dtype, tmp_path):
    testing.check_model(perturbed_model(preset, dtype), tmp_path)


def test_float64_meets_the_published_tolerances():
    model = perturbed_model("nano-5.0")
    structures = testing.example_structures()
    assert testing.assert_forces_match_finite_differences(model, structures["rocksalt"]) < 1e-6
    assert testing.TOLERANCES[torch.float64].equivariance <= 1e-9
    forces = testing.evaluate(model, structures["rocksalt"], torch.float64)[K.FORCES]
    assert np.abs(forces).max() > 0.05, "forces too small for the checks to mean anything"


def test_suite_catches_a_broken_model():
    """The checks must fail on a model that is not equivariant."""
    model = perturbed_model("nano-xs")
    atoms = testing.example_structures()["rocksalt"]
    original = model.forward

    def biased(data):
        out = original(data)
        out[K.FORCES] = out[K.FORCES] + torch.tensor([0.1, 0.0, 0.0], dtype=out[K.FORCES].dtype)
        return out

    model.forward = biased
    with pytest.raises(AssertionError, match="equivariance"):
        testing.assert_rotation_equivariance(model, atoms)
    with pytest.raises(AssertionError, match="finite differences"):
        testing.assert_forces_match_finite_differences(model, atoms)


def test_suite_catches_a_wrong_stress_sign():
    model = perturbed_model("nano-xs")
    atoms = testing.example_structures()["rocksalt"]
    original = model._forces_and_stress

    def flipped(*args):
        out = original(*args)
        out[K.STRESS] = -out[K.STRESS]
        return out

    model._forces_and_stress = flipped
    with pytest.raises(AssertionError, match="strain derivative"):
        testing.assert_stress_matches_strain_derivative(model, atoms)


def test_energy_is_smooth_across_the_cutoff_on_a_fine_scan():
    model = perturbed_model("nano-5.0")
    cutoff = model.cutoff
    distances = np.linspace(cutoff - 0.3, cutoff + 0.1, 81)
    from ase import Atoms

    energies = [
        testing.evaluate(model, Atoms("SiO", positions=[[0, 0, 0], [d, 0, 0]]), torch.float64)[
            K.ENERGY
        ][0]
        for d in distances
    ]
    steps = np.abs(np.diff(energies))
    assert steps.max() < 1e-2
    assert np.allclose(energies[-20:], energies[-1], atol=1e-12)  # flat beyond the cutoff
