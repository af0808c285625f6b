"""AFLOW prototypes decorated with elements: the ``prototypes`` sampler and its building blocks.

A prototype from pymatgen's AFLOW table is decorated with one element per species (the
frame's anchor element among them, charge-balanced by ``smact`` oxidation states with
probability ``balanced_fraction``), rescaled so the closest pair sits at
:data:`BOND_SCALE_RANGE` of its covalent-radius sum, repeated to ``context.min_atoms``
and rattled. The samplers of :mod:`nanomlip.sampling.derived_crystals` and
:mod:`nanomlip.sampling.equilibrium` start from the same crystals
(:class:`PrototypeBased`).

Frames derived from one decorated prototype share the group ``"proto:{label}:{formula}"``,
so a train/validation split by group never separates a crystal from its variations.
Module-level caches hold only data that does not depend on the ``rng`` (the prototype
table, oxidation states).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from nanomlip._optional import MissingDependencyError, import_optional
from nanomlip.sampling.base import SamplerContext, register_sampler
from nanomlip.sampling.geometry import (
    anchor_element,
    rattle,
    reduced_formula,
    scale_to_ratio,
    supercell_reps,
    tag,
)
from nanomlip.sampling.options import check_crystal_context, check_in_range, check_options

#: Prototypes are rescaled so the closest pair sits at this range of covalent-radius sums.
BOND_SCALE_RANGE = (0.95, 1.15)
#: How often a decoration is redrawn while looking for a charge-balanced composition.
BALANCE_TRIES = 12

_PROTOTYPE_FILE = ("analysis", "prototypes", "aflow_prototypes.json.gz")


@dataclass(frozen=True)
class Prototype:
    """One AFLOW prototype, undecorated.

    Attributes:
        label: AFLOW prototype label, e.g. ``"AB_cF8_225_a_b"``.
        cell: Lattice vectors as rows, shape ``(3, 3)``, Å (right-handed).
        scaled_positions: Fractional coordinates, shape ``(n, 3)``.
        site_species: Index of each site's distinct species, shape ``(n,)``.
        counts: Sites per distinct species, length ``n_species``.
    """

    label: str
    cell: np.ndarray
    scaled_positions: np.ndarray
    site_species: np.ndarray
    counts: tuple[int, ...]

    @property
    def n_sites(self) -> int:
        return len(self.site_species)

    @property
    def n_species(self) -> int:
        return len(self.counts)


def _parse_prototype(entry: dict[str, Any]) -> Prototype:
    """Turn one entry of pymatgen's AFLOW table into a ``Prototype``."""
    snl = entry["snl"]
    cell = np.array(snl["lattice"]["matrix"], dtype=float)
    scaled = np.array([site["abc"] for site in snl["sites"]], dtype=float)
    names = [site["species"][0]["element"] for site in snl["sites"]]
    distinct = list(dict.fromkeys(names))
    site_species = np.array([distinct.index(name) for name in names], dtype=int)
    if np.linalg.det(cell) < 0:
        # -cell spans the same lattice; -scaled keeps every Cartesian position.
        cell, scaled = -cell, -scaled
    return Prototype(
        label=entry["tags"]["aflow"],
        cell=cell,
        scaled_positions=scaled % 1.0,
        site_species=site_species,
        counts=tuple(int(np.sum(site_species == k)) for k in range(len(distinct))),
    )


def prototype_file() -> Path:
    """Path of pymatgen's AFLOW prototype table.

    The file is located without importing ``pymatgen.analysis.prototypes``, whose import
    takes seconds.

    Raises:
        MissingDependencyError: If pymatgen (or its prototype table) is not installed.
    """
    spec = find_spec("pymatgen")
    locations = [] if spec is None else list(spec.submodule_search_locations or [])
    for location in locations:
        path = Path(location, *_PROTOTYPE_FILE)
        if path.is_file():
            return path
    raise MissingDependencyError(
        "the AFLOW prototype table pymatgen/"
        + "/".join(_PROTOTYPE_FILE)
        + " was not found; the crystal samplers need pymatgen: pip install 'nanomlip[sampling]'"
    )


