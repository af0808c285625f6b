"""Freezing the early blocks of a student for fine-tuning.

Frozen parameters keep ``requires_grad=False``: the optimizer then never updates them
(AdamW skips parameters without a gradient, weight decay included) and the weight
average copies nothing into them, so they stay bit-identical to the starting model.
"""

from __future__ import annotations

from nanomlip.models.nano import NanoModel

#: Modules before the first interaction block; frozen with any ``num_layers >= 1``.
INPUT_MODULES = ("embedding", "radial_basis")


def freeze_early_layers(model: NanoModel, num_layers: int) -> list[str]:
    """Freeze the element embedding, the radial basis and the first ``num_layers`` blocks.

    Args:
        model: The student; changed in place.
        num_layers: Interaction blocks to freeze, from the input side (0: none).

    Returns:
        Names of the frozen parameters.

    Raises:
        ValueError: ``num_layers`` is negative or not below the model's block count
            (at least the last block and the readout must stay trainable).
    """
    total = len(model.layers)
    if not 0 <= num_layers < total:
        raise ValueError(
            f"freeze_layers={num_layers}: the model has {total} interaction blocks; freeze "
            f"0 to {total - 1} of them (the last block and the readout stay trainable)"
        )
    if num_layers == 0:
        return []
    prefixes = [*INPUT_MODULES, *(f"layers.{k}" for k in range(num_layers))]
    frozen = []
    for name, parameter in model.named_parameters():
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            parameter.requires_grad_(False)
            frozen.append(name)
    return frozen
