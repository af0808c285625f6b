"""Learning-rate schedule and exponential moving average of the weights."""

from __future__ import annotations

import math

import torch

from nanomlip.distill.config import TrainConfig


def learning_rate(step: int, total_steps: int, config: TrainConfig) -> float:
    """Learning rate of optimizer step ``step`` (0-based): linear warm-up, then decay.

    Args:
        step: The step about to be taken.
        total_steps: Length of the whole schedule in steps.
        config: ``lr``, ``warmup_steps``, ``schedule`` and ``min_lr_ratio``.
    """
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    span = max(1, total_steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    low = config.min_lr_ratio
    if config.schedule == "cosine":
        factor = low + (1 - low) * 0.5 * (1 + math.cos(math.pi * progress))
    elif config.schedule == "exponential":
        factor = low**progress if low > 0 else 1.0 - progress
    else:
        factor = 1.0
    return config.lr * factor


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float, step: int) -> None:
    """``ema <- d * ema + (1 - d) * model`` with ``d = min(decay, (1 + step) / (10 + step))``.

    The ramp lets the average follow the fast early changes. Buffers are copied; frozen
    parameters (``requires_grad=False``) are left as they are, bit for bit.
    """
    d = min(decay, (1 + step) / (10 + step))
    for averaged, current in zip(ema.parameters(), model.parameters(), strict=True):
        if not current.requires_grad:
            continue
        averaged.mul_(d).add_(current.detach(), alpha=1 - d)
    for averaged_buffer, current_buffer in zip(ema.buffers(), model.buffers(), strict=True):
        averaged_buffer.copy_(current_buffer)
