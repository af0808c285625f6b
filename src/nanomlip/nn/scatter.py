"""Sum of edge rows into node rows whose backward pass keeps only the index.

``torch.zeros(N, D).index_add_(0, index, source)`` is the obvious scatter, but its
autograd node saves ``source`` itself (the backward formula expands to its shape), so a
message-passing layer keeps a full (E, D) copy of its messages alive until the force
pass. For nano-5.0 on amorphous SiO2 that was 1.4 KB of the 5 KB saved per edge. The
gradient of a sum only needs the index (``grad.index_select(0, index)``), which is what
:class:`_ScatterSum` saves. Its backward is built from differentiable operations, so it
also serves training, where forces are differentiated again.
"""

from __future__ import annotations

import torch


class _ScatterSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, source: torch.Tensor, index: torch.Tensor, num_rows: int) -> torch.Tensor:
        ctx.save_for_backward(index)
        out = source.new_zeros((num_rows,) + tuple(source.shape[1:]))
        return out.index_add_(0, index, source)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (index,) = ctx.saved_tensors
        return grad.index_select(0, index), None, None


@torch.jit.unused
def _scatter_sum_autograd(source: torch.Tensor, index: torch.Tensor, num_rows: int) -> torch.Tensor:
    return _ScatterSum.apply(source, index, num_rows)


def scatter_sum(source: torch.Tensor, index: torch.Tensor, num_rows: int) -> torch.Tensor:
    """Rows of ``source`` summed into ``num_rows`` rows by ``index``.

    Args:
        source: (E, ...) values per edge.
        index: (E,) int64 destination row of each edge, in ``[0, num_rows)``.
        num_rows: Number of output rows N.

    Returns:
        (N, ...) sums; rows that no edge points to are zero.
    """
    if torch.jit.is_scripting():
        out = torch.zeros([num_rows] + source.shape[1:], dtype=source.dtype, device=source.device)
        return out.index_add_(0, index, source)
    return _scatter_sum_autograd(source, index, num_rows)
