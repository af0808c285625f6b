import math

import torch

from nanomlip.nn.radial import BesselBasis, PolynomialEnvelope


def test_envelope_is_one_at_origin_and_flat_zero_at_cutoff():
    envelope = PolynomialEnvelope(cutoff=5.0, p=6)
    r = torch.tensor([1e-6, 5.0, 6.0], dtype=torch.float64, requires_grad=True)
    values = envelope(r)
    assert abs(values[0].item() - 1.0) < 1e-9
    assert values[1].item() == 0.0 and values[2].item() == 0.0
    (grad,) = torch.autograd.grad(values.sum(), r, create_graph=True)
    assert abs(grad[1].item()) < 1e-12
    (second,) = torch.autograd.grad(grad.sum(), r)
    assert abs(second[1].item()) < 1e-9


def test_envelope_decreases_monotonically():
    envelope = PolynomialEnvelope(cutoff=4.0)
    r = torch.linspace(0.01, 4.0, 200, dtype=torch.float64)
    assert torch.all(torch.diff(envelope(r)) <= 1e-15)


def test_bessel_basis_shape_and_values():
    basis = BesselBasis(cutoff=5.0, num_basis=8).double()
    r = torch.tensor([0.5, 2.5], dtype=torch.float64)
    values = basis(r)
    assert values.shape == (2, 8)
    expected = (2 / 5.0) ** 0.5 * math.sin(math.pi * 0.5 / 5.0) / 0.5
    assert abs(values[0, 0].item() - expected) < 1e-6  # frequencies are initialised in float32
