"""Periodic crystal samplers: prototypes, random symmetric crystals and their variations.

Every sampler builds small periodic cells (``context.min_atoms`` to ``context.max_atoms``
atoms) for a teacher to label. Frame ``index`` always contains the *anchor element*
``context.elements[index % len(context.elements)]`` so that every element gets a fair
share of frames; the other elements are picked around it.

Registered samplers, with the ``category`` they write into ``atoms.info``:

- ``prototypes`` (``bulk``): an AFLOW prototype decorated with elements, rescaled so the
  shortest bonds are about the covalent-radius sums.
- ``random_crystals`` (``random_crystal``): a random symmetric crystal (pyxtal symmetry
  tables and lattices).
- ``strained`` (``strained``): a prototype crystal under volumetric strain and/or shear.
- ``rattled`` (``rattled``): a prototype crystal with Gaussian displacements.
- ``vacancies`` (``vacancy``): a prototype supercell with 1-2 atoms removed.
- ``substitutions`` (``substitution``): a prototype crystal with 1-3 atoms replaced.
- ``surfaces`` (``surface``): a slab cut from a prototype crystal, vacuum along z.

Frames derived from one decorated prototype share the group ``"proto:{label}:{formula}"``,
so a train/validation split by group never separates a crystal from its variations.

All randomness comes from the ``rng`` given to ``make``; module-level caches only hold
data that does not depend on it (the prototype table, space groups, oxidation states).
"""

from __future__ import annotations

import gzip
import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib.util import find_spec
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.build import bulk, surface
from ase.data import atomic_numbers, covalent_radii
from ase.geometry import minkowski_reduce

from nanomlip._optional import MissingDependencyError, import_optional
from nanomlip.sampling.base import (
    INFO_CATEGORY,
    INFO_GROUP,
    SamplerContext,
    check_options,
    register_sampler,
)

#: No pair of atoms may be closer than this fraction of their covalent-radius sum.
MIN_DISTANCE_RATIO = 0.5
#: Prototypes are rescaled so the closest pair sits at this range of covalent-radius sums.
BOND_SCALE_RANGE = (0.95, 1.15)
#: Smallest acceptable ``cell_quality`` (1 for an orthogonal cell, 0 for a flat one).
MIN_CELL_QUALITY = 0.1
#: How often a decoration is redrawn while looking for a charge-balanced composition.
BALANCE_TRIES = 12
#: How often a sampler redraws a random step (displacements, strain, prototype) before
#: falling back to something that is always valid.
MAX_TRIES = 24
#: Smallest covalent-radius ratio accepted after a substitution before inflating the cell.
SUBSTITUTION_MIN_RATIO = 0.7
#: Random crystals are scaled so their closest pair sits at this range of radius sums.
RANDOM_CRYSTAL_RATIO_RANGE = (0.8, 1.0)
#: Random crystals more open than this (cell volume over covalent-sphere volume) are
#: redrawn; AFLOW prototypes at covalent bond lengths mostly lie between 1.5 and 6.
MAX_PACKING_RATIO = 8.0
#: Low-index Miller indices offered to the surface sampler besides a random low index.
SURFACE_INDICES: tuple[tuple[int, int, int], ...] = ((1, 0, 0), (1, 1, 0), (1, 1, 1))

_PROTOTYPE_FILE = ("analysis", "prototypes", "aflow_prototypes.json.gz")


# ------------------------------------------------------------------ geometry helpers
def anchor_element(context: SamplerContext, index: int) -> str:
    """The element that frame ``index`` must contain (round robin over the elements)."""
    return context.elements[index % len(context.elements)]


def covalent_radius_sums(numbers: np.ndarray) -> np.ndarray:
    """Pairwise sums of ASE covalent radii.

    Args:
        numbers: Atomic numbers, shape ``(n,)``.

    Returns:
        ``r_i + r_j`` in Å, shape ``(n, n)``.
    """
    radii = covalent_radii[numbers]
    return radii[:, None] + radii[None, :]


