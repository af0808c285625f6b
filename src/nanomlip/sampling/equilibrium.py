"""Crystals near the teacher's own equilibrium volume (category ``"equilibrium"``).

The prototype samplers build cells at covalent bond lengths, which for most elements and
compounds is far from the equilibrium density (diamond Si at covalent lengths is 16 %
too dense). A student trained only on such frames never sees the low-energy basin that
MD and equations of state live in. This sampler therefore

1. builds a crystal: with probability ``unary_fraction`` the anchor element alone in one of
   the common elemental structures (fcc, bcc, hcp, diamond, simple cubic), otherwise a
   decorated AFLOW prototype as the other crystal samplers do;
2. scans isotropic scale factors with the teacher (the MD driver of the labelling run),
   coarse then fine, and moves the cell to the minimum of a parabola fitted to the fine scan;
3. applies a small random strain (volumetric and shear, up to ``max_strain``) and a
   Gaussian rattle of width up to ``max_rattle`` Å.

Without a driver (``md_driver: none``) step 2 is skipped and the crystal keeps its
covalent-length cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.calculators.calculator import Calculator
from ase.data import atomic_numbers, covalent_radii

from nanomlip.sampling.base import (
    CalculatorFactory,
    LazyMDCalculator,
    SamplerContext,
    register_sampler,
)
from nanomlip.sampling.geometry import anchor_element, min_distance_ratio, rattle, tag
from nanomlip.sampling.options import check_crystal_context, check_in_range, check_options
from nanomlip.sampling.prototypes import PROTOTYPE_DEFAULTS, PrototypeBased, prototype_based

#: Elemental structures and their lattice constant in units of the nearest-neighbour distance.
ELEMENTAL_STRUCTURES: dict[str, float] = {
    "fcc": math.sqrt(2.0),
    "bcc": 2.0 / math.sqrt(3.0),
    "hcp": 1.0,
    "diamond": 4.0 / math.sqrt(3.0),
    "sc": 1.0,
}

#: The coarse scan puts the closest pair at these multiples of its covalent-radius sum
#: (elemental crystals sit at 0.85-1.15; below 0.75 teachers leave their training data).
PAIR_RATIO_RANGE = (0.75, 1.35)
#: Points of the coarse scan (geometric in length).
NUM_COARSE = 7
#: Relative length steps of the fine scan around the coarse minimum.
FINE_STEPS = (-0.05, -0.025, 0.0, 0.025, 0.05)


def elemental_crystal(symbol: str, structure: str) -> Atoms:
    """``symbol`` in ``structure`` (smallest cell) at covalent nearest-neighbour distance.

    Args:
        symbol: Chemical symbol.
        structure: A key of :data:`ELEMENTAL_STRUCTURES`.
    """
    if structure not in ELEMENTAL_STRUCTURES:
        raise ValueError(
            f"unknown structure {structure!r}; use one of {list(ELEMENTAL_STRUCTURES)}"
        )
    distance = 2.0 * covalent_radii[atomic_numbers[symbol]]
    a = ELEMENTAL_STRUCTURES[structure] * distance
    if structure == "hcp":
        return bulk(symbol, "hcp", a=a, c=a * math.sqrt(8.0 / 3.0))
    return bulk(symbol, structure, a=a, cubic=structure not in ("sc", "fcc", "bcc"))


def repeated_to(atoms: Atoms, min_atoms: int) -> Atoms:
    """``atoms`` repeated along its cell vectors, in turn, until it has ``min_atoms`` atoms."""
    repeats = [1, 1, 1]
    axis = 0
    while len(atoms) * int(np.prod(repeats)) < min_atoms:
        repeats[axis % 3] += 1
        axis += 1
    return atoms.repeat(repeats)


def _energies(atoms: Atoms, calculator: Calculator, scales: list[float]) -> list[float]:
    """Energy per atom (eV, ``inf`` when the calculator fails) at each length scale."""
    energies = []
    for scale in scales:
        trial = atoms.copy()
        trial.set_cell(atoms.cell.array * scale, scale_atoms=True)
        trial.calc = calculator
        try:
            energy = float(trial.get_potential_energy()) / len(trial)
        except Exception:  # noqa: BLE001 - a teacher failing on a squeezed cell is a data point
            energy = math.inf
        energies.append(energy if math.isfinite(energy) else math.inf)
    return energies


def scale_to_minimum(atoms: Atoms, calculator: Calculator) -> tuple[Atoms, float]:
    """``atoms`` isotropically rescaled to the calculator's energy minimum.

    A coarse scan that puts the closest pair at :data:`PAIR_RATIO_RANGE` times its
    covalent-radius sum finds the basin; a fine scan of
    :data:`FINE_STEPS` around its lowest point follows, and the parabola through the
    lowest fine point and its two neighbours gives the scale (its vertex, or the lowest
    point at an end of the scan or when the parabola opens downwards).

    Returns:
        ``(rescaled atoms, length scale)``.
    """
    ratio = min_distance_ratio(atoms)
    low, high = (bound / ratio for bound in PAIR_RATIO_RANGE)
    coarse = [float(x) for x in np.geomspace(low, high, NUM_COARSE)]
    centre = coarse[int(np.argmin(_energies(atoms, calculator, coarse)))]
    fine = [centre * (1.0 + step) for step in FINE_STEPS]
    energies = np.array(_energies(atoms, calculator, fine))
    best = int(np.argmin(energies))
    chosen = fine[best]
    around = slice(max(best - 1, 0), min(best + 2, len(fine)))
    if best not in (0, len(fine) - 1) and np.all(np.isfinite(energies[around])):
        x = np.array(fine[around])
        curvature, slope, _ = np.polyfit(x, energies[around], 2)
        if curvature > 0:
            chosen = float(np.clip(-slope / (2 * curvature), x[0], x[-1]))
    result = atoms.copy()
    result.set_cell(atoms.cell.array * chosen, scale_atoms=True)
    return result, chosen


def small_strain(rng: np.random.Generator, atoms: Atoms, max_strain: float) -> Atoms:
    """``atoms`` under a random symmetric strain with entries up to ``max_strain``."""
    strain = rng.uniform(-max_strain, max_strain, (3, 3))
    strain = 0.5 * (strain + strain.T)
    result = atoms.copy()
    result.set_cell(atoms.cell.array @ (np.eye(3) + strain), scale_atoms=True)
    return result


@dataclass
class EquilibriumSampler(LazyMDCalculator):
    """Crystals at the teacher's equilibrium volume, lightly strained and rattled."""

    shared: PrototypeBased
    unary_fraction: float
    max_strain: float
    max_rattle: float
    md_factory: CalculatorFactory | None

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        context = self.shared.context
        if rng.random() < self.unary_fraction:
            symbol = anchor_element(context, index)
            structure = list(ELEMENTAL_STRUCTURES)[int(rng.integers(len(ELEMENTAL_STRUCTURES)))]
            atoms = elemental_crystal(symbol, structure)
            group = f"equilibrium:{symbol}:{structure}"
        else:
            crystal = self.shared.base_crystal(rng, index)
            atoms, group = crystal.atoms, crystal.group
        driver = self._md_calculator()
        scale = None
        if driver is not None:  # scan the smallest cell: the teacher's cost is per atom
            atoms, scale = scale_to_minimum(atoms, driver)
        atoms = repeated_to(atoms, max(context.min_atoms, 8))
        if scale is not None:
            atoms.info["equilibrium_scale"] = scale
        atoms = small_strain(rng, atoms, self.max_strain)
        sigma = float(rng.uniform(0.0, self.max_rattle))
        if sigma > 0:
            atoms = rattle(rng, atoms, sigma)
        atoms.calc = None
        return tag(atoms, "equilibrium", group)


