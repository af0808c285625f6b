import torch
from e3nn import o3

from nanomlip.nn.species_linear import SpeciesLinear


def test_each_atom_gets_its_own_species_map():
    torch.manual_seed(0)
    irreps_in, irreps_out = o3.Irreps("4x0e + 2x1o"), o3.Irreps("3x0e + 2x0e + 2x1o")
    layer = SpeciesLinear(irreps_in, irreps_out, num_species=10)
    features = irreps_in.randn(7, -1)
    species = torch.tensor([3, 8, 3, 1, 8, 8, 1])
    out = layer(features, species)
    for atom, z in enumerate(species.tolist()):
        expected = layer.linear(features[atom : atom + 1], layer.weight[z])
        assert torch.allclose(out[atom], expected[0], atol=1e-6)
    # an atom of another species gets a different map
    swapped = layer(features, torch.tensor([3, 8, 3, 1, 8, 8, 2]))
    assert not torch.allclose(swapped[6], out[6])


def test_species_map_is_equivariant_and_trains_only_present_species():
    torch.manual_seed(1)
    irreps = o3.Irreps("3x0e + 2x1o + 1x2e")
    layer = SpeciesLinear(irreps, irreps, num_species=5)
    features = irreps.randn(6, -1)
    species = torch.tensor([0, 4, 4, 2, 0, 2])
    rotation = o3.rand_matrix()
    wigner = irreps.D_from_matrix(rotation)
    rotated_first = layer(features @ wigner.T, species)
    assert torch.allclose(rotated_first, layer(features, species) @ wigner.T, atol=1e-5)
    layer(features, species).square().sum().backward()
    used = layer.weight.grad.abs().sum(dim=1) > 0
    assert used.tolist() == [True, False, True, False, True]