def min_distance_ratio(atoms: Atoms) -> float:
    """Smallest ``d_ij / (r_i + r_j)`` over all pairs and periodic images.

    The cell is treated as periodic along all three vectors (slabs carry enough vacuum
    for the images across it not to matter). With a Minkowski-reduced basis the closest
    image of a wrapped difference vector is among the 27 neighbouring shifts.

    Args:
        atoms: A structure with a non-degenerate cell.

    Returns:
        The ratio (dimensionless); ``inf`` for a single atom whose images are far away
        is impossible, so a finite number is always returned.
    """
    reduced_cell, _ = minkowski_reduce(atoms.cell.array)
    positions = atoms.positions
    scaled = positions @ np.linalg.inv(reduced_cell)
    delta = scaled[:, None, :] - scaled[None, :, :]  # (n, n, 3)
    delta -= np.round(delta)
    shifts = np.array(list(product((-1, 0, 1), repeat=3)), dtype=float)  # (27, 3)
    vectors = (delta[:, :, None, :] + shifts[None, None, :, :]) @ reduced_cell  # (n, n, 27, 3)
    distances = np.linalg.norm(vectors, axis=-1)
    n = len(atoms)
    zero_shift = 13  # index of (0, 0, 0) in ``shifts``
    distances[np.arange(n), np.arange(n), zero_shift] = np.inf
    ratios = distances.min(axis=-1) / covalent_radius_sums(atoms.numbers)
    return float(ratios.min())


def cell_quality(cell: np.ndarray) -> float:
    """How far a cell is from flat: ``|det| / (|a| |b| |c|)`` of its Minkowski-reduced form.

    Args:
        cell: Lattice vectors as rows, shape ``(3, 3)``, Å.

    Returns:
        1 for an orthogonal cell, near 0 for a degenerate one (dimensionless).
    """
    lengths = np.linalg.norm(cell, axis=1)
    if np.any(lengths < 1e-8):
        return 0.0
    reduced, _ = minkowski_reduce(cell)
    return float(abs(np.linalg.det(reduced)) / np.prod(np.linalg.norm(reduced, axis=1)))


def is_sane(atoms: Atoms, min_ratio: float = MIN_DISTANCE_RATIO) -> bool:
    """Whether positions are finite, the cell is not degenerate and no pair is too close.

    Args:
        atoms: The structure to check.
        min_ratio: Smallest allowed ``d_ij / (r_i + r_j)``.
    """
    if len(atoms) == 0 or not np.all(np.isfinite(atoms.positions)):
        return False
    if not np.all(np.isfinite(atoms.cell.array)):
        return False
    if cell_quality(atoms.cell.array) < MIN_CELL_QUALITY:
        return False
    return min_distance_ratio(atoms) >= min_ratio


def scale_to_ratio(atoms: Atoms, target_ratio: float) -> Atoms:
    """Scale the cell (and atoms with it) so the closest pair sits at ``target_ratio``.

    Args:
        atoms: The structure; it is modified in place.
        target_ratio: Wanted ``min d_ij / (r_i + r_j)``.

    Returns:
        ``atoms``, for chaining.
    """
    factor = target_ratio / min_distance_ratio(atoms)
    atoms.set_cell(atoms.cell.array * factor, scale_atoms=True)
    return atoms


