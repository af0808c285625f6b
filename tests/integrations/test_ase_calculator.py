import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.calculators.calculator import PropertyNotImplementedError

import nanomlip
from nanomlip import NanoCalculator
from nanomlip.models import export_torchscript, register_model, save_checkpoint


def test_unknown_element_is_named_with_the_supported_ones():
    model = nanomlip.build_model("nano-xs")
    model.set_species([1, 6, 8])
    atoms = molecule("CH3Cl")
    atoms.calc = NanoCalculator(model=model)
    with pytest.raises(ValueError, match=r"element\(s\) Cl; it supports: H C O"):
        atoms.get_potential_energy()


def test_elements_beyond_plutonium_are_rejected():
    atoms = Atoms("Am", positions=[[0, 0, 0]])
    atoms.calc = NanoCalculator(model=nanomlip.build_model("nano-xs"))
    with pytest.raises(ValueError, match="Am"):
        atoms.get_potential_energy()


def test_molecules_have_no_stress_but_everything_else():
    atoms = molecule("H2O")
    atoms.calc = NanoCalculator(model=nanomlip.build_model("nano-xs"))
    assert np.isfinite(atoms.get_potential_energy())
    assert atoms.get_forces().shape == (3, 3)
    assert atoms.get_potential_energies().shape == (3,)
    assert np.isclose(atoms.get_potential_energies().sum(), atoms.get_potential_energy())
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_stress()


def test_checkpoint_registered_name_and_torchscript_give_the_same_numbers(tmp_path):
    model = nanomlip.build_model("nano-xs")
    checkpoint = save_checkpoint(model, tmp_path / "m.safetensors", teacher="sevennet:7net-0")
    scripted = export_torchscript(model, tmp_path / "m.pt", teacher="sevennet:7net-0")
    register_model("my-test-model", checkpoint)
    atoms = bulk("Si", "diamond", a=5.43).repeat(2)
    atoms.rattle(0.05, seed=1)
    results = []
    for reference in (model, str(checkpoint), "my-test-model", scripted):
        calc = NanoCalculator(model=reference)
        assert calc.metadata["cutoff"] == 5.0
        atoms.calc = calc
        results.append((atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()))
    for energy, forces, stress in results[1:]:
        assert np.isclose(energy, results[0][0], atol=1e-5)
        assert np.allclose(forces, results[0][1], atol=1e-5)
        assert np.allclose(stress, results[0][2], atol=1e-6)
    assert NanoCalculator(model=checkpoint).metadata["teacher"] == "sevennet:7net-0"
    assert NanoCalculator(model=scripted).metadata["teacher"] == "sevennet:7net-0"


def test_unknown_model_reference_explains_the_options():
    with pytest.raises(ValueError, match="registered models"):
        NanoCalculator(model="no-such-model")
    with pytest.raises(ValueError, match="is a preset, not trained weights"):
        NanoCalculator(model="nano-l")  # a preset with no shipped weights


def test_bad_dtype():
    with pytest.raises(ValueError, match="float64"):
        NanoCalculator(model=nanomlip.build_model("nano-xs"), dtype="half")


def test_calculator_recomputes_after_moves():
    atoms = bulk("Cu", "fcc", a=3.6).repeat(2)
    atoms.calc = NanoCalculator(model=nanomlip.build_model("nano-xs"))
    first = atoms.get_potential_energy()
    atoms.rattle(0.1, seed=3)
    assert atoms.get_potential_energy() != first


def test_calculator_leaves_the_callers_model_untouched():
    import torch

    model = nanomlip.build_model("nano-xs").train()
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.calc = NanoCalculator(model=model, dtype="float64")
    atoms.get_forces()
    assert model.training
    assert next(model.parameters()).dtype == torch.float32
    assert all(p.requires_grad for p in model.parameters())


def test_misspelt_or_unknown_keywords_are_errors():
    with pytest.raises(TypeError, match="'dtpye' \\(did you mean 'dtype'\\?\\)"):
        NanoCalculator(model=nanomlip.build_model("nano-xs"), dtpye="float64")
    with pytest.raises(TypeError, match="unknown keyword argument.*'colour'"):
        NanoCalculator(model=nanomlip.build_model("nano-xs"), colour="red")
    NanoCalculator(model=nanomlip.build_model("nano-xs"), label="ok", directory=".")


def test_the_docstring_names_the_metadata():
    assert ".metadata" in NanoCalculator.__doc__ or "metadata:" in NanoCalculator.__doc__
