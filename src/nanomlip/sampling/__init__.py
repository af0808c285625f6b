"""Structure generators that span chemical and configurational space.

Modules, lowest first: ``base`` (protocol, context, registration table), ``geometry`` and
``options`` (shared by every sampler), the samplers (``prototypes``, ``random_crystals``,
``derived_crystals``, ``equilibrium``, ``molecules``, ``liquids``, ``amorphous``,
``contacts``, ``corpus`` + ``real_crystals``, ``seeds``), ``registry`` (imports them all)
and ``recipe`` (recipes and the frame generator).
"""

from nanomlip.sampling.base import SamplerContext, register_sampler
from nanomlip.sampling.recipe import (
    FrameGenerator,
    Recipe,
    SamplerSpec,
    load_recipe,
    parse_recipe,
)
from nanomlip.sampling.registry import available_samplers, build_sampler

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
