"""Variations of decorated prototype crystals: strain, rattle, vacancies, substitutions, surfaces.

Registered samplers, with the ``category`` they write into ``atoms.info``:

- ``strained`` (``strained``): a prototype crystal under volumetric strain and/or shear.
- ``rattled`` (``rattled``): a prototype crystal with Gaussian displacements.
- ``vacancies`` (``vacancy``): a prototype supercell with 1-2 atoms removed.
- ``substitutions`` (``substitution``): a prototype crystal with 1-3 atoms replaced.
- ``surfaces`` (``surface``): a slab cut from a prototype crystal, vacuum along z.

Each starts from :meth:`nanomlip.sampling.prototypes.PrototypeBased.base_crystal` and keeps
its group, so a crystal and its variations stay on one side of a train/validation split.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms
from ase.build import surface

from nanomlip.sampling.base import SamplerContext, register_sampler
from nanomlip.sampling.geometry import (
    MAX_TRIES,
    anchor_element,
    crystal_is_sane,
    rattle,
    scale_to_ratio,
    supercell_reps,
    tag,
)
from nanomlip.sampling.options import check_crystal_context, check_in_range, check_options
from nanomlip.sampling.prototypes import PROTOTYPE_DEFAULTS, PrototypeBased, prototype_based

#: Smallest covalent-radius ratio accepted after a substitution before inflating the cell.
SUBSTITUTION_MIN_RATIO = 0.7
#: Low-index Miller indices offered to the surface sampler besides a random low index.
SURFACE_INDICES: tuple[tuple[int, int, int], ...] = ((1, 0, 0), (1, 1, 0), (1, 1, 1))


@dataclass
class StrainedSampler:
    """Prototype crystals under isotropic strain and/or symmetric shear.

    The deformed cell is ``s * cell @ (I + eps)`` with ``s`` uniform in
    ``[1 - max_volumetric, 1 + max_volumetric]`` (a length scale) and ``eps`` a symmetric
    matrix with zero diagonal and off-diagonal entries uniform in ``[-max_shear,
    max_shear]``. Each frame gets the volumetric part, the shear part or both.
    """

    shared: PrototypeBased
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
            if crystal_is_sane(atoms):
                return tag(atoms, "strained", crystal.group)
        return tag(crystal.atoms, "strained", crystal.group)


@register_sampler("strained")
def build_strained(context: SamplerContext, options: dict[str, Any]) -> StrainedSampler:
    """Options: ``max_volumetric`` (0.1), ``max_shear`` (0.08) and the prototype options."""
    options = check_options(
        "strained", options, {**PROTOTYPE_DEFAULTS, "max_volumetric": 0.1, "max_shear": 0.08}
    )
    check_crystal_context("strained", context)
    return StrainedSampler(
        prototype_based("strained", context, options),
        max_volumetric=check_in_range(
            "strained", "max_volumetric", options["max_volumetric"], 0, 0.5
        ),
        max_shear=check_in_range("strained", "max_shear", options["max_shear"], 0, 0.3),
    )


@dataclass
class RattledSampler:
    """Prototype crystals with Gaussian displacements of width in ``[0.02, max_rattle]`` Å."""

    shared: PrototypeBased
    max_rattle: float

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        crystal = self.shared.base_crystal(rng, index)
        sigma = float(rng.uniform(0.02, self.max_rattle))
        return tag(rattle(rng, crystal.atoms, sigma), "rattled", crystal.group)


@register_sampler("rattled")
def build_rattled(context: SamplerContext, options: dict[str, Any]) -> RattledSampler:
    """Options: ``max_rattle`` (0.25 Å), ``balanced_fraction`` (0.5)."""
    options = check_options("rattled", options, {"balanced_fraction": 0.5, "max_rattle": 0.25})
    check_crystal_context("rattled", context)
    max_rattle = check_in_range("rattled", "max_rattle", options.pop("max_rattle"), 0.02, 1.0)
    shared = prototype_based("rattled", context, {**options, "rattle": 0.0})
    return RattledSampler(shared, max_rattle=max_rattle)


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

    shared: PrototypeBased

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
    options = check_options("vacancies", options, PROTOTYPE_DEFAULTS)
    check_crystal_context("vacancies", context)
    if context.max_atoms <= context.min_atoms:
        raise ValueError("sampler 'vacancies' needs max_atoms > min_atoms")
    base_min = min(context.min_atoms + 2, context.max_atoms)
    return VacancySampler(prototype_based("vacancies", context, options, min_atoms=base_min))


@dataclass
class SubstitutionSampler:
    """Prototype crystals with 1-3 atoms replaced by other elements of the context.

    Substituents that land too close to a neighbour (below ``SUBSTITUTION_MIN_RATIO`` of
    the covalent-radius sum) are redrawn; if that keeps failing the cell is inflated
    until the closest pair reaches that ratio.
    """

    shared: PrototypeBased

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
            if crystal_is_sane(atoms, SUBSTITUTION_MIN_RATIO):
                return tag(atoms, "substitution", crystal.group)
        return tag(scale_to_ratio(atoms, SUBSTITUTION_MIN_RATIO), "substitution", crystal.group)


@register_sampler("substitutions")
def build_substitutions(context: SamplerContext, options: dict[str, Any]) -> SubstitutionSampler:
    """Options: the prototype options. Needs at least two elements."""
    options = check_options("substitutions", options, PROTOTYPE_DEFAULTS)
    check_crystal_context("substitutions", context, min_elements=2)
    return SubstitutionSampler(prototype_based("substitutions", context, options))


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

    shared: PrototypeBased

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
        return slab if crystal_is_sane(slab) else None

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
    options = check_options("surfaces", options, PROTOTYPE_DEFAULTS)
    check_crystal_context("surfaces", context)
    if context.max_atoms < 2:
        raise ValueError("sampler 'surfaces' needs max_atoms >= 2")
    shared = prototype_based(
        "surfaces", context, options, min_atoms=1, max_atoms=context.max_atoms // 2
    )
    return SurfaceSampler(shared)
