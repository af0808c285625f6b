"""Checks of sampler options and contexts, written once for every sampler.

Every check raises ``ValueError`` with the sampler's name and the option at fault, so a
bad recipe stops before anything is labelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from ase.data import atomic_numbers

from nanomlip.sampling.base import SamplerContext


def check_options(name: str, options: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """Merge ``options`` over ``defaults``, rejecting unknown keys with a clear error."""
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ValueError(
            f"sampler {name!r} got unknown options {unknown}; it accepts {sorted(defaults)}"
        )
    return {**defaults, **options}


def check_crystal_context(name: str, context: SamplerContext, min_elements: int = 1) -> None:
    """Check the context of a crystal sampler: enough known elements, ``1 <= min <= max`` atoms.

    Args:
        name: The sampler, for the message.
        context: Its context.
        min_elements: Fewest elements the sampler needs.
    """
    if len(context.elements) < min_elements:
        raise ValueError(f"sampler {name!r} needs at least {min_elements} elements")
    unknown = [symbol for symbol in context.elements if symbol not in atomic_numbers]
    if unknown:
        raise ValueError(f"sampler {name!r} got unknown element symbols {unknown}")
    if not 1 <= context.min_atoms <= context.max_atoms:
        raise ValueError(
            f"sampler {name!r} needs 1 <= min_atoms <= max_atoms, "
            f"got {context.min_atoms} and {context.max_atoms}"
        )


def check_in_range(name: str, key: str, value: float, low: float, high: float) -> float:
    """``value`` as a float, if it lies in ``[low, high]`` (the option's own unit)."""
    value = float(value)
    if not low <= value <= high:
        raise ValueError(f"sampler {name!r}: option {key!r} must lie in [{low}, {high}]")
    return value


def check_molecular_context(sampler: str, context: SamplerContext) -> None:
    """Check the context of a molecular sampler: some element, ``max_atoms >= 1``."""
    if not context.elements:
        raise ValueError(f"sampler {sampler!r} needs at least one element")
    if context.max_atoms < 1:
        raise ValueError(f"sampler {sampler!r} needs max_atoms >= 1, got {context.max_atoms}")


def check_fraction(sampler: str, name: str, value: float) -> float:
    """``value`` as a float, if it is a probability or share in ``[0, 1]``."""
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"sampler {sampler!r}: option {name!r} must lie in [0, 1], got {value}")
    return value


def check_non_negative(sampler: str, name: str, value: float) -> float:
    """``value`` as a float, if it is finite and ``>= 0``."""
    value = float(value)
    if not np.isfinite(value) or value < 0.0:
        raise ValueError(f"sampler {sampler!r}: option {name!r} must be >= 0, got {value}")
    return value


def check_pair_range(sampler: str, name: str, value: Sequence[float]) -> tuple[float, float]:
    """``value`` as ``(low, high)``, if it is a pair with ``0 < low <= high``."""
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"sampler {sampler!r}: option {name!r} must be a pair [low, high], got {value!r}"
        ) from error
    if not 0.0 < low <= high:
        raise ValueError(f"sampler {sampler!r}: option {name!r} needs 0 < low <= high")
    return low, high
