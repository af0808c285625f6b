"""Molecular samplers: molecules, liquid boxes, amorphous packings and close contacts.

Four samplers are registered here:

* ``molecules``: isolated molecules from ASE's g2 set and from SMILES (rdkit), including
  the Li-ion electrolyte solvents, randomly rotated, rattled and sometimes distorted.
* ``liquids``: periodic boxes of one or two solvents at liquid density, packed with packmol
  (random insertion when packmol is missing), optionally followed by a short hot MD.
* ``amorphous``: dense random packings of one to three elements in a cubic periodic box,
  optionally followed by a short hot MD.
* ``close_contacts``: dimers and trimers in vacuum with one pair well inside the
  covalent-radius sum, so that the student learns short-range repulsion.

Every ``make(rng, index)`` draws all its randomness from ``rng``: rdkit, packmol and the
ASE thermostat are seeded with integers drawn from it. Distances are in Å, densities in
g/cm³, temperatures in K, timesteps in fs and friction coefficients in 1/fs.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.data import atomic_masses, atomic_numbers, covalent_radii
from ase.units import fs, kB

from nanomlip._optional import import_optional
from nanomlip.sampling.base import (
    INFO_CATEGORY,
    INFO_GROUP,
    LazyMDCalculator,
    SamplerContext,
    check_options,
    register_sampler,
)

#: No two atoms of any frame are ever closer than this (Å).
MIN_DISTANCE = 0.35
#: Outside ``close_contacts``, pairs stay beyond this fraction of their covalent-radius sum.
MIN_COVALENT_FACTOR = 0.6
#: 1 g/cm³ expressed in amu/Å³.
AMU_PER_CUBIC_ANGSTROM = 0.602214076
#: Largest integer handed to rdkit, packmol and numpy as a seed.
_MAX_SEED = 2**31 - 1

#: Li-ion electrolyte solvents: name -> SMILES.
ELECTROLYTE_SOLVENTS: dict[str, str] = {
    "EC": "O=C1OCCO1",
    "PC": "CC1COC(=O)O1",
    "DMC": "COC(=O)OC",
    "DEC": "CCOC(=O)OCC",
    "EMC": "CCOC(=O)OC",
    "FEC": "O=C1OCC(F)O1",
    "DME": "COCCOC",
    "VC": "O=C1OC=CO1",
}

#: Other common solvents: name -> SMILES.
OTHER_SOLVENTS: dict[str, str] = {
    "acetonitrile": "CC#N",
    "DMSO": "CS(C)=O",
    "THF": "C1CCOC1",
    "DOL": "C1COCO1",
    "ethanol": "CCO",
    "methanol": "CO",
    "water": "O",
    "acetone": "CC(C)=O",
    "benzene": "c1ccccc1",
}

#: Further molecules (not used as liquids): electrolyte decomposition products and a few
#: common organics. Charged species (PF6-, Li+ PF6- pairs) are left out: rdkit's embedding
#: and force fields do not give them sane geometries.
OTHER_MOLECULES: dict[str, str] = {
    "PF5": "FP(F)(F)(F)F",
    "POF3": "O=P(F)(F)F",
    "LiMC": "COC(=O)O[Li]",
    "ethylene_glycol": "OCCO",
    "acetic_acid": "CC(=O)O",
    "glycine": "NCC(=O)O",
    "pyridine": "c1ccncc1",
    "toluene": "Cc1ccccc1",
}

#: Room-temperature liquid densities (g/cm³) of the solvents.
SOLVENT_DENSITIES: dict[str, float] = {
    "EC": 1.32,
    "PC": 1.205,
    "DMC": 1.07,
    "DEC": 0.975,
    "EMC": 1.01,
    "FEC": 1.45,
    "DME": 0.868,
    "VC": 1.355,
    "acetonitrile": 0.786,
    "DMSO": 1.10,
    "THF": 0.889,
    "DOL": 1.06,
    "ethanol": 0.789,
    "methanol": 0.792,
    "water": 0.997,
    "acetone": 0.784,
    "benzene": 0.876,
}

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

_OPTIMIZERS = ("mmff", "uff", "none")


# ---------------------------------------------------------------------- small helpers
def draw_seed(rng: np.random.Generator) -> int:
    """An integer seed in ``[0, 2**31 - 1)`` for rdkit, packmol or a numpy generator."""
    return int(rng.integers(0, _MAX_SEED))


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly distributed rotation matrix, shape ``(3, 3)``, from a random unit quaternion."""
    w, x, y, z = _unit_vector(rng, 4)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _unit_vector(rng: np.random.Generator, dim: int = 3) -> np.ndarray:
    """A random direction, shape ``(dim,)``, uniform on the unit sphere."""
    while True:
        vector = rng.normal(size=dim)
        norm = float(np.linalg.norm(vector))
        if norm > 1e-8:
            return vector / norm


