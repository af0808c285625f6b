r"""Radial basis and cutoff envelope.

=============================  ==========================================
Equation                       Variable
=============================  ==========================================
:math:`r_c`                    ``cutoff`` (Å)
:math:`x = r / r_c`            ``x``
:math:`B_n(r) = \sqrt{2/r_c}  ``BesselBasis.forward``
\sin(n \pi x) / r`
:math:`u(x)` (NequIP poly.)    ``PolynomialEnvelope.forward``
=============================  ==========================================

The envelope :math:`u(x) = 1 - \frac{(p+1)(p+2)}{2} x^p + p(p+2) x^{p+1}
- \frac{p(p+1)}{2} x^{p+2}` is 1 at :math:`x=0`, and it and its first
:math:`p - 1` derivatives vanish at :math:`x = 1`; it is zero beyond the cutoff.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class BesselBasis(nn.Module):
    r"""Sine (spherical Bessel j0) radial basis with trainable frequencies.

    Args:
        cutoff: Radial cutoff :math:`r_c` in Å.
        num_basis: Number of basis functions :math:`n = 1..N`.
        trainable: Learn the frequencies (initialised at :math:`n \pi`).
    """

    def __init__(self, cutoff: float, num_basis: int = 8, trainable: bool = True) -> None:
        super().__init__()
        self.cutoff = float(cutoff)
        self.prefactor = math.sqrt(2.0 / self.cutoff)
        frequencies = torch.arange(1, num_basis + 1, dtype=torch.get_default_dtype()) * math.pi
        if trainable:
            self.frequencies = nn.Parameter(frequencies)
        else:
            self.register_buffer("frequencies", frequencies)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        """Evaluate the basis.

        Args:
            r: Distances, shape (E,), Å, strictly positive.

        Returns:
            Basis values, shape (E, num_basis).
        """
        x = (r / self.cutoff).unsqueeze(-1)
        return self.prefactor * torch.sin(self.frequencies * x) / r.unsqueeze(-1)


class PolynomialEnvelope(nn.Module):
    """Smooth polynomial cutoff envelope of order ``p`` (zero beyond the cutoff).

    Args:
        cutoff: Radial cutoff :math:`r_c` in Å.
        p: Order; the envelope is :math:`C^{p-1}` at the cutoff.
    """

    def __init__(self, cutoff: float, p: int = 6) -> None:
        super().__init__()
        self.cutoff = float(cutoff)
        self.p = float(p)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        """Envelope values, shape like ``r``; exactly zero for ``r >= cutoff``."""
        p = self.p
        x = r / self.cutoff
        value = (
            1.0
            - 0.5 * (p + 1.0) * (p + 2.0) * torch.pow(x, p)
            + p * (p + 2.0) * torch.pow(x, p + 1.0)
            - 0.5 * p * (p + 1.0) * torch.pow(x, p + 2.0)
        )
        return value * (x < 1.0).to(value.dtype)
