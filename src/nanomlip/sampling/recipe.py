"""Recipes: which samplers make how many frames, and the generator of any frame of a recipe.

Every frame is generated *independently* from its own seed, derived from the recipe
seed, the sampler's position in the recipe and the frame's index within that sampler
(:func:`frame_rng`). Any range of frames can therefore be generated alone, in any order,
in any process, and always gives the same structures: this is what makes labelling
resumable after a crash and parallel without coordination.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from nanomlip.sampling.base import (
    INFO_CATEGORY,
    INFO_FRAME,
    INFO_GROUP,
    INFO_SAMPLER,
    INFO_SEED,
    CalculatorFactory,
    SamplerContext,
)
from nanomlip.sampling.registry import build_sampler
from nanomlip.teachers import Labeler


@dataclass
class SamplerSpec:
    """One sampler of a recipe: its registered name, frame count and options."""

    name: str
    count: int
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recipe:
    """A reproducible description of a structure set (usually read from YAML).

    Attributes:
        seed: Master seed.
        samplers: The samplers, in order; global frame indices follow this order.
        elements: Symbols to cover; ``None`` means every element the teacher knows.
        max_atoms: Upper bound on atoms per frame.
        min_atoms: Lower bound for periodic crystals.
    """

    seed: int
    samplers: list[SamplerSpec]
    elements: list[str] | None = None
    max_atoms: int = 64
    min_atoms: int = 8

    @property
    def num_frames(self) -> int:
        return sum(spec.count for spec in self.samplers)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_recipe(data: dict[str, Any]) -> Recipe:
    """Validate a recipe dictionary (as loaded from YAML)."""
    if not isinstance(data, dict):
        raise ValueError("a recipe must be a mapping with keys 'seed' and 'samplers'")
    known = {"seed", "samplers", "elements", "max_atoms", "min_atoms"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown recipe keys {unknown}; known keys are {sorted(known)}")
    if "samplers" not in data or not data["samplers"]:
        raise ValueError("the recipe lists no samplers")
    specs = []
    for position, entry in enumerate(data["samplers"]):
        if not isinstance(entry, dict) or "name" not in entry or "count" not in entry:
            raise ValueError(f"sampler entry {position} needs 'name' and 'count': {entry!r}")
        extra = sorted(set(entry) - {"name", "count", "options"})
        if extra:
            raise ValueError(f"sampler entry {position} has unknown keys {extra}")
        if int(entry["count"]) < 0:
            raise ValueError(f"sampler entry {position} has a negative count")
        specs.append(
            SamplerSpec(entry["name"], int(entry["count"]), dict(entry.get("options") or {}))
        )
    elements = data.get("elements")
    if elements is not None:
        bad = [e for e in elements if e not in atomic_numbers]
        if bad:
            raise ValueError(f"unknown element symbols in recipe: {bad}")
    return Recipe(
        seed=int(data.get("seed", 0)),
        samplers=specs,
        elements=list(elements) if elements is not None else None,
        max_atoms=int(data.get("max_atoms", 64)),
        min_atoms=int(data.get("min_atoms", 8)),
    )


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a YAML recipe file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"recipe file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"recipe {str(path)!r} is not valid YAML: {error}") from error
    return parse_recipe(data)


def frame_rng(
    recipe_seed: int, sampler_position: int, frame_in_sampler: int
) -> np.random.Generator:
    """The random generator of one frame, independent of every other frame."""
    return np.random.default_rng([recipe_seed, sampler_position, frame_in_sampler])


def locate_frame(recipe: Recipe, frame_index: int) -> tuple[int, int]:
    """Map a global frame index to ``(sampler position, index within that sampler)``."""
    if not 0 <= frame_index < recipe.num_frames:
        raise IndexError(f"frame {frame_index} is outside 0..{recipe.num_frames - 1}")
    offset = 0
    for position, spec in enumerate(recipe.samplers):
        if frame_index < offset + spec.count:
            return position, frame_index - offset
        offset += spec.count
    raise AssertionError("unreachable")


class FrameGenerator:
    """Generates any frame of a recipe on demand.

    Args:
        recipe: The recipe.
        elements: Elements the teacher knows; the recipe's own list, if any, is
            intersected with it.
        md_calculator: Factory for the MD driver of liquid/amorphous samplers.
        fast_calculator: Factory for the cheap MD driver of the ``corpus`` sampler.
        md_labeler: Factory for the batched labeler of the MD driver's model (batched
            relaxations, :meth:`prepare`).
    """

    def __init__(
        self,
        recipe: Recipe,
        elements: Sequence[str],
        md_calculator: CalculatorFactory | None = None,
        fast_calculator: CalculatorFactory | None = None,
        md_labeler: Callable[[], Labeler] | None = None,
    ) -> None:
        chosen = (
            list(elements)
            if recipe.elements is None
            else [e for e in recipe.elements if e in set(elements)]
        )
        if not chosen:
            raise ValueError("no element of the recipe is known to the teacher")
        chosen.sort(key=lambda symbol: atomic_numbers[symbol])
        self.recipe = recipe
        self.context = SamplerContext(
            elements=chosen,
            max_atoms=recipe.max_atoms,
            min_atoms=recipe.min_atoms,
            md_calculator=md_calculator,
            fast_calculator=fast_calculator,
            md_labeler=md_labeler,
        )
        self.samplers = [
            build_sampler(spec.name, self.context, spec.options) for spec in recipe.samplers
        ]

    def __len__(self) -> int:
        return self.recipe.num_frames

    def prepare(self, start: int, stop: int) -> None:
        """Let each sampler do the work shared by frames ``start .. stop - 1`` at once.

        Optional: :meth:`frame` makes the same frames without it, only slower where a
        sampler batches (see :class:`nanomlip.sampling.base.Sampler`).
        """
        local: dict[int, list[int]] = {}
        for frame_index in range(start, min(stop, len(self))):
            position, index = locate_frame(self.recipe, frame_index)
            local.setdefault(position, []).append(index)
        for position, indices in local.items():
            prepare = getattr(self.samplers[position], "prepare", None)
            if prepare is not None:
                prepare(indices)

    def frame(self, frame_index: int) -> Atoms:
        """Build the frame with this global index (deterministic)."""
        position, local = locate_frame(self.recipe, frame_index)
        spec = self.recipe.samplers[position]
        atoms = self.samplers[position].make(frame_rng(self.recipe.seed, position, local), local)
        atoms.info[INFO_SAMPLER] = spec.name
        atoms.info[INFO_SEED] = f"{self.recipe.seed}/{position}/{local}"
        atoms.info[INFO_FRAME] = frame_index
        for key in (INFO_CATEGORY, INFO_GROUP):
            if key not in atoms.info:
                raise RuntimeError(f"sampler {spec.name!r} did not set info[{key!r}]")
        return atoms

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[Atoms]:
        stop = len(self) if stop is None else min(stop, len(self))
        for index in range(start, stop):
            yield self.frame(index)