def radius_sums(numbers: np.ndarray) -> np.ndarray:
    """Covalent-radius sums of all pairs (Å), shape ``(n, n)``."""
    radii = covalent_radii[numbers]
    return radii[:, None] + radii[None, :]


def pair_distances(atoms: Atoms) -> np.ndarray:
    """All interatomic distances (Å, minimum image if periodic), shape ``(n, n)``, diagonal inf."""
    distances = atoms.get_all_distances(mic=bool(atoms.pbc.any()))
    np.fill_diagonal(distances, np.inf)
    return distances


def is_sane(
    atoms: Atoms,
    covalent_factor: float = MIN_COVALENT_FACTOR,
    absolute: float = MIN_DISTANCE,
) -> bool:
    """Whether positions are finite and every pair is farther than both thresholds.

    Args:
        atoms: The structure; periodic images count when ``atoms.pbc`` is set.
        covalent_factor: Minimum distance as a fraction of each pair's covalent-radius sum.
        absolute: Minimum distance in Å for every pair.

    Returns:
        ``True`` when no pair (including an atom and its own periodic image) is too close.
    """
    if not np.all(np.isfinite(atoms.positions)):
        return False
    radii = covalent_radii[atoms.numbers]
    if atoms.pbc.any() and len(atoms):
        shortest = float(np.linalg.norm(atoms.cell.array[atoms.pbc], axis=1).min())
        if shortest < max(absolute, covalent_factor * 2 * radii.max()):
            return False
    if len(atoms) < 2:
        return True
    limits = np.maximum(covalent_factor * radius_sums(atoms.numbers), absolute)
    return bool(np.all(pair_distances(atoms) >= limits))


def plain_atoms(atoms: Atoms, info: dict[str, Any]) -> Atoms:
    """A copy carrying only numbers, positions, cell, pbc and ``info`` (no calculator, momenta)."""
    return Atoms(
        numbers=atoms.numbers.copy(),
        positions=atoms.positions.copy(),
        cell=atoms.cell.array.copy(),
        pbc=atoms.pbc.copy(),
        info=dict(info),
    )


def anchor_element(context: SamplerContext, index: int) -> str:
    """The element frame ``index`` is built around, cycling through ``context.elements``."""
    return context.elements[index % len(context.elements)]


def _check_fraction(sampler: str, name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"sampler {sampler!r}: option {name!r} must lie in [0, 1], got {value}")
    return value


def _check_non_negative(sampler: str, name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0.0:
        raise ValueError(f"sampler {sampler!r}: option {name!r} must be >= 0, got {value}")
    return value


def _check_range(sampler: str, name: str, value: Sequence[float]) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"sampler {sampler!r}: option {name!r} must be a pair [low, high], got {value!r}"
        ) from error
    if not 0.0 < low <= high:
        raise ValueError(f"sampler {sampler!r}: option {name!r} needs 0 < low <= high")
    return low, high


def _check_context(sampler: str, context: SamplerContext) -> None:
    if not context.elements:
        raise ValueError(f"sampler {sampler!r} needs at least one element")
    if context.max_atoms < 1:
        raise ValueError(f"sampler {sampler!r} needs max_atoms >= 1, got {context.max_atoms}")


# ---------------------------------------------------------------------- molecule geometry
@dataclass(frozen=True)
class MoleculeSpec:
    """One molecule of the catalogue.

    Attributes:
        name: Short name used in groups (``mol:{name}``).
        symbols: Chemical symbols including hydrogens.
        smiles: SMILES string, or ``None`` for a g2 molecule built by ASE.
        g2_name: Name in ``ase.collections.g2`` when ``smiles`` is ``None``.
    """

    name: str
    symbols: tuple[str, ...]
    smiles: str | None = None
    g2_name: str | None = None

    def build(self, seed: int, optimize: str = "mmff") -> Atoms:
        """Molecule geometry (Å), centred at the origin, no cell, ``pbc=False``."""
        if self.smiles is not None:
            atoms = embed_smiles(self.smiles, seed, optimize)
        else:
            from ase.build import molecule

            atoms = molecule(self.g2_name)
        atoms = Atoms(atoms.numbers, atoms.positions - atoms.positions.mean(axis=0))
        return atoms


