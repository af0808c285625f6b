import pytest
import torch
from ase.build import bulk

from nanomlip import _keys as K
from nanomlip.data.graph import collate
from nanomlip.distill import data as D
from nanomlip.models import build_model
from nanomlip.models.grow import grow_model
from nanomlip.testing import with_random_element_energies, with_random_zero_started_weights


def _graph(model):
    atoms = bulk("NaCl", "rocksalt", a=5.0).repeat((2, 2, 1))
    atoms.rattle(0.15, seed=3)
    return collate([D.atoms_to_graph(atoms, model.cutoff, dtype=torch.float64)])


def _small_model():
    model = build_model("nano-xs", num_scalar_channels=8, num_tensor_channels=4, cutoff=3.5)
    return with_random_element_energies(model.double())


@pytest.mark.parametrize(
    "overrides",
    [
        {"lmax": 2, "sh_lmax": 2},
        {"lmax": 3, "sh_lmax": 3},
        {"lmax": 1, "species_self_connection": True},
        {"lmax": 2, "sh_lmax": 2, "species_self_connection": True},
        {"lmax": 1, "species_pair_radial": True},
        {"lmax": 2, "sh_lmax": 2, "message_products": True},
    ],
)
def test_grown_model_computes_the_same_energy_forces_and_stress(overrides):
    model = _small_model()
    grown = grow_model(model, **overrides)
    assert grown.config.lmax == overrides["lmax"]
    assert grown.num_parameters() > model.num_parameters()
    if overrides.get("species_self_connection"):
        assert grown.layers[0].self_connection is None
        # and it grows further: species-wise to species-wise, l = 2 -> 3
        again = grow_model(grown, lmax=3, sh_lmax=3)
        assert torch.allclose(again(_graph(model))[K.ENERGY], grown(_graph(model))[K.ENERGY])
    assert grown.metadata["grown_from"]["lmax"] == 1
    graph = _graph(model)
    before, after = model(graph), grown(graph)
    for key in (K.ENERGY, K.FORCES, K.STRESS):
        assert torch.allclose(before[key], after[key], atol=1e-10), key
    # the new features are not zero: the grown block really makes l = 2/3 messages
    first = grown.layers[0]
    assert first.tensor_product.irreps_out.lmax == overrides["lmax"]


def test_new_paths_learn_from_the_first_step():
    """Exactly one zero factor per new chain: its gradient is not zero."""
    model = _small_model()
    grown = grow_model(model, lmax=2, sh_lmax=2).train()
    graph = _graph(grown)
    energy = grown(graph)[K.ENERGY].sum()
    energy.backward()
    last = grown.layers[-1]
    new_paths = [i for i, key in enumerate(last.tensor_product.path_keys) if key.startswith("2e")]
    assert new_paths
    views = list(last.linear_out.weight_views(yield_instruction=True))
    grad_views = torch.split(last.linear_out.weight.grad, [v.numel() for _, _, v in views])
    for (_, ins, view), grad in zip(views, grad_views):
        if ins.i_in in new_paths and view.numel():
            assert torch.all(view == 0)  # the zero factor ...
            assert grad.abs().max() > 0  # ... with a gradient


def test_growth_refuses_other_fields_and_shrinking():
    model = _small_model()
    assert grow_model(model, lmax=1, num_scalar_channels=8) is model  # same values: no-op
    with pytest.raises(ValueError, match="train a new model"):
        grow_model(model, num_scalar_channels=16)
    with pytest.raises(ValueError, match="can only grow"):
        grow_model(grow_model(model, lmax=2, sh_lmax=2), lmax=1)
    with pytest.raises(ValueError, match="unknown model configuration keys"):
        grow_model(model, l_max=2)
    species_wise = grow_model(model, species_self_connection=True)
    with pytest.raises(ValueError, match="can only grow"):
        grow_model(species_wise, species_self_connection=False)
    pair_wise = grow_model(model, species_pair_radial=True)
    with pytest.raises(ValueError, match="can only grow"):
        grow_model(pair_wise, species_pair_radial=False)
    with pytest.raises(ValueError, match="must be true or false"):
        grow_model(model, species_pair_radial=1)
    with pytest.raises(ValueError, match="grow them first"):
        grow_model(grow_model(model, message_products=True), lmax=2, sh_lmax=2)


def test_grown_switches_keep_what_an_earlier_growth_learned():
    """A model grown twice (pair tables, then products) keeps the first growth's weights."""
    pair_wise = with_random_zero_started_weights(
        grow_model(_small_model(), species_pair_radial=True)
    )
    both = grow_model(pair_wise, message_products=True)
    graph = _graph(pair_wise)
    for key in (K.ENERGY, K.FORCES):
        assert torch.allclose(pair_wise(graph)[key], both(graph)[key], atol=1e-10), key


def test_species_pair_tables_and_products_learn_from_the_first_step():
    """The grown tables and product maps start at zero (same function) but get a gradient."""
    grown = grow_model(_small_model(), species_pair_radial=True, message_products=True).train()
    grown(_graph(grown))[K.ENERGY].sum().backward()
    for layer in grown.layers:
        tables = layer.radial_mlp.species_pair
        for table in (tables.centre, tables.neighbor):
            assert torch.all(table.weight == 0)
            assert table.weight.grad[[11, 17]].abs().max() > 0  # Na, Cl: the graph's elements
            assert table.weight.grad[[1, 8]].abs().max() == 0  # elements not in the graph
    first = grown.layers[0].message_products.linear_out.weight
    assert torch.all(first == 0) and first.grad.abs().max() > 0


def test_species_wise_model_survives_save_load_and_torchscript(tmp_path):
    from nanomlip.models import load_checkpoint, save_checkpoint
    from nanomlip.models.checkpoint import export_torchscript, load_torchscript

    grown = grow_model(
        _small_model(), lmax=2, sh_lmax=2, species_self_connection=True, species_pair_radial=True
    )
    with_random_zero_started_weights(grown)  # tables that are not zero: the round trip is tested
    graph = _graph(grown)
    expected = grown(graph)[K.ENERGY]
    loaded = load_checkpoint(save_checkpoint(grown, tmp_path / "g.safetensors")).double()
    assert loaded.config.species_self_connection and loaded.config.species_pair_radial
    assert torch.allclose(loaded(graph)[K.ENERGY], expected)
    scripted, _ = load_torchscript(export_torchscript(grown, tmp_path / "g.pt"))
    assert torch.allclose(scripted(graph)[K.ENERGY], expected)
