"""Periodic boxes of one or two solvents at liquid density: the ``liquids`` sampler.

Boxes are packed with packmol (random insertion when packmol is missing or fails),
optionally followed by a short hot MD. Densities are in g/cm³.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from nanomlip.sampling.base import INFO_CATEGORY, INFO_GROUP, SamplerContext, register_sampler
from nanomlip.sampling.geometry import anchor_element, draw_seed, plain_atoms
from nanomlip.sampling.hot_md import HotMDMixin, MDSettings
from nanomlip.sampling.molecules import (
    ELECTROLYTE_SOLVENTS,
    OPTIMIZERS,
    OTHER_SOLVENTS,
    SOLVENT_DENSITIES,
    MoleculeSpec,
    rdkit_available,
    smiles_symbols,
)
from nanomlip.sampling.options import (
    check_fraction,
    check_molecular_context,
    check_non_negative,
    check_options,
)
from nanomlip.sampling.packing import (
    box_length,
    find_packmol,
    pack_randomly,
    pack_with_packmol,
    random_packing,
)

#: g2 molecules that stand in for solvents when rdkit is not installed.
_SOLVENT_G2_NAMES: dict[str, str] = {
    "acetonitrile": "CH3CN",
    "DMSO": "C2H6SO",
    "ethanol": "CH3CH2OH",
    "methanol": "CH3OH",
    "water": "H2O",
    "acetone": "CH3COCH3",
    "benzene": "C6H6",
}


_LIQUID_DEFAULTS: dict[str, Any] = {
    "solvents": None,
    "density": None,
    "density_jitter": 0.1,
    "mixture_fraction": 0.5,
    "tolerance": 2.0,
    "optimize": "mmff",
    "use_packmol": True,
    "temperature": 600.0,
    "steps": 20,
    "timestep": 0.5,
    "friction": 0.02,
    "rattle": 0.05,
}


@dataclass(frozen=True)
class _Solvent:
    spec: MoleculeSpec
    density: float


class LiquidSampler(HotMDMixin):
    """Periodic boxes of one or two solvents at liquid density, then optional hot MD.

    Options (all optional):
        solvents: Names from :data:`SOLVENT_DENSITIES` or ``{name: smiles}``; default all.
        density: Density (g/cm³) for every box; default each solvent's table value
            (1.0 for solvents outside the table).
        density_jitter: Relative uniform jitter of the density (0.1 = ±10 %).
        mixture_fraction: Probability that a box mixes two solvents.
        tolerance: Minimum distance (Å) between atoms of different molecules when packing.
        optimize: Force field for the rdkit geometries (``"mmff"``, ``"uff"``, ``"none"``).
        use_packmol: Use packmol when it is installed (else random insertion).
        temperature, steps, timestep, friction: Hot MD (K, count, fs, 1/fs).
        rattle: Noise (Å) applied instead of MD when no calculator is set.
    """

    def __init__(self, context: SamplerContext, options: dict[str, Any]) -> None:
        check_molecular_context("liquids", context)
        opts = check_options("liquids", options, _LIQUID_DEFAULTS)
        if opts["optimize"] not in OPTIMIZERS:
            raise ValueError(f"sampler 'liquids': optimize must be one of {OPTIMIZERS}")
        self.context = context
        self.optimize: str = opts["optimize"]
        self.density: float | None = None
        if opts["density"] is not None:
            self.density = check_non_negative("liquids", "density", opts["density"])
            if self.density == 0.0:
                raise ValueError("sampler 'liquids': density must be > 0")
        self.jitter = check_fraction("liquids", "density_jitter", opts["density_jitter"])
        self.mixture_fraction = check_fraction(
            "liquids", "mixture_fraction", opts["mixture_fraction"]
        )
        self.tolerance = check_non_negative("liquids", "tolerance", opts["tolerance"])
        self.rattle = check_non_negative("liquids", "rattle", opts["rattle"])
        self.packmol = find_packmol() if opts["use_packmol"] else None
        self.md = MDSettings.from_options("liquids", opts)
        self.md_factory = context.md_calculator
        self.solvents = self._solvents(opts["solvents"])

    def _solvents(self, requested: Sequence[str] | dict[str, str] | None) -> list[_Solvent]:
        """Solvents made of allowed elements with at least two copies fitting ``max_atoms``."""
        table = {**ELECTROLYTE_SOLVENTS, **OTHER_SOLVENTS}
        if requested is None:
            chosen = table
        elif isinstance(requested, dict):
            chosen = dict(requested)
        else:
            unknown = sorted(set(requested) - set(table))
            if unknown:
                raise ValueError(
                    f"sampler 'liquids': unknown solvents {unknown}; known {sorted(table)}"
                )
            chosen = {name: table[name] for name in requested}
        if rdkit_available():
            specs = [MoleculeSpec(n, smiles_symbols(s), smiles=s) for n, s in chosen.items()]
        else:
            specs = [
                MoleculeSpec(
                    n, tuple(_g2_symbols(_SOLVENT_G2_NAMES[n])), g2_name=_SOLVENT_G2_NAMES[n]
                )
                for n in chosen
                if n in _SOLVENT_G2_NAMES
            ]
        allowed = set(self.context.elements)
        fits = [
            s
            for s in specs
            if set(s.symbols) <= allowed and 2 * len(s.symbols) <= self.context.max_atoms
        ]
        return [_Solvent(s, SOLVENT_DENSITIES.get(s.name, 1.0)) for s in fits]

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        """A packed box; an atomic liquid of the anchor element when no solvent fits."""
        if not self.solvents:
            return self._atomic_liquid(rng, index)
        species, counts = self._choose(rng)
        templates = [s.spec.build(draw_seed(rng), self.optimize) for s in species]
        densities = [self.density or s.density for s in species]
        scale = rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)
        length = box_length(
            [t for t, n in zip(templates, counts) for _ in range(n)],
            [d * scale for d, n in zip(densities, counts) for _ in range(n)],
        )
        atoms = None
        seed = draw_seed(rng)
        if self.packmol is not None:
            atoms = pack_with_packmol(self.packmol, templates, counts, length, self.tolerance, seed)
        if atoms is None:
            atoms = pack_randomly(templates, counts, length, self.tolerance, rng)
        atoms = self._maybe_md(atoms, rng, self.rattle)
        atoms.wrap()
        names = "+".join(s.spec.name for s in species)
        info = {**atoms.info, INFO_CATEGORY: "liquid", INFO_GROUP: f"liquid:{names}:{index}"}
        return plain_atoms(atoms, info)

    def _choose(self, rng: np.random.Generator) -> tuple[list[_Solvent], list[int]]:
        """One or two solvents and copy counts filling at most ``max_atoms`` atoms."""
        budget = self.context.max_atoms
        first = self.solvents[rng.integers(len(self.solvents))]
        size = len(first.spec.symbols)
        partners = [
            s for s in self.solvents if s is not first and size + len(s.spec.symbols) <= budget
        ]
        if partners and rng.random() < self.mixture_fraction:
            second = partners[rng.integers(len(partners))]
            other = len(second.spec.symbols)
            n_first = int(rng.integers(1, (budget - other) // size + 1))
            return [first, second], [n_first, (budget - n_first * size) // other]
        return [first], [budget // size]

    def _atomic_liquid(self, rng: np.random.Generator, index: int) -> Atoms:
        symbol = anchor_element(self.context, index)
        total = int(rng.integers(min(8, self.context.max_atoms), self.context.max_atoms + 1))
        numbers = np.full(total, atomic_numbers[symbol])
        atoms = self._maybe_md(random_packing(numbers, rng, 0.3, 0.75), rng, self.rattle)
        atoms.wrap()
        formula = atoms.get_chemical_formula()
        info = {**atoms.info, INFO_CATEGORY: "liquid", INFO_GROUP: f"liquid:{formula}:{index}"}
        return plain_atoms(atoms, info)


def _g2_symbols(name: str) -> list[str]:
    from ase.build import molecule

    return molecule(name).get_chemical_symbols()


@register_sampler("liquids")
def build_liquids(context: SamplerContext, options: dict[str, Any]) -> LiquidSampler:
    """Builder of the ``liquids`` sampler (see :class:`LiquidSampler`)."""
    return LiquidSampler(context, options)