def _rdkit_available() -> bool:
    try:
        import rdkit  # noqa: F401
    except ImportError:
        return False
    return True


def smiles_symbols(smiles: str) -> tuple[str, ...]:
    """Chemical symbols, hydrogens included, of a SMILES string (needs rdkit)."""
    Chem = import_optional("rdkit.Chem", "sampling", "molecules from SMILES")
    molecule = Chem.MolFromSmiles(smiles)
    if molecule is None:
        raise ValueError(f"rdkit cannot parse SMILES {smiles!r}")
    return tuple(atom.GetSymbol() for atom in Chem.AddHs(molecule).GetAtoms())


def embed_smiles(smiles: str, seed: int, optimize: str = "mmff") -> Atoms:
    """3D geometry of a SMILES string by seeded ETKDG, optionally force-field optimised.

    Args:
        smiles: The molecule; hydrogens are added.
        seed: rdkit random seed (same seed, same geometry).
        optimize: ``"mmff"`` (MMFF94, UFF where MMFF lacks parameters), ``"uff"`` or ``"none"``.

    Returns:
        The molecule in vacuum, positions in Å.

    Raises:
        RuntimeError: If rdkit cannot embed the molecule.
    """
    Chem = import_optional("rdkit.Chem", "sampling", "molecules from SMILES")
    rdBase = import_optional("rdkit.rdBase", "sampling", "molecules from SMILES")
    AllChem = import_optional("rdkit.Chem.AllChem", "sampling", "molecules from SMILES")

    with rdBase.BlockLogs():
        molecule = Chem.AddHs(Chem.MolFromSmiles(smiles))
        params = AllChem.ETKDGv3()
        params.randomSeed = seed
        params.numThreads = 1
        if AllChem.EmbedMolecule(molecule, params) != 0:
            params.useRandomCoords = True
            if AllChem.EmbedMolecule(molecule, params) != 0:
                raise RuntimeError(f"rdkit could not embed {smiles!r} in 3D")
        if optimize == "mmff" and AllChem.MMFFHasAllMoleculeParams(molecule):
            AllChem.MMFFOptimizeMolecule(molecule, maxIters=500)
        elif optimize != "none" and AllChem.UFFHasAllMoleculeParams(molecule):
            AllChem.UFFOptimizeMolecule(molecule, maxIters=500)
        positions = molecule.GetConformer().GetPositions()
        numbers = [atom.GetAtomicNum() for atom in molecule.GetAtoms()]
    return Atoms(numbers=numbers, positions=positions)


def molecule_catalogue(
    smiles: dict[str, str], include_g2: bool, elements: Sequence[str], max_atoms: int
) -> list[MoleculeSpec]:
    """The molecules made only of ``elements`` with at most ``max_atoms`` atoms.

    SMILES entries come first, in the given order (skipped when rdkit is missing), then
    the g2 molecules of two atoms or more in alphabetical order.
    """
    specs: list[MoleculeSpec] = []
    if _rdkit_available():
        specs += [MoleculeSpec(name, smiles_symbols(s), smiles=s) for name, s in smiles.items()]
    if include_g2:
        from ase.build import molecule
        from ase.collections import g2

        for name in sorted(g2.names):
            symbols = tuple(molecule(name).get_chemical_symbols())
            if len(symbols) >= 2:
                specs.append(MoleculeSpec(name, symbols, g2_name=name))
    allowed = set(elements)
    return [s for s in specs if set(s.symbols) <= allowed and len(s.symbols) <= max_atoms]


def fallback_molecule(context: SamplerContext, index: int, rng: np.random.Generator) -> Atoms:
    """A homonuclear dimer (a single atom if ``max_atoms`` is 1) of the anchor element."""
    symbol = anchor_element(context, index)
    if context.max_atoms < 2:
        return Atoms(symbol, positions=[[0.0, 0.0, 0.0]])
    bond = rng.uniform(0.9, 1.2) * 2 * covalent_radii[atomic_numbers[symbol]]
    return Atoms(symbol * 2, positions=[[0.0, 0.0, -bond / 2], [0.0, 0.0, bond / 2]])


