"""Every built-in sampler, registered; :func:`build_sampler` and :func:`available_samplers`.

Importing this module imports each sampler module, whose ``@register_sampler`` adds its
builder to the table in :mod:`nanomlip.sampling.base`. The dependency runs one way
(this module imports base and the samplers; neither imports this module).
"""

from __future__ import annotations

from typing import Any

from nanomlip.sampling import (  # noqa: F401 - imported to register their samplers
    amorphous,
    contacts,
    derived_crystals,
    equilibrium,
    liquids,
    molecules,
    prototypes,
    random_crystals,
    real_crystals,
    seeds,
)
from nanomlip.sampling.base import Sampler, SamplerContext, registered_builder, registered_names


def available_samplers() -> list[str]:
    """Names of every registered sampler, sorted."""
    return registered_names()


def build_sampler(name: str, context: SamplerContext, options: dict[str, Any]) -> Sampler:
    """Instantiate a registered sampler; unknown names list the available ones."""
    builder = registered_builder(name)
    if builder is None:
        raise ValueError(f"unknown sampler {name!r}; available samplers: {available_samplers()}")
    return builder(context, dict(options))
