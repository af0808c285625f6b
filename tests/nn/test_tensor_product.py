import pytest
import torch
from e3nn import o3

from nanomlip.nn.tensor_product import EdgeTensorProduct, uvu_instructions


@pytest.mark.parametrize(
    ("irreps_in", "irreps_target", "sh_lmax"),
    [
        ("8x0e", "8x0e+4x1o", 2),
        ("8x0e+4x1o", "8x0e+4x1o", 2),
        ("8x0e+4x1o+2x2e", "8x0e+4x1o+2x2e", 2),
        ("8x0e+4x1o", "8x0e", 1),
        ("4x0e+2x1o+2x2e+1x3o", "4x0e+2x1o+2x2e+1x3o", 3),
    ],
)
def test_matches_e3nn_tensor_product(irreps_in, irreps_target, sh_lmax):
    torch.manual_seed(0)
    irreps_sh = o3.Irreps.spherical_harmonics(sh_lmax, p=-1)
    ours = EdgeTensorProduct(irreps_in, irreps_sh, irreps_target).double()
    irreps_mid, instructions = uvu_instructions(
        o3.Irreps(irreps_in), irreps_sh, o3.Irreps(irreps_target)
    )
    reference = o3.TensorProduct(
        irreps_in, irreps_sh, irreps_mid, instructions, shared_weights=False, internal_weights=False
    ).double()
    assert ours.irreps_out == irreps_mid
    assert ours.weight_numel == reference.weight_numel
    x = torch.randn(11, o3.Irreps(irreps_in).dim, dtype=torch.float64)
    y = o3.spherical_harmonics(irreps_sh, torch.randn(11, 3, dtype=torch.float64), True)
    w = torch.randn(11, reference.weight_numel, dtype=torch.float64)
    assert torch.allclose(ours(x, y, w), reference(x, y, w), atol=1e-12)


def test_rejects_input_that_reaches_no_output():
    with pytest.raises(ValueError, match="reaches none"):
        EdgeTensorProduct("4x2e", o3.Irreps.spherical_harmonics(0, p=-1), "4x0e")


def test_summing_into_centres_matches_summing_the_messages():
    torch.manual_seed(1)
    irreps_sh = o3.Irreps.spherical_harmonics(2, p=-1)
    tp = EdgeTensorProduct("8x0e+4x1o", irreps_sh, "8x0e+4x1o").double()
    x = torch.randn(13, tp.irreps_in.dim, dtype=torch.float64)
    y = o3.spherical_harmonics(irreps_sh, torch.randn(13, 3, dtype=torch.float64), True)
    w = torch.randn(13, tp.weight_numel, dtype=torch.float64)
    centre = torch.randint(0, 5, (13,))
    expected = torch.zeros(5, tp.irreps_out.dim, dtype=torch.float64).index_add(
        0, centre, tp(x, y, w)
    )
    assert torch.allclose(tp(x, y, w, centre=centre, num_nodes=5), expected, atol=1e-12)
