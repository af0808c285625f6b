"""Structure generators that span chemical and configurational space."""

from nanomlip.sampling.base import (
    FrameGenerator,
    Recipe,
    SamplerContext,
    SamplerSpec,
    available_samplers,
    build_sampler,
    load_recipe,
    parse_recipe,
    register_sampler,
)

__all__ = [
    "FrameGenerator",
    "Recipe",
    "SamplerContext",
    "SamplerSpec",
    "available_samplers",
    "build_sampler",
    "load_recipe",
    "parse_recipe",
    "register_sampler",
]
