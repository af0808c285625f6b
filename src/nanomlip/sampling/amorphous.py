"""Dense random packings of one to three elements: the ``amorphous`` sampler.

Atoms are inserted at random in a cubic periodic box
(:func:`~nanomlip.sampling.packing.random_packing`), then follow a short hot MD when the
labelling run has an MD driver.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from nanomlip.sampling.base import INFO_CATEGORY, INFO_GROUP, SamplerContext, register_sampler
from nanomlip.sampling.geometry import MIN_COVALENT_FACTOR, anchor_element, plain_atoms
from nanomlip.sampling.hot_md import HotMDMixin, MDSettings
from nanomlip.sampling.options import (
    check_molecular_context,
    check_non_negative,
    check_options,
    check_pair_range,
)
from nanomlip.sampling.packing import random_packing


def random_composition(
    context: SamplerContext,
    index: int,
    rng: np.random.Generator,
    atom_range: tuple[int, int],
    max_elements: int,
) -> np.ndarray:
    """Atomic numbers of 1 to ``max_elements`` elements including the anchor, shape ``(n,)``."""
    anchor = anchor_element(context, index)
    others = [e for e in dict.fromkeys(context.elements) if e != anchor]
    count = int(rng.integers(1, min(max_elements, len(others) + 1) + 1))
    chosen = [anchor] + [others[i] for i in rng.choice(len(others), count - 1, replace=False)]
    low, high = atom_range
    total = int(rng.integers(low, high + 1))
    count = min(count, total)
    chosen = chosen[:count]
    shares = np.ones(count, dtype=int) + rng.multinomial(
        total - count, rng.dirichlet(np.ones(count))
    )
    symbols = [symbol for symbol, n in zip(chosen, shares) for _ in range(n)]
    return np.array([atomic_numbers[s] for s in symbols])


_AMORPHOUS_DEFAULTS: dict[str, Any] = {
    "min_atoms": 8,
    "max_elements": 3,
    "packing_fraction": (0.35, 0.65),
    "min_distance_factor": 0.7,
    "temperature": 1500.0,
    "steps": 20,
    "timestep": 0.5,
    "friction": 0.02,
    "rattle": 0.05,
}


class AmorphousSampler(HotMDMixin):
    """Dense random packings of 1-3 elements with the anchor element, then optional hot MD.

    Options (all optional):
        min_atoms: Fewest atoms per frame (clipped to ``max_atoms``).
        max_elements: Most distinct elements per frame.
        packing_fraction: Range of covalent-sphere volume fractions of the box.
        min_distance_factor: Closest allowed pair as a fraction of the covalent-radius sum.
        temperature, steps, timestep, friction: Hot MD (K, count, fs, 1/fs).
        rattle: Noise (Å) applied instead of MD when no calculator is set.
    """

    def __init__(self, context: SamplerContext, options: dict[str, Any]) -> None:
        check_molecular_context("amorphous", context)
        opts = check_options("amorphous", options, _AMORPHOUS_DEFAULTS)
        self.context = context
        high = context.max_atoms
        self.atom_range = (max(1, min(int(opts["min_atoms"]), high)), high)
        self.max_elements = max(1, int(opts["max_elements"]))
        self.packing = check_pair_range("amorphous", "packing_fraction", opts["packing_fraction"])
        self.min_factor = check_non_negative(
            "amorphous", "min_distance_factor", opts["min_distance_factor"]
        )
        if self.min_factor < MIN_COVALENT_FACTOR:
            raise ValueError(
                f"sampler 'amorphous': min_distance_factor must be >= {MIN_COVALENT_FACTOR}"
            )
        self.rattle = check_non_negative("amorphous", "rattle", opts["rattle"])
        self.md = MDSettings.from_options("amorphous", opts)
        self.md_factory = context.md_calculator

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        """Frame ``index``: its anchor element is ``elements[index % len(elements)]``."""
        numbers = random_composition(self.context, index, rng, self.atom_range, self.max_elements)
        atoms = random_packing(numbers, rng, rng.uniform(*self.packing), self.min_factor)
        atoms = self._maybe_md(atoms, rng, self.rattle)
        atoms.wrap()
        formula = atoms.get_chemical_formula()
        info = {
            **atoms.info,
            INFO_CATEGORY: "amorphous",
            INFO_GROUP: f"amorphous:{formula}:{index}",
        }
        return plain_atoms(atoms, info)


@register_sampler("amorphous")
def build_amorphous(context: SamplerContext, options: dict[str, Any]) -> AmorphousSampler:
    """Builder of the ``amorphous`` sampler (see :class:`AmorphousSampler`)."""
    return AmorphousSampler(context, options)