def supercell_reps(
    cell: np.ndarray,
    n_atoms: int,
    min_atoms: int,
    max_atoms: int,
    axes: Sequence[int] = (0, 1, 2),
) -> tuple[int, int, int] | None:
    """The smallest repetition of a cell that holds at least ``min_atoms`` atoms.

    Among repetitions with the fewest atoms, the one whose thinnest direction is widest
    is chosen. The choice depends on the cell's shape only, not on its scale.

    Args:
        cell: Lattice vectors as rows, shape ``(3, 3)``, Å.
        n_atoms: Atoms in the cell.
        min_atoms: Lower bound on the atoms of the supercell.
        max_atoms: Upper bound on the atoms of the supercell.
        axes: Lattice vectors that may be repeated.

    Returns:
        Repetitions along the three vectors, or ``None`` if no repetition fits the bounds.
    """
    if n_atoms > max_atoms:
        return None
    if n_atoms >= min_atoms:
        return (1, 1, 1)
    volume = abs(np.linalg.det(cell))
    heights = np.array(
        [volume / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)]
    )
    largest = math.ceil(min_atoms / n_atoms)
    ranges = [range(1, largest + 1) if axis in axes else range(1, 2) for axis in range(3)]
    best: tuple[int, float, tuple[int, int, int]] | None = None
    for reps in product(*ranges):
        total = n_atoms * math.prod(reps)
        if not min_atoms <= total <= max_atoms:
            continue
        width = float(min(heights[axis] * reps[axis] for axis in axes))
        key = (total, -width, reps)
        if best is None or key[:2] < best[:2]:
            best = key
    return None if best is None else best[2]


def rattle(
    rng: np.random.Generator,
    atoms: Atoms,
    sigma: float,
    min_ratio: float = MIN_DISTANCE_RATIO,
) -> Atoms:
    """Gaussian displacements that keep every pair at least ``min_ratio`` apart.

    Displacements that bring a pair too close are redrawn; every few failures the width
    shrinks, and after ``MAX_TRIES`` the structure is returned undisplaced.

    Args:
        rng: Source of randomness.
        atoms: The structure (not modified).
        sigma: Standard deviation of each Cartesian displacement, Å.
        min_ratio: Smallest allowed ``d_ij / (r_i + r_j)``.

    Returns:
        A displaced copy.
    """
    if sigma <= 0.0:
        return atoms.copy()
    for attempt in range(MAX_TRIES):
        moved = atoms.copy()
        moved.positions += rng.normal(0.0, sigma, size=moved.positions.shape)
        if is_sane(moved, min_ratio):
            return moved
        if attempt % 6 == 5:
            sigma *= 0.6
    return atoms.copy()


def reduced_formula(symbols: Sequence[str]) -> str:
    """Hill formula of the smallest formula unit, e.g. ``"ClNa"`` or ``"O2Si"``."""
    return Atoms(list(symbols)).get_chemical_formula(mode="hill", empirical=True)


# ------------------------------------------------------------------ prototypes
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


def tag(atoms: Atoms, category: str, group: str) -> Atoms:
    """Write the info keys every sampler must set and wrap atoms into the cell."""
    atoms.wrap()
    atoms.info[INFO_CATEGORY] = category
    atoms.info[INFO_GROUP] = group
    return atoms


# ------------------------------------------------------------------ option checks
def _check_context(name: str, context: SamplerContext, min_elements: int = 1) -> None:
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


def _check_range(name: str, key: str, value: float, low: float, high: float) -> float:
    value = float(value)
    if not low <= value <= high:
        raise ValueError(f"sampler {name!r}: option {key!r} must lie in [{low}, {high}]")
    return value


_BASE_DEFAULTS: dict[str, Any] = {"balanced_fraction": 0.5, "rattle": 0.03}


@dataclass
class _BaseOptions:
    """Options shared by every sampler that starts from a prototype crystal."""

    balanced_fraction: float
    rattle: float

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any]) -> _BaseOptions:
        """Read and check ``balanced_fraction`` (0-1) and ``rattle`` (0-0.5 Å)."""
        return cls(
            balanced_fraction=_check_range(
                name, "balanced_fraction", options["balanced_fraction"], 0.0, 1.0
            ),
            rattle=_check_range(name, "rattle", options["rattle"], 0.0, 0.5),
        )


@dataclass
class _PrototypeBased:
    """Shared state of the samplers that start from a prototype crystal."""

    context: SamplerContext
    base: _BaseOptions
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