# ---------------------------------------------------------------------- perturbations
def rattle_positions(positions: np.ndarray, rng: np.random.Generator, stdev: float) -> np.ndarray:
    """Positions plus Gaussian noise of ``stdev`` Å per Cartesian component, shape ``(n, 3)``."""
    return positions + rng.normal(scale=stdev, size=positions.shape)


def stretch_random_bond(
    atoms: Atoms, rng: np.random.Generator, factors: tuple[float, float]
) -> np.ndarray:
    """Positions with one random bond scaled by a factor drawn from ``factors``, shape ``(n, 3)``.

    A bond is a pair closer than 1.25 × its covalent-radius sum; the second atom moves.
    """
    positions = atoms.positions.copy()
    if len(atoms) < 2:
        return positions
    distances = pair_distances(atoms)
    bonded = np.argwhere(np.triu(distances < 1.25 * radius_sums(atoms.numbers), k=1))
    if len(bonded) == 0:
        return positions
    i, j = bonded[rng.integers(len(bonded))]
    if rng.random() < 0.5:
        i, j = j, i
    positions[j] = positions[i] + rng.uniform(*factors) * (positions[j] - positions[i])
    return positions


def perturb_molecule(
    atoms: Atoms,
    rng: np.random.Generator,
    rattle: float,
    distort_fraction: float,
    distort_rattle: float,
    stretch: tuple[float, float],
    attempts: int = 20,
) -> tuple[Atoms, str]:
    """Rotate randomly, rattle, and sometimes distort a molecule, keeping it sane.

    Returns:
        The perturbed molecule (centred, no cell) and the distortion applied:
        ``"none"``, ``"rattle"`` or ``"stretch"``; if no attempt is sane, only the rotation.
    """
    rotated = Atoms(atoms.numbers, atoms.positions @ random_rotation(rng).T)
    for _ in range(attempts):
        trial = rotated.copy()
        kind = "none"
        if rng.random() < distort_fraction:
            if rng.random() < 0.5 and len(trial) > 1:
                kind = "stretch"
                trial.positions = stretch_random_bond(trial, rng, stretch)
            else:
                kind = "rattle"
                trial.positions = rattle_positions(trial.positions, rng, distort_rattle)
        trial.positions = rattle_positions(trial.positions, rng, rattle)
        if is_sane(trial):
            return trial, kind
    return rotated, "none"


# ---------------------------------------------------------------------- molecules sampler
_MOLECULE_DEFAULTS: dict[str, Any] = {
    "include_g2": True,
    "include_smiles": True,
    "extra_smiles": {},
    "optimize": "mmff",
    "rattle": 0.05,
    "distort_fraction": 0.3,
    "distort_rattle": 0.15,
    "stretch_range": (0.8, 1.3),
}


class MoleculeSampler:
    """Isolated molecules, cycling through the catalogue with the frame index.

    Options (all optional):
        include_g2: Use ASE's g2 molecules.
        include_smiles: Use the built-in SMILES (electrolyte solvents first).
        extra_smiles: Further ``{name: smiles}`` molecules, placed first.
        optimize: ``"mmff"``, ``"uff"`` or ``"none"`` after ETKDG embedding.
        rattle: Gaussian noise on every coordinate (Å).
        distort_fraction: Probability of a larger distortion.
        distort_rattle: Noise of the "rattle" distortion (Å).
        stretch_range: Bond scale factors of the "stretch" distortion.
    """

    def __init__(self, context: SamplerContext, options: dict[str, Any]) -> None:
        _check_context("molecules", context)
        opts = check_options("molecules", options, _MOLECULE_DEFAULTS)
        if opts["optimize"] not in _OPTIMIZERS:
            raise ValueError(f"sampler 'molecules': optimize must be one of {_OPTIMIZERS}")
        self.context = context
        self.optimize: str = opts["optimize"]
        self.rattle = _check_non_negative("molecules", "rattle", opts["rattle"])
        self.distort_rattle = _check_non_negative(
            "molecules", "distort_rattle", opts["distort_rattle"]
        )
        self.distort_fraction = _check_fraction(
            "molecules", "distort_fraction", opts["distort_fraction"]
        )
        self.stretch = _check_range("molecules", "stretch_range", opts["stretch_range"])
        smiles = dict(opts["extra_smiles"])
        if opts["include_smiles"]:
            smiles.update({**ELECTROLYTE_SOLVENTS, **OTHER_SOLVENTS, **OTHER_MOLECULES})
        self.catalogue = molecule_catalogue(
            smiles, bool(opts["include_g2"]), context.elements, context.max_atoms
        )

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        """Molecule ``index % len(catalogue)``; a dimer of an allowed element if none fits."""
        if self.catalogue:
            spec = self.catalogue[index % len(self.catalogue)]
            base, name = spec.build(draw_seed(rng), self.optimize), spec.name
        else:
            base = fallback_molecule(self.context, index, rng)
            name = base.get_chemical_formula()
        atoms, kind = perturb_molecule(
            base, rng, self.rattle, self.distort_fraction, self.distort_rattle, self.stretch
        )
        info = {INFO_CATEGORY: "molecule", INFO_GROUP: f"mol:{name}", "distortion": kind}
        return plain_atoms(atoms, info)


