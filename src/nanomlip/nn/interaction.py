r"""Equivariant message-passing interaction block (NequIP / SevenNet family).

For every centre atom :math:`i` the block computes

.. math::
    m_i = \frac{1}{\sqrt{\bar n}} \sum_{j \in \mathcal N(i)}
          W(r_{ij}) \cdot
          \big( L_1 h_j \otimes u(r_{ij})\, Y(\hat r_{ij}) \big),
    \qquad h_i' = \mathrm{Gate}(L_2 m_i + S h_i)

==================================  ========================================
Symbol                              Variable
==================================  ========================================
:math:`h_j`                         ``node_features`` (N, irreps_in.dim)
:math:`u(r_{ij}) Y(\hat r_{ij})`    ``edge_attrs`` (E, irreps_sh.dim)
:math:`W(r_{ij})`                   ``self.radial_mlp(edge_basis)`` (E, tp.weight_numel)
:math:`\bar n`                      ``avg_num_neighbors``
:math:`L_1, L_2, S`                 ``linear_in``, ``linear_out``, ``self_connection``
==================================  ========================================

CPU cost is dominated by per-edge work, so the block only creates tensor-product
paths whose output irreps the next layer actually uses (the last layer makes
scalars only) and uses channel-wise ("uvu") paths. The message is linear in the
harmonics, so the cutoff envelope is multiplied into them once per structure
(``edge_attrs``) rather than into every layer's radial weights: the same function,
and every message and its gradient still vanish smoothly at the cutoff, without an
(E, weight_numel) product saved per layer for the force pass. Each path's messages
are summed into the centre atoms as soon as they are made, with
:func:`~nanomlip.nn.scatter.scatter_sum`, which saves only the index.
"""

from __future__ import annotations

import math

import torch
from e3nn import o3
from torch import nn

from nanomlip.nn.gate import Gate
from nanomlip.nn.species_linear import SpeciesLinear
from nanomlip.nn.tensor_product import EdgeTensorProduct


class RadialMLP(nn.Module):
    """Two-layer MLP from radial basis values to tensor-product weights.

    Shapes: ``(E, num_basis) -> (E, num_weights)``.
    """

    def __init__(self, num_basis: int, hidden: int, num_weights: int) -> None:
        super().__init__()
        self.layer_in = nn.Linear(num_basis, hidden)
        self.layer_out = nn.Linear(hidden, num_weights, bias=False)
        for layer in (self.layer_in, self.layer_out):
            nn.init.normal_(layer.weight, std=1.0 / math.sqrt(layer.in_features))
        nn.init.zeros_(self.layer_in.bias)

    def forward(self, basis: torch.Tensor) -> torch.Tensor:
        return self.layer_out(nn.functional.silu(self.layer_in(basis)))


class Interaction(nn.Module):
    r"""One interaction block.

    Args:
        irreps_in: Irreps of the incoming node features.
        irreps_out: Irreps of the outgoing node features (scalars ``0e`` and
            gated ``l > 0`` irreps).
        irreps_sh: Irreps of the edge spherical harmonics.
        num_basis: Number of radial basis functions.
        radial_hidden: Width of the radial MLP.
        avg_num_neighbors: Normalisation :math:`\bar n` of the neighbour sum.
        num_species: With a number, the self-connection :math:`S` has separate weights
            for each species index below it (:class:`SpeciesLinear`, as in NequIP);
            with 0 it is one species-blind linear (``self_connection``).
    """

    def __init__(
        self,
        irreps_in: o3.Irreps,
        irreps_out: o3.Irreps,
        irreps_sh: o3.Irreps,
        num_basis: int,
        radial_hidden: int,
        avg_num_neighbors: float,
        num_species: int = 0,
    ) -> None:
        super().__init__()
        irreps_in, irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
        irreps_scalars = o3.Irreps([(mul, ir) for mul, ir in irreps_out if ir.l == 0])
        irreps_gated = o3.Irreps([(mul, ir) for mul, ir in irreps_out if ir.l > 0])
        self.gate = Gate(irreps_scalars, irreps_gated)
        self.irreps_in = irreps_in
        self.irreps_out = self.gate.irreps_out

        self.linear_in = o3.Linear(irreps_in, irreps_in)
        self.tensor_product = EdgeTensorProduct(irreps_in, irreps_sh, irreps_out)
        self.radial_mlp = RadialMLP(num_basis, radial_hidden, self.tensor_product.weight_numel)
        self.linear_out = o3.Linear(self.tensor_product.irreps_out, self.gate.irreps_in)
        # Exactly one of the two is a module; TorchScript prunes the branch of the other.
        self.self_connection: o3.Linear | None = None
        self.species_self_connection: SpeciesLinear | None = None
        if num_species > 0:
            self.species_self_connection = SpeciesLinear(
                irreps_in, self.gate.irreps_in, num_species
            )
        else:
            self.self_connection = o3.Linear(irreps_in, self.gate.irreps_in)
        self.neighbor_norm = 1.0 / math.sqrt(avg_num_neighbors)

    def forward(
        self,
        node_features: torch.Tensor,
        edge_attrs: torch.Tensor,
        edge_basis: torch.Tensor,
        edge_index: torch.Tensor,
        species: torch.Tensor,
    ) -> torch.Tensor:
        """Update node features.

        Args:
            node_features: (N, irreps_in.dim).
            edge_attrs: (E, irreps_sh.dim) spherical harmonics of the edge directions
                times the cutoff envelope of the edge length.
            edge_basis: (E, num_basis) radial basis values.
            edge_index: (2, E), row 0 the receiving centre, row 1 the sender.
            species: (N,) int64 species index (atomic number) of each atom, used by the
                species-wise self-connection.

        Returns:
            (N, irreps_out.dim) new node features.
        """
        centre, neighbor = edge_index[0], edge_index[1]
        weights = self.radial_mlp(edge_basis)
        sender = self.linear_in(node_features).index_select(0, neighbor)
        aggregated = self.tensor_product(
            sender, edge_attrs, weights, centre=centre, num_nodes=node_features.shape[0]
        )
        pre_gate = self.linear_out(aggregated * self.neighbor_norm)
        if self.species_self_connection is not None:
            pre_gate = pre_gate + self.species_self_connection(node_features, species)
        if self.self_connection is not None:
            pre_gate = pre_gate + self.self_connection(node_features)
        return self.gate(pre_gate)