def _prototype_based(
    name: str,
    context: SamplerContext,
    options: dict[str, Any],
    min_atoms: int | None = None,
    max_atoms: int | None = None,
) -> _PrototypeBased:
    pool = PrototypePool(
        len(context.elements),
        context.min_atoms if min_atoms is None else min_atoms,
        context.max_atoms if max_atoms is None else max_atoms,
    )
    return _PrototypeBased(context, _BaseOptions.from_options(name, options), pool)


# ------------------------------------------------------------------ prototypes sampler
@dataclass
class PrototypeSampler:
    """Decorated AFLOW prototypes at covalent bond lengths (category ``"bulk"``)."""

    shared: _PrototypeBased

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        crystal = self.shared.base_crystal(rng, index)
        return tag(crystal.atoms, "bulk", crystal.group)


@register_sampler("prototypes")
def build_prototypes(context: SamplerContext, options: dict[str, Any]) -> PrototypeSampler:
    """Options: ``balanced_fraction`` (0.5), ``rattle`` (0.03 Å)."""
    options = check_options("prototypes", options, _BASE_DEFAULTS)
    _check_context("prototypes", context)
    return PrototypeSampler(_prototype_based("prototypes", context, options))


# ------------------------------------------------------------------ strained
@dataclass
class StrainedSampler:
    """Prototype crystals under isotropic strain and/or symmetric shear.

    The deformed cell is ``s * cell @ (I + eps)`` with ``s`` uniform in
    ``[1 - max_volumetric, 1 + max_volumetric]`` (a length scale) and ``eps`` a symmetric
    matrix with zero diagonal and off-diagonal entries uniform in ``[-max_shear,
    max_shear]``. Each frame gets the volumetric part, the shear part or both.
    """

    shared: _PrototypeBased
    max_volumetric: float
    max_shear: float

    def deformation(self, rng: np.random.Generator) -> np.ndarray:
        """A random deformation gradient, shape ``(3, 3)``."""
        mode = int(rng.integers(3))  # 0: volume, 1: shear, 2: both
        scale = 1.0
        if mode in (0, 2):
            scale = float(rng.uniform(1 - self.max_volumetric, 1 + self.max_volumetric))
        shear = np.zeros((3, 3))
        if mode in (1, 2):
            upper = np.triu(rng.uniform(-self.max_shear, self.max_shear, (3, 3)), k=1)
            shear = upper + upper.T
        return scale * (np.eye(3) + shear)

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        crystal = self.shared.base_crystal(rng, index)
        for _ in range(MAX_TRIES):
            atoms = crystal.atoms.copy()
            atoms.set_cell(atoms.cell.array @ self.deformation(rng), scale_atoms=True)
            if is_sane(atoms):
                return tag(atoms, "strained", crystal.group)
        return tag(crystal.atoms, "strained", crystal.group)


@register_sampler("strained")
def build_strained(context: SamplerContext, options: dict[str, Any]) -> StrainedSampler:
    """Options: ``max_volumetric`` (0.1), ``max_shear`` (0.08) and the prototype options."""
    options = check_options(
        "strained", options, {**_BASE_DEFAULTS, "max_volumetric": 0.1, "max_shear": 0.08}
    )
    _check_context("strained", context)
    return StrainedSampler(
        _prototype_based("strained", context, options),
        max_volumetric=_check_range(
            "strained", "max_volumetric", options["max_volumetric"], 0, 0.5
        ),
        max_shear=_check_range("strained", "max_shear", options["max_shear"], 0, 0.3),
    )


# ------------------------------------------------------------------ rattled
@dataclass
class RattledSampler:
    """Prototype crystals with Gaussian displacements of width in ``[0.02, max_rattle]`` Å."""

    shared: _PrototypeBased
    max_rattle: float

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        crystal = self.shared.base_crystal(rng, index)
        sigma = float(rng.uniform(0.02, self.max_rattle))
        return tag(rattle(rng, crystal.atoms, sigma), "rattled", crystal.group)