@register_sampler("molecules")
def build_molecules(context: SamplerContext, options: dict[str, Any]) -> MoleculeSampler:
    """Builder of the ``molecules`` sampler (see :class:`MoleculeSampler`)."""
    return MoleculeSampler(context, options)


# ---------------------------------------------------------------------- hot MD
@dataclass
class MDSettings:
    """A short Langevin run at high temperature.

    Attributes:
        temperature: Thermostat and initial Maxwell-Boltzmann temperature (K).
        steps: Number of MD steps; 0 disables MD.
        timestep: Timestep (fs).
        friction: Langevin friction coefficient (1/fs).
    """

    temperature: float
    steps: int
    timestep: float = 0.5
    friction: float = 0.02

    @classmethod
    def from_options(cls, sampler: str, opts: dict[str, Any]) -> MDSettings:
        return cls(
            temperature=_check_non_negative(sampler, "temperature", opts["temperature"]),
            steps=int(_check_non_negative(sampler, "steps", opts["steps"])),
            timestep=_check_non_negative(sampler, "timestep", opts["timestep"]),
            friction=_check_non_negative(sampler, "friction", opts["friction"]),
        )


def hot_md(
    atoms: Atoms, calculator: Calculator, settings: MDSettings, seed: int
) -> tuple[np.ndarray, int]:
    """Run Langevin MD and return the last sane positions and the steps that produced them.

    The run stops early at the first snapshot that fails :func:`is_sane` (a calculator
    that blows up must not yield broken frames).

    Args:
        atoms: Starting structure (not modified).
        calculator: Drives the dynamics.
        settings: Temperature, steps, timestep and friction.
        seed: Seeds the initial velocities and the thermostat noise.

    Returns:
        Positions (Å), shape ``(n, 3)``, and the number of MD steps behind them.
    """
    from ase.md.langevin import Langevin

    work = atoms.copy()
    work.calc = calculator
    noise = np.random.default_rng(seed)
    # Maxwell-Boltzmann momenta: p_i ~ N(0, m_i k_B T) per Cartesian component.
    scale = np.sqrt(work.get_masses() * kB * settings.temperature)
    work.set_momenta(noise.standard_normal((len(work), 3)) * scale[:, None])
    dynamics = Langevin(
        work,
        timestep=settings.timestep * fs,
        temperature_K=settings.temperature,
        friction=settings.friction / fs,
        fixcm=False,
        rng=noise,
        logfile=None,
    )
    last, done = atoms.positions.copy(), 0
    for _ in range(settings.steps):
        dynamics.run(1)
        if not is_sane(work):
            break
        last, done = work.positions.copy(), done + 1
    work.calc = None
    return last, done