@lru_cache(maxsize=1)
def load_prototypes() -> tuple[Prototype, ...]:
    """The AFLOW prototypes shipped with pymatgen (read once, then cached)."""
    with gzip.open(prototype_file(), "rt") as text:
        entries = json.load(text)
    return tuple(_parse_prototype(entry) for entry in entries)


@cache
def oxidation_states(symbol: str) -> tuple[int, ...]:
    """Non-zero oxidation states known to ``smact`` (empty for e.g. noble gases)."""
    smact = import_optional("smact", "sampling", "charge-balanced compositions")

    element = smact.Element(symbol)
    states = getattr(element, "oxidation_states_icsd24", None) or element.oxidation_states
    return tuple(int(state) for state in states or () if state != 0)


def is_charge_balanced(symbols: Sequence[str], counts: Sequence[int]) -> bool:
    """Whether some choice of oxidation states makes ``sum(count * state)`` zero.

    Args:
        symbols: One element per species.
        counts: Atoms of each species.
    """
    reachable = {0}
    for symbol, count in zip(symbols, counts):
        states = oxidation_states(symbol)
        if not states:
            return False
        reachable = {total + count * state for total in reachable for state in states}
    return 0 in reachable


@dataclass
class PrototypePool:
    """The prototypes usable under given atom bounds, each with its supercell.

    Args:
        n_elements: Number of distinct elements available.
        min_atoms: Lower bound on atoms of a crystal.
        max_atoms: Upper bound on atoms of a crystal.
    """

    n_elements: int
    min_atoms: int
    max_atoms: int
    entries: list[tuple[Prototype, tuple[int, int, int]]] = field(init=False)

    def __post_init__(self) -> None:
        self.entries = []
        for prototype in load_prototypes():
            if prototype.n_species > self.n_elements:
                continue
            reps = supercell_reps(prototype.cell, prototype.n_sites, self.min_atoms, self.max_atoms)
            if reps is not None:
                self.entries.append((prototype, reps))
        if not self.entries:
            raise ValueError(
                f"no AFLOW prototype fits between {self.min_atoms} and {self.max_atoms} atoms"
            )

    def draw(self, rng: np.random.Generator) -> tuple[Prototype, tuple[int, int, int]]:
        """A uniformly chosen usable prototype and its repetitions."""
        return self.entries[int(rng.integers(len(self.entries)))]


def decorate(
    rng: np.random.Generator,
    prototype: Prototype,
    anchor: str,
    elements: Sequence[str],
    balanced_fraction: float,
) -> list[str]:
    """Choose one distinct element per species of a prototype, the anchor among them.

    With probability ``balanced_fraction`` the choice is redrawn (up to ``BALANCE_TRIES``
    times) until some oxidation states make it neutral; otherwise, or if no neutral
    choice turns up, the elements are random.

    Args:
        rng: Source of randomness.
        prototype: The prototype to decorate.
        anchor: Element that must appear.
        elements: Elements to choose from (contains ``anchor``).
        balanced_fraction: Probability of asking for a charge-balanced composition.

    Returns:
        One symbol per distinct species of the prototype.
    """
    others = [symbol for symbol in elements if symbol != anchor]
    want_balanced = prototype.n_species > 1 and rng.random() < balanced_fraction
    tries = BALANCE_TRIES if want_balanced else 1
    symbols: list[str] = []
    for _ in range(tries):
        chosen = rng.choice(len(others), size=prototype.n_species - 1, replace=False)
        symbols = [others[int(i)] for i in chosen]
        symbols.insert(int(rng.integers(prototype.n_species)), anchor)
        if not want_balanced or is_charge_balanced(symbols, prototype.counts):
            break
    return symbols


