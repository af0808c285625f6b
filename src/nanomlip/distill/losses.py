r"""The distillation loss: Huber terms on energy per atom, forces, stress and optional extras.

========================================================================  ==================
Term                                                                      Key
========================================================================  ==================
:math:`\mathrm{H}_\delta(E/N - \hat E/N)` per frame, eV/atom               ``energy``
:math:`\mathrm{H}_\delta(F_{ia} - \hat F_{ia})` per component, eV/Å         ``forces``
:math:`\mathrm{H}_\delta(\sigma_{ab} - \hat\sigma_{ab})`, eV/Å^3            ``stress``
:math:`\mathrm{H}_\delta(\epsilon_i - \hat\epsilon_i)`, eV                 ``atomic_energies``
:math:`\mathrm{H}_\delta((Hv)_{ia} - (\hat H v)_{ia})`                     ``hvp``
========================================================================  ==================

Hats are teacher labels. Each term is a mean over the labelled entries of the
batch (weighted by ``frame_weight`` when the batch has it, see ``category_weights``);
the total is :math:`\sum_t w_t L_t`. The student's Hessian-vector product
is a central difference of its forces, :math:`Hv \approx -[F(x + hv) - F(x - hv)] / 2h`,
which stays differentiable with respect to the weights (error :math:`O(h^2)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch.nn import functional

from nanomlip import _keys as K
from nanomlip.distill import data as D

Graph = dict[str, torch.Tensor]


@dataclass(frozen=True)
class LossSettings:
    """Weights and Huber delta of :func:`distillation_loss` (see the module docstring)."""

    energy_weight: float = 1.0
    forces_weight: float = 10.0
    stress_weight: float = 100.0
    atomic_energies_weight: float = 0.0
    hvp_weight: float = 1.0
    huber_delta: float = 0.01
    hvp_step: float = 0.01


def masked_huber(
    prediction: torch.Tensor, target: torch.Tensor, delta: float, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean Huber loss over the entries, weighted by ``mask`` (broadcast to ``target``).

    A 0/1 mask gives the mean over the labelled entries. Returns 0 (keeping the graph)
    when nothing is labelled.
    """
    loss = functional.huber_loss(prediction, target, reduction="none", delta=delta)
    if mask is None:
        return loss.mean() if loss.numel() else loss.sum()
    weights = mask.reshape(mask.shape + (1,) * (loss.dim() - mask.dim())).expand_as(loss)
    return (loss * weights).sum() / weights.sum().clamp(min=1e-12)


def student_hvp(model: torch.nn.Module, batch: Graph, step: float) -> torch.Tensor:
    """Hessian-vector product of the student along ``batch["hvp_vector"]``, (N, 3).

    Args:
        model: The student (in train mode, so that the result is differentiable).
        batch: A batch with ``hvp_vector`` (N, 3).
        step: Finite-difference step ``h`` in Å per unit of the vector.
    """
    positions, vector = batch[K.POSITIONS], batch[D.HVP_VECTOR]
    plus = model({**batch, K.POSITIONS: positions + step * vector})[K.FORCES]
    minus = model({**batch, K.POSITIONS: positions - step * vector})[K.FORCES]
    return -(plus - minus) / (2.0 * step)


def distillation_loss(
    model: torch.nn.Module,
    batch: Graph,
    output: Graph,
    settings: LossSettings,
    include_hvp: bool = True,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted sum of the Huber terms for one batch.

    Args:
        model: The student (only called for the Hessian-vector product term).
        batch: Batch with targets (see :mod:`nanomlip.distill.data`).
        output: ``model(batch)``.
        settings: Weights and Huber parameters.
        include_hvp: Compute the Hessian-vector product term when the batch has one.

    Returns:
        ``(loss, terms)``: the scalar loss and the unweighted value of every term used.
    """
    delta = settings.huber_delta
    num_atoms = batch[K.NUM_ATOMS].to(output[K.ENERGY].dtype)
    frame_weight = batch.get(D.FRAME_WEIGHT)  # (B,) or None: every frame weighs 1
    atom_weight = None if frame_weight is None else frame_weight[batch[K.BATCH]]
    terms: dict[str, torch.Tensor] = {
        "energy": masked_huber(
            output[K.ENERGY] / num_atoms, batch[D.TARGET_ENERGY] / num_atoms, delta, frame_weight
        ),
        "forces": masked_huber(output[K.FORCES], batch[D.TARGET_FORCES], delta, atom_weight),
    }
    weights = {"energy": settings.energy_weight, "forces": settings.forces_weight}
    stress_mask = batch[D.STRESS_MASK]
    if settings.stress_weight > 0 and bool(stress_mask.any()):
        terms["stress"] = masked_huber(
            output[K.STRESS], batch[D.TARGET_STRESS], delta, _weighted(stress_mask, frame_weight)
        )
        weights["stress"] = settings.stress_weight
    atom_mask = batch[D.ATOMIC_ENERGIES_MASK]
    if settings.atomic_energies_weight > 0 and bool(atom_mask.any()):
        terms["atomic_energies"] = masked_huber(
            output[K.ATOMIC_ENERGIES],
            batch[D.TARGET_ATOMIC_ENERGIES],
            delta,
            _weighted(atom_mask, atom_weight),
        )
        weights["atomic_energies"] = settings.atomic_energies_weight
    if include_hvp and settings.hvp_weight > 0 and _has_hvp(batch):
        atom_mask = _weighted(batch[D.HVP_MASK][batch[K.BATCH]], atom_weight)
        prediction = student_hvp(model, batch, settings.hvp_step)
        terms["hvp"] = masked_huber(prediction, batch[D.TARGET_HVP], delta, atom_mask)
        weights["hvp"] = settings.hvp_weight
    loss = cast(torch.Tensor, sum(weights[name] * value for name, value in terms.items()))
    return loss, {name: float(value.detach()) for name, value in terms.items()}


def _weighted(mask: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    return mask if weight is None else mask * weight


def _has_hvp(batch: Graph) -> bool:
    return D.HVP_MASK in batch and bool(batch[D.HVP_MASK].any())