class _MDMixin(LazyMDCalculator):
    """Shared MD handling: the calculator is made once per sampler, on first use."""

    md: MDSettings

    def _maybe_md(self, atoms: Atoms, rng: np.random.Generator, rattle: float) -> Atoms:
        """Hot MD when a calculator factory is set, otherwise a rattle of ``rattle`` Å."""
        seed = draw_seed(rng)
        calculator = self._md_calculator()
        if calculator is not None and self.md.steps > 0:
            positions, done = hot_md(atoms, calculator, self.md, seed)
            atoms.positions = positions
            atoms.info.update(md_steps=done, md_temperature=self.md.temperature)
            if done > 0:
                return atoms
        noise = np.random.default_rng(seed)
        for _ in range(10):
            trial = atoms.copy()
            trial.positions = rattle_positions(atoms.positions, noise, rattle)
            if is_sane(trial):
                return trial
        return atoms


# ---------------------------------------------------------------------- random packing
def random_packing(
    numbers: np.ndarray,
    rng: np.random.Generator,
    packing_fraction: float,
    min_factor: float = 0.7,
    batch: int = 64,
    tries: int = 20,
) -> Atoms:
    """Random sequential insertion of atoms in a cubic periodic box.

    The box volume is the total covalent-sphere volume divided by ``packing_fraction``;
    every pair (minimum image) is at least ``min_factor`` × its covalent-radius sum apart
    and at least :data:`MIN_DISTANCE`. When insertion fails, the box grows by 5 % and
    insertion restarts.

    Args:
        numbers: Atomic numbers, shape ``(n,)``.
        rng: Random generator.
        packing_fraction: Fraction of the box filled by covalent spheres.
        min_factor: Minimum pair distance as a fraction of the covalent-radius sum.
        batch: Candidate positions tested at once for each atom.
        tries: Batches per atom before the box grows.

    Returns:
        Periodic ``Atoms`` in a cubic cell.
    """
    radii = covalent_radii[numbers]
    volume = float(np.sum(4.0 / 3.0 * np.pi * radii**3)) / packing_fraction
    length = max(volume ** (1.0 / 3.0), 2.0 * min_factor * radii.max() * 1.01, 2 * MIN_DISTANCE)
    order = rng.permutation(len(numbers))
    while True:
        positions = _insert_atoms(radii[order], length, rng, min_factor, batch, tries)
        if positions is not None:
            return Atoms(numbers[order], positions=positions, cell=[length] * 3, pbc=True)
        length *= 1.05


def _insert_atoms(
    radii: np.ndarray,
    length: float,
    rng: np.random.Generator,
    min_factor: float,
    batch: int,
    tries: int,
) -> np.ndarray | None:
    """Positions (Å), shape ``(n, 3)``, inserted one by one in a cube, or ``None`` on failure."""
    placed = np.zeros((0, 3))
    for k, radius in enumerate(radii):
        limits = np.maximum(min_factor * (radius + radii[:k]), MIN_DISTANCE)
        for _ in range(tries):
            candidates = rng.uniform(0.0, length, size=(batch, 3))
            delta = candidates[:, None, :] - placed[None, :, :]
            delta -= length * np.round(delta / length)
            good = np.all(np.linalg.norm(delta, axis=-1) >= limits, axis=1)
            if good.any():
                placed = np.vstack([placed, candidates[np.argmax(good)]])
                break
        else:
            return None
    return placed


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


# ---------------------------------------------------------------------- amorphous sampler
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


class AmorphousSampler(_MDMixin):
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
        _check_context("amorphous", context)
        opts = check_options("amorphous", options, _AMORPHOUS_DEFAULTS)
        self.context = context
        high = context.max_atoms
        self.atom_range = (max(1, min(int(opts["min_atoms"]), high)), high)
        self.max_elements = max(1, int(opts["max_elements"]))
        self.packing = _check_range("amorphous", "packing_fraction", opts["packing_fraction"])
        self.min_factor = _check_non_negative(
            "amorphous", "min_distance_factor", opts["min_distance_factor"]
        )
        if self.min_factor < MIN_COVALENT_FACTOR:
            raise ValueError(
                f"sampler 'amorphous': min_distance_factor must be >= {MIN_COVALENT_FACTOR}"
            )
        self.rattle = _check_non_negative("amorphous", "rattle", opts["rattle"])
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


# ---------------------------------------------------------------------- liquids sampler
def find_packmol() -> str | None:
    """Path of the packmol executable (the ``packmol`` PyPI package, else ``PATH``), or None."""
    try:
        from packmol.cli import get_binary_path

        return str(get_binary_path())
    except (ImportError, FileNotFoundError):
        return shutil.which("packmol")


