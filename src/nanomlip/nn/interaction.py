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


class SpeciesPairEmbedding(nn.Module):
    r"""Per-element offsets of a radial MLP's hidden layer, one table per end of an edge.

    :math:`a_{Z_i} + c_{Z_j}` is added to the hidden pre-activation of the radial MLP, so
    the radial weights :math:`W(r_{ij}, Z_i, Z_j)` depend on both elements of the edge
    (Allegro's two-body embedding does the same). Without it the weights depend on
    :math:`r_{ij}` alone and the receiving element shapes the message only after the sum
    over neighbours. Both tables start at zero, so adding them to a trained block keeps its
    function; the cost is two gathers of ``hidden`` values per edge.

    Args:
        num_species: Rows of each table (species index = atomic number).
        hidden: Width of the radial MLP's hidden layer.
    """

    def __init__(self, num_species: int, hidden: int) -> None:
        super().__init__()
        self.centre = nn.Embedding(num_species, hidden)
        self.neighbor = nn.Embedding(num_species, hidden)
        nn.init.zeros_(self.centre.weight)
        nn.init.zeros_(self.neighbor.weight)

    def forward(self, species: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """(E, hidden) offsets of the edges ``edge_index`` (2, E) of atoms ``species`` (N,)."""
        return self.centre(species).index_select(0, edge_index[0]) + self.neighbor(
            species
        ).index_select(0, edge_index[1])


class MessageProducts(nn.Module):
    r"""Invariants of an atom's own summed message, fed back into its scalars.

    The summed message :math:`A_i = \sum_j W(r_{ij}) (h_j \otimes Y(\hat r_{ij}))` holds
    vectors; their squared norms :math:`|A_{i,c}^{(1)}|^2` describe the angles between
    the bonds around atom :math:`i` (ACE's and MACE's product basis at correlation 2). A
    block without them passes angles to the energy only through a neighbour's vectors
    dotted with the bond. The message is mapped to ``channels`` copies of each of its
    irreps, every channel is multiplied by itself into scalars (e3nn's elementwise tensor
    product: :math:`0e \cdot 0e` and :math:`1o \cdot 1o`), and a linear map adds them to
    the pre-gate scalars. The output map starts at zero, so adding the products to a
    trained block keeps its function. Per-atom work only: no cost per edge.

    Args:
        irreps_message: Irreps of the summed message.
        irreps_out: Irreps of the block's pre-gate features (only its ``0e`` entries
            receive the products).
        channels: Multiplicity of each irrep in the products.
    """

    def __init__(self, irreps_message: o3.Irreps, irreps_out: o3.Irreps, channels: int) -> None:
        super().__init__()
        ls = sorted({ir.l for _, ir in o3.Irreps(irreps_message)})
        irreps_mid = o3.Irreps([(channels, (l, (-1) ** l)) for l in ls])
        self.linear_in = o3.Linear(irreps_message, irreps_mid)
        self.product = o3.ElementwiseTensorProduct(irreps_mid, irreps_mid, filter_ir_out=["0e"])
        self.linear_out = o3.Linear(self.product.irreps_out, irreps_out)
        nn.init.zeros_(self.linear_out.weight)

    def forward(self, message: torch.Tensor) -> torch.Tensor:
        """(N, irreps_message.dim) -> (N, irreps_out.dim)."""
        projected = self.linear_in(message)
        return self.linear_out(self.product(projected, projected))


class RadialMLP(nn.Module):
    """Two-layer MLP from radial basis values (and optionally the edge's elements) to weights.

    Shapes: ``(E, num_basis) -> (E, num_weights)``.

    Args:
        num_basis: Number of radial basis values per edge.
        hidden: Width of the hidden layer.
        num_weights: Number of outputs (tensor-product weights) per edge.
        num_species: With a number, the hidden layer gets a :class:`SpeciesPairEmbedding`
            over species indices below it; with 0 the weights depend on the length only.
    """

    def __init__(self, num_basis: int, hidden: int, num_weights: int, num_species: int = 0) -> None:
        super().__init__()
        self.layer_in = nn.Linear(num_basis, hidden)
        self.layer_out = nn.Linear(hidden, num_weights, bias=False)
        for layer in (self.layer_in, self.layer_out):
            nn.init.normal_(layer.weight, std=1.0 / math.sqrt(layer.in_features))
        nn.init.zeros_(self.layer_in.bias)
        self.species_pair: SpeciesPairEmbedding | None = None
        if num_species > 0:
            self.species_pair = SpeciesPairEmbedding(num_species, hidden)

    def forward(
        self, basis: torch.Tensor, species: torch.Tensor, edge_index: torch.Tensor
    ) -> torch.Tensor:
        """Weights (E, num_weights) of the edges ``edge_index`` (2, E).

        ``basis`` is (E, num_basis); ``species`` (N,) is read only with a species-pair
        embedding.
        """
        hidden = self.layer_in(basis)
        if self.species_pair is not None:
            hidden = hidden + self.species_pair(species, edge_index)
        return self.layer_out(nn.functional.silu(hidden))


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
        num_pair_species: With a number, the radial weights depend on the elements of
            both atoms of an edge (:class:`SpeciesPairEmbedding`); with 0 on the length only.
        product_channels: With a number, invariants of the summed message with that many
            channels per irrep are added to the scalars (:class:`MessageProducts`).
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
        num_pair_species: int = 0,
        product_channels: int = 0,
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
        self.radial_mlp = RadialMLP(
            num_basis, radial_hidden, self.tensor_product.weight_numel, num_pair_species
        )
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
        self.message_products: MessageProducts | None = None
        if product_channels > 0:
            self.message_products = MessageProducts(
                self.tensor_product.irreps_out, self.gate.irreps_in, product_channels
            )
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
                species-wise self-connection and the species-pair radial weights.

        Returns:
            (N, irreps_out.dim) new node features.
        """
        centre, neighbor = edge_index[0], edge_index[1]
        weights = self.radial_mlp(edge_basis, species, edge_index)
        sender = self.linear_in(node_features).index_select(0, neighbor)
        aggregated = self.tensor_product(
            sender, edge_attrs, weights, centre=centre, num_nodes=node_features.shape[0]
        )
        message = aggregated * self.neighbor_norm
        pre_gate = self.linear_out(message)
        if self.message_products is not None:
            pre_gate = pre_gate + self.message_products(message)
        if self.species_self_connection is not None:
            pre_gate = pre_gate + self.species_self_connection(node_features, species)
        if self.self_connection is not None:
            pre_gate = pre_gate + self.self_connection(node_features)
        return self.gate(pre_gate)
