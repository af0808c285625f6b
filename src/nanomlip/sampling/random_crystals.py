"""Random symmetric crystals: the ``random_crystals`` sampler (category ``random_crystal``).

Atoms sit on Wyckoff orbits of a random space group (pyxtal's symmetry tables and
lattices); the cell is scaled to covalent bond lengths. Module-level caches hold only
the space-group tables, which do not depend on the ``rng``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.data import atomic_numbers, covalent_radii

from nanomlip._optional import import_optional
from nanomlip.sampling.base import SamplerContext, register_sampler
from nanomlip.sampling.geometry import (
    anchor_element,
    crystal_is_sane,
    min_distance_ratio,
    reduced_formula,
    scale_to_ratio,
    supercell_reps,
    tag,
)
from nanomlip.sampling.options import check_crystal_context, check_options
from nanomlip.sampling.prototypes import BOND_SCALE_RANGE

#: Random crystals are scaled so their closest pair sits at this range of radius sums.
RANDOM_CRYSTAL_RATIO_RANGE = (0.8, 1.0)
#: Random crystals more open than this (cell volume over covalent-sphere volume) are
#: redrawn; AFLOW prototypes at covalent bond lengths mostly lie between 1.5 and 6.
MAX_PACKING_RATIO = 8.0


@cache
def space_group(number: int) -> Any:
    """The ``pyxtal`` space group (cached; its Wyckoff tables take milliseconds to build)."""
    symmetry = import_optional("pyxtal.symmetry", "sampling", "random symmetric crystals")
    return symmetry.Group(number)


@cache
def wyckoff_sites(number: int) -> tuple[tuple[str, int, bool], ...]:
    """Wyckoff positions of a space group (conventional cell).

    Returns:
        ``(label, multiplicity, free)`` per position, e.g. ``("4a", 4, False)``; ``free``
        says whether the position has free coordinates (and may be occupied repeatedly).
    """
    return tuple(
        (f"{len(wp)}{wp.letter}", len(wp), int(wp.get_dof()) > 0)
        for wp in space_group(number).Wyckoff_positions
    )


def symmetric_crystal(
    rng: np.random.Generator, number: int, species: Sequence[str], sites: Sequence[Sequence[str]]
) -> Atoms | None:
    """Place atoms on Wyckoff orbits of a space group in a random ``pyxtal`` lattice.

    Each Wyckoff position gets a uniformly random representative point; the cell is left
    at an arbitrary volume (callers rescale it to bond lengths).

    Args:
        rng: Source of randomness.
        number: Space group number.
        species: One element per species.
        sites: Wyckoff labels (``"4a"``) per species.

    Returns:
        The crystal in the conventional cell, or ``None`` if two atoms coincide.
    """
    Lattice = import_optional("pyxtal.lattice", "sampling", "random symmetric crystals").Lattice

    group = space_group(number)
    symbols: list[str] = []
    scaled: list[np.ndarray] = []
    for symbol, labels in zip(species, sites):
        for label in labels:
            orbit = group.get_wyckoff_position(label).apply_ops(rng.random(3)) % 1.0
            scaled.append(orbit)
            symbols += [symbol] * len(orbit)
    volume = 10.0 * len(symbols)  # Å^3; any volume will do before rescaling
    lattice = Lattice(group.lattice_type, volume, random_state=int(rng.integers(2**31)))
    atoms = Atoms(symbols, cell=lattice.matrix, scaled_positions=np.vstack(scaled), pbc=True)
    return atoms if min_distance_ratio(atoms) > 1e-3 else None


def packing_ratio(atoms: Atoms) -> float:
    """Cell volume over the summed volume of covalent-radius spheres (dimensionless)."""
    radii = covalent_radii[atoms.numbers]
    return float(abs(atoms.cell.volume) / np.sum(4.0 / 3.0 * np.pi * radii**3))


def draw_wyckoff_sites(
    rng: np.random.Generator, number: int, n_species: int, max_atoms: int
) -> list[list[str]] | None:
    """One or two Wyckoff positions per species, at most ``max_atoms`` atoms in all.

    Args:
        rng: Source of randomness.
        number: Space group number.
        n_species: Number of species.
        max_atoms: Upper bound on the atoms of the conventional cell.

    Returns:
        Wyckoff labels per species, or ``None`` when the positions ran out.
    """
    positions = wyckoff_sites(number)
    taken: set[str] = set()
    budget = max_atoms
    sites: list[list[str]] = []
    for _ in range(n_species):
        chosen: list[str] = []
        for _ in range(int(rng.integers(1, 3))):
            fitting = [
                (label, multiplicity)
                for label, multiplicity, free in positions
                if multiplicity <= budget and (free or label not in taken)
            ]
            if not fitting:
                break
            label, multiplicity = fitting[int(rng.integers(len(fitting)))]
            chosen.append(label)
            taken.add(label)
            budget -= multiplicity
        if not chosen:
            return None
        sites.append(chosen)
    return sites


def fallback_cubic(
    rng: np.random.Generator, anchor: str, min_atoms: int, max_atoms: int
) -> tuple[Atoms, int]:
    """A cubic fcc or bcc crystal of one element with covalent nearest-neighbour distance.

    Args:
        rng: Source of randomness (chooses fcc or bcc and the bond scale).
        anchor: The element.
        min_atoms: Lower bound on atoms.
        max_atoms: Upper bound on atoms.

    Returns:
        The crystal (repeated towards ``min_atoms`` where the bounds allow) and its space
        group number (225 or 229).
    """
    structure = "fcc" if rng.random() < 0.5 else "bcc"
    bond = 2.0 * covalent_radii[atomic_numbers[anchor]] * float(rng.uniform(*BOND_SCALE_RANGE))
    a = bond * math.sqrt(2.0) if structure == "fcc" else bond * 2.0 / math.sqrt(3.0)
    atoms = bulk(anchor, structure, a=a, cubic=True)
    reps = supercell_reps(atoms.cell.array, len(atoms), min_atoms, max_atoms)
    number = 225 if structure == "fcc" else 229
    return (atoms.repeat(reps) if reps is not None else atoms), number


@dataclass
class RandomCrystalSampler:
    """Random symmetric crystals (category ``"random_crystal"``).

    A space group in 2-230, 1-3 elements (the anchor among them) and one or two Wyckoff
    positions per element are drawn; each position gets a random point and the lattice
    a random ``pyxtal`` shape. The cell is then scaled so the closest pair sits at a
    ratio drawn in ``RANDOM_CRYSTAL_RATIO_RANGE`` of its covalent-radius sum; crystals
    left more open than ``MAX_PACKING_RATIO`` are redrawn. ``pyxtal``'s own generator is
    not used: on some compositions it searches for minutes before giving up. After
    ``max_tries`` failed draws a cubic fcc/bcc crystal of the anchor is returned.
    """

    context: SamplerContext
    max_elements: int
    max_tries: int

    def attempt(self, rng: np.random.Generator, anchor: str) -> tuple[Atoms, int] | None:
        """One try: a sane crystal within the bounds and its space group, or ``None``."""
        context = self.context
        others = [symbol for symbol in context.elements if symbol != anchor]
        n_species = int(rng.integers(1, min(self.max_elements, len(others) + 1) + 1))
        chosen = rng.choice(len(others), size=n_species - 1, replace=False)
        species = [anchor, *(others[int(i)] for i in chosen)]
        number = int(rng.integers(2, 231))
        sites = draw_wyckoff_sites(rng, number, n_species, context.max_atoms)
        if sites is None:
            return None
        atoms = symmetric_crystal(rng, number, species, sites)
        if atoms is None:
            return None
        reps = supercell_reps(atoms.cell.array, len(atoms), context.min_atoms, context.max_atoms)
        if reps is None:
            return None
        scale_to_ratio(atoms, float(rng.uniform(*RANDOM_CRYSTAL_RATIO_RANGE)))
        if packing_ratio(atoms) > MAX_PACKING_RATIO or not crystal_is_sane(atoms):
            return None
        return atoms.repeat(reps), number

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        anchor = anchor_element(self.context, index)
        for _ in range(self.max_tries):
            result = self.attempt(rng, anchor)
            if result is not None:
                atoms, number = result
                break
        else:
            atoms, number = fallback_cubic(
                rng, anchor, self.context.min_atoms, self.context.max_atoms
            )
        formula = reduced_formula(atoms.get_chemical_symbols())
        return tag(atoms, "random_crystal", f"pyxtal:{formula}:{number}:{index}")


@register_sampler("random_crystals")
def build_random_crystals(context: SamplerContext, options: dict[str, Any]) -> RandomCrystalSampler:
    """Options: ``max_elements`` (3), ``max_tries`` (24)."""
    options = check_options("random_crystals", options, {"max_elements": 3, "max_tries": 24})
    check_crystal_context("random_crystals", context)
    max_elements = int(options["max_elements"])
    max_tries = int(options["max_tries"])
    if max_elements < 1 or max_tries < 1:
        raise ValueError("sampler 'random_crystals' needs max_elements >= 1 and max_tries >= 1")
    return RandomCrystalSampler(context, max_elements=max_elements, max_tries=max_tries)