@dataclass(frozen=True)
class BaseCrystal:
    """A decorated, rescaled prototype crystal that other samplers start from.

    Attributes:
        atoms: The periodic crystal (supercell already applied).
        label: AFLOW prototype label.
        formula: Reduced formula of the decoration.
    """

    atoms: Atoms
    label: str
    formula: str

    @property
    def group(self) -> str:
        """Group shared by every frame derived from this crystal."""
        return f"proto:{self.label}:{self.formula}"


def build_prototype_crystal(
    rng: np.random.Generator,
    pool: PrototypePool,
    anchor: str,
    elements: Sequence[str],
    balanced_fraction: float,
    rattle_sigma: float,
) -> BaseCrystal:
    """Decorate a random prototype, rescale it to covalent bond lengths and rattle it.

    Args:
        rng: Source of randomness.
        pool: Usable prototypes with their supercells.
        anchor: Element that must appear.
        elements: Elements to choose from.
        balanced_fraction: Probability of a charge-balanced decoration.
        rattle_sigma: Standard deviation of the final displacements, Å.

    Returns:
        The crystal with its prototype label and reduced formula.
    """
    prototype, reps = pool.draw(rng)
    species = decorate(rng, prototype, anchor, elements, balanced_fraction)
    symbols = [species[k] for k in prototype.site_species]
    atoms = Atoms(
        symbols=symbols,
        cell=prototype.cell,
        scaled_positions=prototype.scaled_positions,
        pbc=True,
    )
    scale_to_ratio(atoms, float(rng.uniform(*BOND_SCALE_RANGE)))
    atoms = rattle(rng, atoms.repeat(reps), rattle_sigma)
    return BaseCrystal(atoms=atoms, label=prototype.label, formula=reduced_formula(species))


PROTOTYPE_DEFAULTS: dict[str, Any] = {"balanced_fraction": 0.5, "rattle": 0.03}


@dataclass
class PrototypeOptions:
    """Options shared by every sampler that starts from a prototype crystal."""

    balanced_fraction: float
    rattle: float

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any]) -> PrototypeOptions:
        """Read and check ``balanced_fraction`` (0-1) and ``rattle`` (0-0.5 Å)."""
        return cls(
            balanced_fraction=check_in_range(
                name, "balanced_fraction", options["balanced_fraction"], 0.0, 1.0
            ),
            rattle=check_in_range(name, "rattle", options["rattle"], 0.0, 0.5),
        )


@dataclass
class PrototypeBased:
    """Shared state of the samplers that start from a prototype crystal."""

    context: SamplerContext
    base: PrototypeOptions
    pool: PrototypePool

    def base_crystal(self, rng: np.random.Generator, index: int) -> BaseCrystal:
        return build_prototype_crystal(
            rng,
            self.pool,
            anchor_element(self.context, index),
            self.context.elements,
            self.base.balanced_fraction,
            self.base.rattle,
        )


def prototype_based(
    name: str,
    context: SamplerContext,
    options: dict[str, Any],
    min_atoms: int | None = None,
    max_atoms: int | None = None,
) -> PrototypeBased:
    pool = PrototypePool(
        len(context.elements),
        context.min_atoms if min_atoms is None else min_atoms,
        context.max_atoms if max_atoms is None else max_atoms,
    )
    return PrototypeBased(context, PrototypeOptions.from_options(name, options), pool)


@dataclass
class PrototypeSampler:
    """Decorated AFLOW prototypes at covalent bond lengths (category ``"bulk"``)."""

    shared: PrototypeBased

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        crystal = self.shared.base_crystal(rng, index)
        return tag(crystal.atoms, "bulk", crystal.group)


@register_sampler("prototypes")
def build_prototypes(context: SamplerContext, options: dict[str, Any]) -> PrototypeSampler:
    """Options: ``balanced_fraction`` (0.5), ``rattle`` (0.03 Å)."""
    options = check_options("prototypes", options, PROTOTYPE_DEFAULTS)
    check_crystal_context("prototypes", context)
    return PrototypeSampler(prototype_based("prototypes", context, options))