@register_sampler("rattled")
def build_rattled(context: SamplerContext, options: dict[str, Any]) -> RattledSampler:
    """Options: ``max_rattle`` (0.25 Å), ``balanced_fraction`` (0.5)."""
    options = check_options("rattled", options, {"balanced_fraction": 0.5, "max_rattle": 0.25})
    _check_context("rattled", context)
    max_rattle = _check_range("rattled", "max_rattle", options.pop("max_rattle"), 0.02, 1.0)
    shared = _prototype_based("rattled", context, {**options, "rattle": 0.0})
    return RattledSampler(shared, max_rattle=max_rattle)


# ------------------------------------------------------------------ vacancies
def _removable(symbols: Sequence[str], anchor: str, chosen: Sequence[int]) -> list[int]:
    """Indices that may still be removed/replaced without losing the last anchor atom."""
    anchors_left = sum(
        1 for i, symbol in enumerate(symbols) if symbol == anchor and i not in chosen
    )
    return [
        i
        for i, symbol in enumerate(symbols)
        if i not in chosen and (symbol != anchor or anchors_left > 1)
    ]


def _pick_sites(
    rng: np.random.Generator, symbols: Sequence[str], anchor: str, count: int
) -> list[int]:
    """Up to ``count`` distinct sites, never every atom of the anchor element."""
    chosen: list[int] = []
    for _ in range(count):
        allowed = _removable(symbols, anchor, chosen)
        if not allowed:
            break
        chosen.append(allowed[int(rng.integers(len(allowed)))])
    return chosen


@dataclass
class VacancySampler:
    """Prototype supercells with 1-2 atoms removed (never the last anchor atom)."""

    shared: _PrototypeBased

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        crystal = self.shared.base_crystal(rng, index)
        atoms = crystal.atoms.copy()
        spare = len(atoms) - self.shared.context.min_atoms
        count = min(int(rng.integers(1, 3)), spare)
        anchor = anchor_element(self.shared.context, index)
        del atoms[_pick_sites(rng, atoms.get_chemical_symbols(), anchor, count)]
        return tag(atoms, "vacancy", crystal.group)


@register_sampler("vacancies")
def build_vacancies(context: SamplerContext, options: dict[str, Any]) -> VacancySampler:
    """Options: the prototype options. Needs ``max_atoms > min_atoms``."""
    options = check_options("vacancies", options, _BASE_DEFAULTS)
    _check_context("vacancies", context)
    if context.max_atoms <= context.min_atoms:
        raise ValueError("sampler 'vacancies' needs max_atoms > min_atoms")
    base_min = min(context.min_atoms + 2, context.max_atoms)
    return VacancySampler(_prototype_based("vacancies", context, options, min_atoms=base_min))


# ------------------------------------------------------------------ substitutions
@dataclass
class SubstitutionSampler:
    """Prototype crystals with 1-3 atoms replaced by other elements of the context.

    Substituents that land too close to a neighbour (below ``SUBSTITUTION_MIN_RATIO`` of
    the covalent-radius sum) are redrawn; if that keeps failing the cell is inflated
    until the closest pair reaches that ratio.
    """

    shared: _PrototypeBased

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        crystal = self.shared.base_crystal(rng, index)
        elements = self.shared.context.elements
        anchor = anchor_element(self.shared.context, index)
        symbols = crystal.atoms.get_chemical_symbols()
        sites = _pick_sites(rng, symbols, anchor, int(rng.integers(1, 4)))
        atoms = crystal.atoms.copy()
        for _ in range(MAX_TRIES):
            atoms = crystal.atoms.copy()
            for site in sites:
                choices = [symbol for symbol in elements if symbol != symbols[site]]
                atoms[site].symbol = choices[int(rng.integers(len(choices)))]
            if is_sane(atoms, SUBSTITUTION_MIN_RATIO):
                return tag(atoms, "substitution", crystal.group)
        return tag(scale_to_ratio(atoms, SUBSTITUTION_MIN_RATIO), "substitution", crystal.group)


