"""Gated nonlinearity for equivariant features (Weiler et al. 2018).

Scalars pass through SiLU; every tensor irrep of order ``l > 0`` is multiplied
by the sigmoid of its own scalar gate, which keeps it equivariant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from e3nn import o3
from e3nn.math import normalize2mom
from torch import nn


def _normalized_constant(activation) -> float:
    """Factor that gives ``activation(x)`` unit second moment for ``x ~ N(0, 1)``."""
    return float(normalize2mom(activation).cst)


class Gate(nn.Module):
    """Gate acting on features laid out as ``[scalars | gates | gated]``.

    Args:
        irreps_scalars: Scalar (``0e``) irreps that go through SiLU.
        irreps_gated: Irreps with ``l > 0``; each irrep instance gets one gate.

    Shapes:
        input ``(N, scalars.dim + gated.num_irreps + gated.dim)``,
        output ``(N, scalars.dim + gated.dim)``.
    """

    if TYPE_CHECKING:  # for the type checker only: TorchScript infers it from __init__
        gate_of_component: torch.Tensor

    def __init__(self, irreps_scalars: o3.Irreps, irreps_gated: o3.Irreps) -> None:
        super().__init__()
        for _, ir in irreps_scalars:
            if ir.l != 0 or ir.p != 1:
                raise ValueError(f"gate scalars must be 0e, got {irreps_scalars}")
        self.irreps_in = irreps_scalars + o3.Irreps(f"{irreps_gated.num_irreps}x0e") + irreps_gated
        self.irreps_out = irreps_scalars + irreps_gated
        self.num_scalars = irreps_scalars.dim
        self.num_gates = irreps_gated.num_irreps
        gate_of_component = []
        instance = 0
        for mul, ir in irreps_gated:
            for _ in range(mul):
                gate_of_component.extend([instance] * ir.dim)
                instance += 1
        self.register_buffer("gate_of_component", torch.tensor(gate_of_component, dtype=torch.long))
        self.silu_scale = _normalized_constant(nn.functional.silu)
        self.sigmoid_scale = _normalized_constant(torch.sigmoid)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        scalars = self.silu_scale * nn.functional.silu(features[:, : self.num_scalars])
        if self.num_gates == 0:
            return scalars
        start = self.num_scalars + self.num_gates
        gates = self.sigmoid_scale * torch.sigmoid(features[:, self.num_scalars : start])
        gated = features[:, start:] * gates[:, self.gate_of_component]
        return torch.cat([scalars, gated], dim=-1)
