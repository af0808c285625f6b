"""The sampler protocol, the context every sampler gets, and the table samplers register in.

This module imports no sampler: each sampler module registers itself with
:func:`register_sampler` when imported, and :mod:`nanomlip.sampling.registry` imports
them all. Recipes and per-frame seeding live in :mod:`nanomlip.sampling.recipe`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator

from nanomlip.teachers import Labeler

#: Keys every sampler writes into ``atoms.info`` (the labelled dataset keeps them).
INFO_CATEGORY = "category"  # e.g. "bulk", "strained", "surface", "molecule", "liquid", ...
INFO_SAMPLER = "sampler"  # the registered sampler name
INFO_GROUP = "group"  # structure group: frames of one group never straddle train/validation
INFO_SEED = "seed"  # "recipe_seed/sampler_position/frame_index"
INFO_FRAME = "frame_index"  # global index of the frame in the recipe

CalculatorFactory = Callable[[], Calculator]


@dataclass
class SamplerContext:
    """What every sampler may use besides its own options.

    Attributes:
        elements: Chemical symbols the teacher knows (samplers must cover all of them).
        max_atoms: Upper bound on atoms per frame.
        min_atoms: Lower bound on atoms per frame for periodic crystals (molecules,
            dimers and trimers may be smaller).
        md_calculator: Factory for the calculator that drives MD snapshots (liquids,
            amorphous) and relaxations; ``None`` means no MD (structures are used as packed).
        fast_calculator: Factory for a cheap calculator (a student) that drives the MD
            snapshots around real crystals; ``None`` leaves them to ``md_calculator``.
        md_labeler: Factory for the batched labeler of the ``md_calculator``'s model
            (:data:`nanomlip.teachers.Labeler`), which relaxations of many structures call
            once per step; ``None``: relax one structure at a time.
    """

    elements: list[str]
    max_atoms: int = 64
    min_atoms: int = 8
    md_calculator: CalculatorFactory | None = None
    fast_calculator: CalculatorFactory | None = None
    md_labeler: Callable[[], Labeler] | None = None


class LazyMDCalculator:
    """Mixin: a sampler's MD driver, made by ``md_factory`` once, on first use.

    Samplers are built in the labelling driver and pickled to worker processes, so the
    calculator itself is created only where frames are made.
    """

    md_factory: CalculatorFactory | None
    _calculator: Calculator | None = None

    def _md_calculator(self) -> Calculator | None:
        if self._calculator is None and self.md_factory is not None:
            self._calculator = self.md_factory()
        return self._calculator


class Sampler(Protocol):
    """Makes one structure from a random generator.

    A sampler may also define ``prepare(indices)``: work shared by the frames ``indices``
    that is cheaper done for all of them at once (the ``corpus`` sampler's batched
    relaxations). :meth:`nanomlip.sampling.FrameGenerator.prepare` calls it; frames must
    come out the same with or without it.
    """

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        """Build frame ``index`` of this sampler using only ``rng`` for randomness.

        The returned ``Atoms`` must carry ``info["category"]`` and ``info["group"]``.
        """
        ...


SamplerBuilder = Callable[[SamplerContext, dict[str, Any]], Sampler]
_SAMPLERS: dict[str, SamplerBuilder] = {}


def register_sampler(name: str) -> Callable[[SamplerBuilder], SamplerBuilder]:
    """Decorator registering a builder ``(context, options) -> Sampler`` under ``name``."""

    def decorator(builder: SamplerBuilder) -> SamplerBuilder:
        if name in _SAMPLERS:
            raise ValueError(f"sampler {name!r} is already registered")
        _SAMPLERS[name] = builder
        return builder

    return decorator


def registered_builder(name: str) -> SamplerBuilder | None:
    """The builder registered under ``name``, or ``None``.

    Only the samplers whose modules were imported are registered;
    :mod:`nanomlip.sampling.registry` imports every built-in one.
    """
    return _SAMPLERS.get(name)


def registered_names() -> list[str]:
    """Names of the samplers registered so far, sorted."""
    return sorted(_SAMPLERS)