@register_sampler("equilibrium")
def build_equilibrium(context: SamplerContext, options: dict[str, Any]) -> EquilibriumSampler:
    """Options: ``unary_fraction`` (0.5), ``max_strain`` (0.02), ``max_rattle`` (0.08 Å).

    ``balanced_fraction`` (0.5) and ``max_base_atoms`` (16: the teacher scans the cell, at a
    cost per atom) apply to the compound prototypes, which are then repeated to at least 8
    atoms.
    """
    defaults = {
        "balanced_fraction": PROTOTYPE_DEFAULTS["balanced_fraction"],
        "unary_fraction": 0.5,
        "max_strain": 0.02,
        "max_rattle": 0.08,
        "max_base_atoms": 16,
    }
    options = check_options("equilibrium", options, defaults)
    check_crystal_context("equilibrium", context)
    unary = check_in_range("equilibrium", "unary_fraction", options.pop("unary_fraction"), 0, 1)
    strain = check_in_range("equilibrium", "max_strain", options.pop("max_strain"), 0, 0.2)
    max_rattle = check_in_range("equilibrium", "max_rattle", options.pop("max_rattle"), 0, 0.5)
    max_base = int(options.pop("max_base_atoms"))
    if max_base < 1:
        raise ValueError("sampler 'equilibrium': option 'max_base_atoms' must be >= 1")
    shared = prototype_based(
        "equilibrium",
        context,
        {**options, "rattle": 0.0},
        max_atoms=min(max_base, context.max_atoms),
    )
    return EquilibriumSampler(shared, unary, strain, max_rattle, context.md_calculator)
