r"""The nanomlip student: a compact E(3)-equivariant message-passing potential.

Energy is a sum of per-atom energies; forces and stress come from one autograd
pass with respect to the edge vectors :math:`\mathbf r_{ij}`:

=======================================================  =========================
Equation                                                 Variable
=======================================================  =========================
:math:`E = \sum_i (\sigma_{Z_i} \epsilon_i + \mu_{Z_i})`  ``energy``
:math:`\mathbf g_{ij} = \partial E / \partial \mathbf r_{ij}`  ``edge_grad`` (E, 3)
:math:`\mathbf F_i = \sum_j \mathbf g_{ij} - \sum_j \mathbf g_{ji}`  ``forces``
:math:`\partial_\varepsilon E = \sum_{ij} g_{ij,a} r_{ij,b}`             ``d_energy_d_strain``
:math:`\sigma = V^{-1} \partial E / \partial \varepsilon`  ``stress`` (ASE convention)
=======================================================  =========================

Because :math:`\mathbf r_{ij} = \mathbf x_j - \mathbf x_i + S\,\mathbf C`, the
chain rule gives forces and the strain derivative without a strain tensor in the
graph, which keeps the backward pass to a single call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict

import torch
from e3nn import o3
from torch import nn

from nanomlip import _keys as K
from nanomlip.models.config import MAX_ATOMIC_NUMBER, ModelConfig
from nanomlip.nn.interaction import Interaction
from nanomlip.nn.radial import BesselBasis, PolynomialEnvelope


def node_irreps(config: ModelConfig) -> o3.Irreps:
    """Hidden node irreps: scalars plus one natural-parity irrep per ``l`` up to lmax.

    Only natural parity (``0e, 1o, 2e, 3o``) is used: these are proper tensors, so
    pseudo-scalars never appear and the energy is exactly reflection invariant.
    """
    parts = [(config.num_scalar_channels, (0, 1))]
    parts += [(config.num_tensor_channels, (l, (-1) ** l)) for l in range(1, config.lmax + 1)]
    return o3.Irreps(parts)


class NanoModel(nn.Module):
    """Compact equivariant interatomic potential.

    Args:
        config: Hyper-parameters.

    The forward pass takes a graph dictionary (see :mod:`nanomlip._keys`) and
    returns ``energy`` (B,), ``atomic_energies`` (N,) and, when
    ``compute_forces`` is on (default), ``forces`` (N, 3), ``stress`` (B, 3, 3)
    and ``virial`` (B, 3, 3). Stress of a structure with zero cell volume is zero.
    """

    if TYPE_CHECKING:  # for the type checker only: TorchScript infers them from __init__
        atomic_energy_shift: torch.Tensor
        atomic_energy_scale: torch.Tensor
        supported_species: torch.Tensor
        layers: nn.ModuleList
        metadata: dict[str, Any]

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.cutoff = float(config.cutoff)
        self.compute_forces = True
        self.irreps_sh = o3.Irreps.spherical_harmonics(config.sh_lmax, p=-1)
        self.spherical_harmonics = o3.SphericalHarmonics(
            self.irreps_sh, normalize=True, normalization="component"
        )
        self.radial_basis = BesselBasis(config.cutoff, config.num_basis)
        self.envelope = PolynomialEnvelope(config.cutoff, config.envelope_p)
        self.embedding = nn.Embedding(MAX_ATOMIC_NUMBER + 1, config.num_scalar_channels)

        hidden = node_irreps(config)
        irreps = o3.Irreps(f"{config.num_scalar_channels}x0e")
        layers = []
        for index in range(config.num_layers):
            is_last = index == config.num_layers - 1
            target = o3.Irreps(f"{config.num_scalar_channels}x0e") if is_last else hidden
            layer = Interaction(
                irreps_in=irreps,
                irreps_out=target,
                irreps_sh=self.irreps_sh,
                num_basis=config.num_basis,
                radial_hidden=config.radial_hidden,
                avg_num_neighbors=config.avg_num_neighbors,
                num_species=MAX_ATOMIC_NUMBER + 1 if config.species_self_connection else 0,
                num_pair_species=MAX_ATOMIC_NUMBER + 1 if config.species_pair_radial else 0,
                product_channels=config.num_tensor_channels if config.message_products else 0,
            )
            layers.append(layer)
            irreps = layer.irreps_out
        self.layers = nn.ModuleList(layers)
        self.readout = nn.Sequential(
            nn.Linear(config.num_scalar_channels, config.readout_hidden),
            nn.SiLU(),
            nn.Linear(config.readout_hidden, 1),
        )
        self.register_buffer("atomic_energy_shift", torch.zeros(MAX_ATOMIC_NUMBER + 1))
        self.register_buffer("atomic_energy_scale", torch.ones(MAX_ATOMIC_NUMBER + 1))
        supported = torch.ones(MAX_ATOMIC_NUMBER + 1, dtype=torch.bool)
        supported[0] = False
        self.register_buffer("supported_species", supported)

    # ------------------------------------------------------------------ python-only helpers
    @torch.jit.unused
    def species(self) -> list[int]:
        """Atomic numbers this model was built or trained for."""
        return torch.nonzero(self.supported_species).flatten().tolist()

    @torch.jit.unused
    def set_species(self, atomic_numbers: list[int]) -> None:
        """Restrict the supported elements (e.g. to those present in training data)."""
        mask = torch.zeros_like(self.supported_species)
        for z in atomic_numbers:
            if not 1 <= int(z) <= MAX_ATOMIC_NUMBER:
                raise ValueError(f"atomic number {z} is outside 1..{MAX_ATOMIC_NUMBER}")
            mask[int(z)] = True
        self.supported_species.copy_(mask)

    @torch.jit.unused
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ------------------------------------------------------------------ forward
    def forward(self, data: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        positions = data[K.POSITIONS]
        numbers = data[K.ATOMIC_NUMBERS]
        batch = data[K.BATCH]
        edge_index = data[K.EDGE_INDEX]
        cell = data[K.CELL]
        centre, neighbor = edge_index[0], edge_index[1]
        num_graphs = cell.shape[0]

        shift_vectors = torch.einsum("ek,ekl->el", data[K.EDGE_CELL_SHIFT], cell[batch[centre]])
        edge_vectors = positions[neighbor] - positions[centre] + shift_vectors
        if self.compute_forces:
            edge_vectors = edge_vectors.detach().requires_grad_(True)
        lengths = torch.linalg.vector_norm(edge_vectors, dim=-1)
        edge_sh = self.spherical_harmonics(edge_vectors)
        edge_basis = self.radial_basis(lengths)
        # The messages are linear in the harmonics: the envelope goes in once, here.
        edge_attrs = edge_sh * self.envelope(lengths).unsqueeze(-1)

        features = self.embedding(numbers)
        num_layers = len(self.layers)
        for index, layer in enumerate(self.layers):
            if K.ATOM_DEPTH in data:  # messages only where the wanted energies need them
                depth = data[K.ATOM_DEPTH]
                kept = torch.nonzero(depth[centre] <= num_layers - 1 - index).squeeze(1)
                features = layer(
                    features,
                    edge_attrs.index_select(0, kept),
                    edge_basis.index_select(0, kept),
                    edge_index.index_select(1, kept),
                    numbers,
                )
            else:
                features = layer(features, edge_attrs, edge_basis, edge_index, numbers)
        atomic_energies = self.readout(features).squeeze(-1)
        atomic_energies = (
            atomic_energies * self.atomic_energy_scale[numbers] + self.atomic_energy_shift[numbers]
        )
        energy = torch.zeros(
            num_graphs, dtype=atomic_energies.dtype, device=atomic_energies.device
        ).index_add(0, batch, atomic_energies)
        out = {K.ENERGY: energy, K.ATOMIC_ENERGIES: atomic_energies}
        if self.compute_forces:
            out.update(self._forces_and_stress(energy, edge_vectors, data))
        return out

    def _forces_and_stress(
        self, energy: torch.Tensor, edge_vectors: torch.Tensor, data: Dict[str, torch.Tensor]
    ) -> Dict[str, torch.Tensor]:
        positions = data[K.POSITIONS]
        edge_index = data[K.EDGE_INDEX]
        cell = data[K.CELL]
        grads = torch.autograd.grad(
            [energy.sum()],
            [edge_vectors],
            create_graph=self.training,
            allow_unused=True,
        )
        edge_grad = grads[0]
        if edge_grad is None:
            edge_grad = torch.zeros_like(edge_vectors)
        forces = (
            torch.zeros_like(positions)
            .index_add(0, edge_index[0], edge_grad)
            .index_add(0, edge_index[1], -edge_grad)
        )
        edge_graph = data[K.BATCH][edge_index[0]]
        per_edge = edge_grad.unsqueeze(-1) * edge_vectors.unsqueeze(-2)  # (E, 3, 3): g_a r_b
        d_energy_d_strain = torch.zeros(
            (cell.shape[0], 3, 3), dtype=positions.dtype, device=positions.device
        ).index_add(0, edge_graph, per_edge)
        d_energy_d_strain = 0.5 * (d_energy_d_strain + d_energy_d_strain.transpose(1, 2))
        volume = torch.linalg.det(cell).abs()
        safe_volume = torch.where(volume > 0, volume, torch.ones_like(volume))
        stress = d_energy_d_strain / safe_volume.view(-1, 1, 1)
        stress = stress * (volume > 0).to(stress.dtype).view(-1, 1, 1)
        return {K.FORCES: forces, K.STRESS: stress, K.VIRIAL: -d_energy_d_strain}
