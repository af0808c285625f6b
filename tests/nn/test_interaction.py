import torch
from e3nn import o3

from nanomlip import build_model, testing
from nanomlip.nn.interaction import MessageProducts, RadialMLP


def _radial_with_random_tables(num_species=4):
    torch.manual_seed(0)
    radial = RadialMLP(num_basis=3, hidden=5, num_weights=2, num_species=num_species)
    return testing.with_random_zero_started_weights(radial)


def test_species_pair_radial_weights_depend_on_both_elements_and_their_order():
    radial = _radial_with_random_tables()
    basis = torch.ones(4, 3)  # the same length on every edge
    species = torch.tensor([1, 2, 3])
    edges = torch.tensor([[0, 1, 0, 0], [1, 0, 2, 1]])  # 1-2, 2-1, 1-3, 1-2 again
    weights = radial(basis, species, edges)
    assert torch.equal(weights[0], weights[3])  # same pair, same weights
    assert not torch.allclose(weights[0], weights[1])  # order of the pair matters
    assert not torch.allclose(weights[0], weights[2])  # other neighbour element


def test_radial_weights_of_length_only_ignore_the_elements():
    torch.manual_seed(0)
    radial = RadialMLP(num_basis=3, hidden=5, num_weights=2)
    basis = torch.ones(2, 3)
    weights = radial(basis, torch.tensor([1, 2, 3]), torch.tensor([[0, 1], [1, 2]]))
    assert radial.species_pair is None
    assert torch.equal(weights[0], weights[1])


def test_species_pair_model_passes_the_consistency_suite(tmp_path):
    model = build_model("nano-xs", species_pair_radial=True).double()
    testing.with_random_zero_started_weights(model)
    testing.check_model(testing.with_random_element_energies(model), tmp_path)


def test_message_products_see_the_angle_between_two_bonds():
    """Two bonds at 90 and at 180 degrees: the same sum of scalars, other products."""
    torch.manual_seed(0)
    products = MessageProducts(o3.Irreps("1x0e+1x1o"), o3.Irreps("2x0e"), channels=2)
    testing.with_random_zero_started_weights(products)
    sh = o3.spherical_harmonics("1x0e+1x1o", torch.eye(3), normalize=True)  # x, y, z bonds
    right_angle = sh[0] + sh[1]
    straight = sh[0] + o3.spherical_harmonics("1x0e+1x1o", -torch.eye(3)[:1], True)[0]
    assert torch.allclose(right_angle[0], straight[0])  # the scalar part alone cannot tell
    out = products(torch.stack([right_angle, straight]))
    assert not torch.allclose(out[0], out[1])


def test_message_products_model_passes_the_consistency_suite(tmp_path):
    model = build_model("nano-xs", message_products=True, species_pair_radial=True).double()
    testing.with_random_zero_started_weights(model)
    testing.check_model(testing.with_random_element_energies(model), tmp_path)
