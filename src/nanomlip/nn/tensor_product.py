r"""Channel-wise ("uvu") tensor product of node features with edge spherical harmonics.

This computes the same function as :class:`e3nn.o3.TensorProduct` with ``uvu``
instructions, per-edge weights and component normalisation, but reorganised for
the CPU. The Clebsch-Gordan contraction with the spherical harmonics does not
depend on the channel, so it is done once per edge:

.. math::
    M^{(b)}_{e,i,(p,k)} = \sum_j C^{(p)}_{ijk}\, Y_{e,j}, \qquad
    m_{e,u,(p,k)} = w_{e,p,u} \sum_i x_{e,u,i}\, M^{(b)}_{e,i,(p,k)}

=========================  ==============================================
Symbol                     Variable
=========================  ==============================================
:math:`x_{e,u,i}`          sender features of input block ``b`` (E, U, d_in)
:math:`Y_{e,j}`            ``edge_sh`` (E, irreps_sh.dim)
:math:`C^{(p)}`            Wigner 3j of path ``p`` times :math:`\sqrt{2l_{out}+1}`
:math:`M^{(b)}`            ``coupling`` (E, d_in, D_b), one small matrix per edge
:math:`w_{e,p,u}`          ``weights`` (E, weight_numel), e3nn's weight order
=========================  ==============================================

The first contraction is one small GEMM for all paths; the second is, per path,
a broadcast product (scalar inputs) or a tiny batched matrix product (tensor
inputs) whose result is already in e3nn's output layout. Inputs are cut with
``torch.split`` so that the backward pass (forces) concatenates gradients instead
of zero-filling a full-size buffer per slice. A unit test checks equality with
:class:`e3nn.o3.TensorProduct` to rounding.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, List

import torch
from e3nn import o3
from torch import nn

from nanomlip.nn.scatter import scatter_sum


def uvu_instructions(
    irreps_in: o3.Irreps, irreps_sh: o3.Irreps, irreps_target: o3.Irreps
) -> tuple[o3.Irreps, list[tuple[int, int, int, str, bool]]]:
    """The same paths as e3nn ``uvu`` instructions (used to cross-check this module).

    Returns:
        ``(irreps_mid, instructions)`` for :class:`e3nn.o3.TensorProduct`.
    """
    wanted = {ir for _, ir in irreps_target}
    mid: list[tuple[int, o3.Irrep]] = []
    instructions = []
    for i_in, (mul, ir_in) in enumerate(irreps_in):
        for i_sh, (_, ir_sh) in enumerate(irreps_sh):
            for ir_out in ir_in * ir_sh:
                if ir_out in wanted:
                    instructions.append((i_in, i_sh, len(mid), "uvu", True))
                    mid.append((mul, ir_out))
    return o3.Irreps(mid), instructions


class EdgeTensorProduct(nn.Module):
    """``uvu`` tensor product ``x (irreps_in) ⊗ Y (irreps_sh)`` restricted to wanted outputs.

    Args:
        irreps_in: Irreps of the sender features.
        irreps_sh: Irreps of the spherical harmonics (one copy of each ``l``).
        irreps_target: Only paths whose output irrep appears here are built.

    Attributes:
        irreps_out: Irreps of the output in e3nn layout, one entry per path.
        path_keys: One name per path, ``"<input>*<harmonic>-><output>"``, in the order
            of the weights and of :attr:`irreps_out`.
        weight_numel: Number of per-edge weights.
    """

    if TYPE_CHECKING:  # for the type checker only: TorchScript infers it from __init__
        coupling: torch.Tensor

    def __init__(
        self, irreps_in: o3.Irreps, irreps_sh: o3.Irreps, irreps_target: o3.Irreps
    ) -> None:
        super().__init__()
        irreps_in, irreps_sh = o3.Irreps(irreps_in), o3.Irreps(irreps_sh)
        wanted = {ir for _, ir in o3.Irreps(irreps_target)}
        sh_offsets = [0]
        for _, ir in irreps_sh:
            sh_offsets.append(sh_offsets[-1] + ir.dim)

        self.block_mul: List[int] = []
        self.block_dim_in: List[int] = []
        self.block_dim_out: List[int] = []  # D_b, summed over the block's paths
        self.block_num_paths: List[int] = []
        self.block_path_dims: List[List[int]] = []
        self.path_keys: List[str] = []  # "1o*2e->1o" per path, in weight and output order
        coupling_columns: list[torch.Tensor] = []
        out_irreps: list[tuple[int, o3.Irrep]] = []

        for mul, ir_in in irreps_in:
            paths = [
                (i_sh, ir_out)
                for i_sh, (_, ir_sh) in enumerate(irreps_sh)
                for ir_out in ir_in * ir_sh
                if ir_out in wanted
            ]
            if not paths:
                raise ValueError(f"input irrep {ir_in} reaches none of {sorted(wanted)}")
            dim_out = sum(ir_out.dim for _, ir_out in paths)
            block = torch.zeros(irreps_sh.dim, ir_in.dim, dim_out)
            k_offset = 0
            for i_sh, ir_out in paths:
                l_sh = irreps_sh[i_sh].ir.l
                cg = o3.wigner_3j(ir_in.l, l_sh, ir_out.l) * math.sqrt(ir_out.dim)  # (i, j, k)
                rows = slice(sh_offsets[i_sh], sh_offsets[i_sh + 1])
                block[rows, :, k_offset : k_offset + ir_out.dim] = cg.permute(1, 0, 2)
                out_irreps.append((mul, ir_out))
                self.path_keys.append(f"{ir_in}*{irreps_sh[i_sh].ir}->{ir_out}")
                k_offset += ir_out.dim
            coupling_columns.append(block.reshape(irreps_sh.dim, ir_in.dim * dim_out))
            self.block_mul.append(mul)
            self.block_dim_in.append(ir_in.dim)
            self.block_dim_out.append(dim_out)
            self.block_num_paths.append(len(paths))
            self.block_path_dims.append([ir_out.dim for _, ir_out in paths])

        self.irreps_in = irreps_in
        self.irreps_sh = irreps_sh
        self.block_sizes_in: List[int] = [u * d for u, d in zip(self.block_mul, self.block_dim_in)]
        self.block_sizes_coupling: List[int] = [
            d_in * d_out for d_in, d_out in zip(self.block_dim_in, self.block_dim_out)
        ]
        self.path_weight_sizes: List[int] = [
            u for u, dims in zip(self.block_mul, self.block_path_dims) for _ in dims
        ]
        self.irreps_out = o3.Irreps(out_irreps)
        self.weight_numel = sum(u * p for u, p in zip(self.block_mul, self.block_num_paths))
        self.register_buffer("coupling", torch.cat(coupling_columns, dim=1))

    def forward(
        self,
        sender: torch.Tensor,
        edge_sh: torch.Tensor,
        weights: torch.Tensor,
        centre: torch.Tensor | None = None,
        num_nodes: int = 0,
    ) -> torch.Tensor:
        """Messages in e3nn layout of :attr:`irreps_out`, or their sums per centre atom.

        With ``centre`` given, each path's messages are summed into the centre atoms as
        soon as they are made, so that at most one path's (E, U, d) messages exist at a
        time (forward and backward) instead of all of them plus their concatenation.

        Args:
            sender: (E, irreps_in.dim) features of the sending atoms.
            edge_sh: (E, irreps_sh.dim) spherical harmonics of the edges.
            weights: (E, weight_numel) per-edge path weights (e3nn order).
            centre: (E,) receiving atom of each edge, or None.
            num_nodes: Number of atoms N (used with ``centre``).

        Returns:
            (E, irreps_out.dim) messages, or (N, irreps_out.dim) sums with ``centre``.
        """
        num_edges = sender.shape[0]
        # torch.split (not slicing) so that the backward pass concatenates the pieces
        # instead of zero-filling a full-size gradient per slice.
        senders = torch.split(sender, self.block_sizes_in, dim=1)
        couplings = torch.split(edge_sh @ self.coupling, self.block_sizes_coupling, dim=1)
        path_weights = torch.split(weights, self.path_weight_sizes, dim=1)
        outputs: List[torch.Tensor] = []
        path = 0
        for block, (mul, dim_in, dim_out, path_dims) in enumerate(
            zip(self.block_mul, self.block_dim_in, self.block_dim_out, self.block_path_dims)
        ):
            x = senders[block].reshape(num_edges, mul, dim_in)
            m = couplings[block].reshape(num_edges, dim_in, dim_out)
            m_paths = torch.split(m, path_dims, dim=2)
            for index, dim in enumerate(path_dims):
                w = path_weights[path]  # (E, U)
                m_path = m_paths[index]  # (E, d_in, d_out)
                if dim_in == 1:
                    message = (x[:, :, 0] * w).unsqueeze(-1) * m_path
                elif dim == 1:
                    message = torch.einsum("eui,eik->euk", x, m_path).squeeze(-1) * w
                else:
                    message = torch.einsum("eui,eik->euk", x, m_path) * w.unsqueeze(-1)
                message = message.reshape(num_edges, mul * dim)
                if centre is not None:
                    message = scatter_sum(message, centre, num_nodes)
                outputs.append(message)
                path += 1
        return torch.cat(outputs, dim=1)