def box_length(molecules: Sequence[Atoms], densities: Sequence[float]) -> float:
    """Edge (Å) of the cube holding ``molecules``, each at its own density (g/cm³), ideal mixing."""
    volume = sum(
        float(atomic_masses[m.numbers].sum()) / (rho * AMU_PER_CUBIC_ANGSTROM)
        for m, rho in zip(molecules, densities)
    )
    return volume ** (1.0 / 3.0)


def pack_with_packmol(
    executable: str,
    templates: Sequence[Atoms],
    counts: Sequence[int],
    length: float,
    tolerance: float,
    seed: int,
) -> Atoms | None:
    """Pack ``counts[i]`` copies of ``templates[i]`` in a periodic cube with packmol.

    Returns:
        The periodic box (atoms ordered species by species, copy by copy), or ``None``
        when packmol fails or produces a box that is not sane.
    """
    with tempfile.TemporaryDirectory(prefix="nanomlip-packmol-") as tmp:
        folder = Path(tmp)
        lines = [
            f"tolerance {tolerance}",
            "filetype xyz",
            "output packed.xyz",
            f"seed {seed}",
            f"pbc 0. 0. 0. {length:.6f} {length:.6f} {length:.6f}",
        ]
        for k, (template, count) in enumerate(zip(templates, counts)):
            template.write(folder / f"species{k}.xyz", format="xyz")
            lines += [
                f"structure species{k}.xyz",
                f"  number {count}",
                f"  inside box 0. 0. 0. {length:.6f} {length:.6f} {length:.6f}",
                "end structure",
            ]
        (folder / "input.inp").write_text("\n".join(lines) + "\n")
        try:
            with open(folder / "input.inp") as stdin:
                result = subprocess.run(
                    [executable], stdin=stdin, cwd=folder, capture_output=True, timeout=120
                )
        except (OSError, subprocess.TimeoutExpired):
            return None
        output = folder / "packed.xyz"
        if result.returncode != 0 or not output.is_file():
            return None
        from ase.io import read

        packed = read(output, format="xyz")
    atoms = Atoms(packed.numbers, positions=packed.positions, cell=[length] * 3, pbc=True)
    return atoms if is_sane(atoms) else None


def pack_randomly(
    templates: Sequence[Atoms],
    counts: Sequence[int],
    length: float,
    tolerance: float,
    rng: np.random.Generator,
    tries: int = 200,
) -> Atoms:
    """Pack molecules by random rotation and insertion, growing the box by 5 % on failure.

    Atoms of different molecules stay ``tolerance`` Å apart (minimum image). Used when
    packmol is unavailable or fails.
    """
    while True:
        atoms = _insert_molecules(templates, counts, length, tolerance, rng, tries)
        if atoms is not None and is_sane(atoms):
            return atoms
        length *= 1.05


def _insert_molecules(
    templates: Sequence[Atoms],
    counts: Sequence[int],
    length: float,
    tolerance: float,
    rng: np.random.Generator,
    tries: int,
) -> Atoms | None:
    numbers: list[np.ndarray] = []
    placed = np.zeros((0, 3))
    for template, count in zip(templates, counts):
        centred = template.positions - template.positions.mean(axis=0)
        for _ in range(count):
            for _ in range(tries):
                trial = centred @ random_rotation(rng).T + rng.uniform(0.0, length, size=3)
                delta = trial[:, None, :] - placed[None, :, :]
                delta -= length * np.round(delta / length)
                if np.all(np.linalg.norm(delta, axis=-1) >= tolerance):
                    break
            else:
                return None
            placed = np.vstack([placed, trial])
            numbers.append(template.numbers)
    return Atoms(np.concatenate(numbers), positions=placed, cell=[length] * 3, pbc=True)


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


class LiquidSampler(_MDMixin):
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
        _check_context("liquids", context)
        opts = check_options("liquids", options, _LIQUID_DEFAULTS)
        if opts["optimize"] not in _OPTIMIZERS:
            raise ValueError(f"sampler 'liquids': optimize must be one of {_OPTIMIZERS}")
        self.context = context
        self.optimize: str = opts["optimize"]
        self.density: float | None = None
        if opts["density"] is not None:
            self.density = _check_non_negative("liquids", "density", opts["density"])
            if self.density == 0.0:
                raise ValueError("sampler 'liquids': density must be > 0")
        self.jitter = _check_fraction("liquids", "density_jitter", opts["density_jitter"])
        self.mixture_fraction = _check_fraction(
            "liquids", "mixture_fraction", opts["mixture_fraction"]
        )
        self.tolerance = _check_non_negative("liquids", "tolerance", opts["tolerance"])
        self.rattle = _check_non_negative("liquids", "rattle", opts["rattle"])
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
        if _rdkit_available():
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