@register_sampler("substitutions")
def build_substitutions(context: SamplerContext, options: dict[str, Any]) -> SubstitutionSampler:
    """Options: the prototype options. Needs at least two elements."""
    options = check_options("substitutions", options, _BASE_DEFAULTS)
    _check_context("substitutions", context, min_elements=2)
    return SubstitutionSampler(_prototype_based("substitutions", context, options))


# ------------------------------------------------------------------ surfaces
def random_miller(rng: np.random.Generator) -> tuple[int, int, int]:
    """(100), (110), (111) or a random index with entries in -1..2, equally likely."""
    pick = int(rng.integers(len(SURFACE_INDICES) + 1))
    if pick < len(SURFACE_INDICES):
        return SURFACE_INDICES[pick]
    while True:
        indices = tuple(int(i) for i in rng.integers(-1, 3, size=3))
        if any(indices):
            divisor = math.gcd(*indices)
            return (indices[0] // divisor, indices[1] // divisor, indices[2] // divisor)


@dataclass
class SurfaceSampler:
    """Slabs cut from prototype crystals, periodic in x and y only.

    The slab has 2-4 layers of the bulk cell along the surface normal and ``vacuum``
    Å (uniform in 6-10) on each side along z; it is repeated in plane to reach
    ``min_atoms``. Miller indices refer to the prototype's own cell vectors.
    """

    shared: _PrototypeBased

    def slab(self, rng: np.random.Generator, bulk_atoms: Atoms) -> Atoms | None:
        """A slab of ``bulk_atoms`` within the atom bounds, or ``None``."""
        context = self.shared.context
        most_layers = min(4, context.max_atoms // len(bulk_atoms))
        layers = int(rng.integers(2, most_layers + 1))
        miller = random_miller(rng)
        vacuum = float(rng.uniform(6.0, 10.0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            slab = surface(bulk_atoms, miller, layers, vacuum=vacuum)
        reps = supercell_reps(
            slab.cell.array, len(slab), context.min_atoms, context.max_atoms, axes=(0, 1)
        )
        if reps is None:
            return None
        slab = slab.repeat(reps)
        slab.pbc = [True, True, False]
        return slab if is_sane(slab) else None

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        for _ in range(MAX_TRIES):
            crystal = self.shared.base_crystal(rng, index)
            slab = self.slab(rng, crystal.atoms)
            if slab is not None:
                return tag(slab, "surface", crystal.group)
        raise RuntimeError(f"could not cut a slab for frame {index} within the atom bounds")


@register_sampler("surfaces")
def build_surfaces(context: SamplerContext, options: dict[str, Any]) -> SurfaceSampler:
    """Options: the prototype options. Needs ``max_atoms >= 2``."""
    options = check_options("surfaces", options, _BASE_DEFAULTS)
    _check_context("surfaces", context)
    if context.max_atoms < 2:
        raise ValueError("sampler 'surfaces' needs max_atoms >= 2")
    shared = _prototype_based(
        "surfaces", context, options, min_atoms=1, max_atoms=context.max_atoms // 2
    )
    return SurfaceSampler(shared)


# ------------------------------------------------------------------ random crystals
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
        if packing_ratio(atoms) > MAX_PACKING_RATIO or not is_sane(atoms):
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
    _check_context("random_crystals", context)
    max_elements = int(options["max_elements"])
    max_tries = int(options["max_tries"])
    if max_elements < 1 or max_tries < 1:
        raise ValueError("sampler 'random_crystals' needs max_elements >= 1 and max_tries >= 1")
    return RandomCrystalSampler(context, max_elements=max_elements, max_tries=max_tries)
