"""The torch-sim interface against the ASE calculator, on a batch of differently sized cells."""

import sys

import numpy as np
import pytest
import torch
from ase.build import bulk, molecule

import nanomlip

ts = pytest.importorskip("torch_sim", reason='needs pip install "nanomlip[torchsim]"')

from nanomlip.integrations.torchsim import NanoTorchSimModel  # noqa: E402


def cells():
    """Four systems of 2 to 24 atoms: periodic crystals of other sizes, and a molecule."""
    silicon = bulk("Si", "diamond", a=5.43)
    copper = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 1, 1))
    rocksalt = bulk("MgO", "rocksalt", a=4.21, cubic=True)
    alloy = bulk("Si", "diamond", a=5.5, cubic=True).repeat((3, 1, 1))[:24]
    alloy.symbols[::3] = "O"
    systems = [silicon, copper, rocksalt, alloy]
    for seed, atoms in enumerate(systems):
        atoms.rattle(0.05, seed=seed)
    return systems


def test_batched_state_matches_ase_one_by_one(small_model):
    systems = cells()
    model = NanoTorchSimModel(small_model, device="cpu", dtype=torch.float64)
    state = ts.io.atoms_to_state(systems, torch.device("cpu"), torch.float64)
    output = model(state)
    assert output["energy"].shape == (4,) and output["stress"].shape == (4, 3, 3)
    start = 0
    for index, atoms in enumerate(systems):
        atoms.calc = nanomlip.NanoCalculator(small_model, dtype="float64")
        stop = start + len(atoms)
        assert output["energy"][index].item() == pytest.approx(
            atoms.get_potential_energy(), abs=1e-8
        )
        np.testing.assert_allclose(
            output["forces"][start:stop].numpy(), atoms.get_forces(), atol=1e-8
        )
        voigt = output["stress"][index].numpy()[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
        np.testing.assert_allclose(voigt, atoms.get_stress(), atol=1e-8)
        start = stop
    assert np.abs(output["forces"].numpy()).max() > 1e-3


def test_contract_of_torch_sim_and_a_short_batched_md(small_model):
    from torch_sim.models.interface import validate_model_outputs

    model = NanoTorchSimModel(small_model, device="cpu", dtype=torch.float64)
    validate_model_outputs(model, torch.device("cpu"), torch.float64)
    final = ts.integrate(
        system=cells()[:2],
        model=model,
        integrator=ts.nvt_langevin,
        n_steps=3,
        temperature=300.0,
        timestep=0.001,
    )
    assert final.n_systems == 2 and torch.isfinite(final.positions).all()


def test_unknown_elements_are_named(small_model):
    small_model = small_model.double()
    small_model.set_species([14])
    model = NanoTorchSimModel(small_model, device="cpu", dtype=torch.float64)
    state = ts.io.atoms_to_state([molecule("H2O")], torch.device("cpu"), torch.float64)
    with pytest.raises(ValueError, match="H, O"):
        model(state)


def test_missing_torch_sim_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_sim", None)
    monkeypatch.delitem(sys.modules, "nanomlip.integrations.torchsim", raising=False)
    with pytest.raises(ImportError, match=r"nanomlip\[torchsim\]"):
        import nanomlip.integrations.torchsim  # noqa: F401