# ---------------------------------------------------------------------- close contacts
_CONTACT_DEFAULTS: dict[str, Any] = {
    "contact_range": (0.4, 0.9),
    "partner_range": (0.9, 1.8),
    "trimer_fraction": 0.5,
}


class CloseContactSampler:
    """Dimers and trimers in vacuum with one pair pushed inside the covalent-radius sum.

    The anchor ``elements[index % len(elements)]`` and its first partner sit at
    ``f × (r_a + r_b)`` with ``f`` from ``contact_range`` (never below
    :data:`MIN_DISTANCE`). A trimer's third atom binds to one of them at a factor from
    ``partner_range``, in a random direction, and no pair is relatively closer than the
    contact pair.

    Options (all optional):
        contact_range: Factors of the covalent-radius sum for the close pair.
        partner_range: Factors for the third atom of a trimer.
        trimer_fraction: Probability of a trimer (when ``max_atoms >= 3``).
    """

    def __init__(self, context: SamplerContext, options: dict[str, Any]) -> None:
        _check_context("close_contacts", context)
        if context.max_atoms < 2:
            raise ValueError("sampler 'close_contacts' needs max_atoms >= 2")
        opts = check_options("close_contacts", options, _CONTACT_DEFAULTS)
        self.context = context
        self.contact = _check_range("close_contacts", "contact_range", opts["contact_range"])
        self.partner = _check_range("close_contacts", "partner_range", opts["partner_range"])
        self.trimer_fraction = _check_fraction(
            "close_contacts", "trimer_fraction", opts["trimer_fraction"]
        )

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        """Frame ``index``: a dimer or trimer around the anchor element."""
        elements = self.context.elements
        size = 3 if self.context.max_atoms >= 3 and rng.random() < self.trimer_fraction else 2
        symbols = [anchor_element(self.context, index)]
        symbols += [elements[i] for i in rng.integers(len(elements), size=size - 1)]
        numbers = np.array([atomic_numbers[s] for s in symbols])
        sums = radius_sums(numbers)
        floor = MIN_DISTANCE + 0.01
        contact = max(rng.uniform(*self.contact) * sums[0, 1], floor)
        positions = np.zeros((size, 3))
        positions[1] = contact * _unit_vector(rng)
        if size == 3:
            positions[2] = self._third_atom(positions[:2], sums, contact / sums[0, 1], rng)
        positions = positions - positions.mean(axis=0)
        atoms = Atoms(numbers, positions=positions @ random_rotation(rng).T)
        formula = atoms.get_chemical_formula()
        info = {INFO_CATEGORY: "close_contact", INFO_GROUP: f"contact:{formula}:{index}"}
        return plain_atoms(atoms, info)

    def _third_atom(
        self, pair: np.ndarray, sums: np.ndarray, ratio: float, rng: np.random.Generator
    ) -> np.ndarray:
        """Position (Å), shape ``(3,)``, of a third atom no closer (relatively) than ``ratio``."""
        floor = MIN_DISTANCE + 0.01
        for _ in range(50):
            host = int(rng.integers(2))
            distance = max(rng.uniform(*self.partner) * sums[2, host], floor)
            candidate = pair[host] + distance * _unit_vector(rng)
            gaps = np.linalg.norm(pair - candidate, axis=1)
            if np.all(gaps >= np.maximum(ratio * sums[2, :2], floor)):
                return candidate
        axis = (pair[1] - pair[0]) / np.linalg.norm(pair[1] - pair[0])
        return pair[1] + max(self.partner[1] * sums[2, 1], floor) * axis


@register_sampler("close_contacts")
def build_close_contacts(context: SamplerContext, options: dict[str, Any]) -> CloseContactSampler:
    """Builder of the ``close_contacts`` sampler (see :class:`CloseContactSampler`)."""
    return CloseContactSampler(context, options)
