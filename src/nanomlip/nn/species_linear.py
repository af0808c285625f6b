r"""Equivariant linear map with its own weights for every chemical element.

NequIP, SevenNet and MACE make the self-connection of an interaction block depend on
the species of the receiving atom (a tensor product with the one-hot species); without
it a block adds the neighbour message to a species-blind map of the atom's own features,
so the receiver's element shapes the message only through one nonlinearity.

.. math::
    y_i = L_{Z_i}(x_i), \qquad L_Z \text{ an } \texttt{e3nn.o3.Linear} \text{ with weights } W_Z

The atoms are sorted by species once per call and each species' atoms go through one
shared-weight e3nn linear with that species' weights, so the cost is one dense map per
atom (as for a species-blind linear) plus a gather, and nothing per-atom is stored for
the backward pass beyond the inputs (a per-atom weight gather would store ``weight_numel``
floats per atom).
"""

from __future__ import annotations

from typing import List

import torch
from e3nn import o3
from torch import nn


class SpeciesLinear(nn.Module):
    """``o3.Linear(irreps_in, irreps_out)`` with one weight vector per species index.

    Args:
        irreps_in: Irreps of the input features.
        irreps_out: Irreps of the output features.
        num_species: Number of weight rows (species indices run over ``0..num_species-1``;
            the model uses the atomic number).

    Attributes:
        weight: (num_species, weight_numel) parameters, every row initialised like the
            internal weights of an ``o3.Linear`` (standard normal; e3nn normalises).
    """

    def __init__(self, irreps_in: o3.Irreps, irreps_out: o3.Irreps, num_species: int) -> None:
        super().__init__()
        self.linear = o3.Linear(irreps_in, irreps_out, internal_weights=False, shared_weights=True)
        self.irreps_in = self.linear.irreps_in
        self.irreps_out = self.linear.irreps_out
        self.weight = nn.Parameter(torch.randn(num_species, self.linear.weight_numel))

    def forward(self, features: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        """Apply each atom's species map.

        Args:
            features: (N, irreps_in.dim).
            species: (N,) int64 species index of each atom.

        Returns:
            (N, irreps_out.dim).
        """
        order = torch.argsort(species)
        present, counts = torch.unique_consecutive(species[order], return_counts=True)
        sizes: List[int] = counts.tolist()
        species_present: List[int] = present.tolist()
        pieces = torch.split(features.index_select(0, order), sizes)
        outputs: List[torch.Tensor] = []
        for index, piece in enumerate(pieces):
            outputs.append(self.linear(piece, self.weight[species_present[index]]))
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(order.shape[0], device=order.device)
        return torch.cat(outputs, dim=0).index_select(0, inverse)
