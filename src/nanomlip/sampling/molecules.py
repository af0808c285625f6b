"""Isolated molecules: the catalogue (g2, SMILES, solvents) and the ``molecules`` sampler.

Molecules come from ASE's g2 set and from SMILES embedded by rdkit (seeded ETKDG, then
MMFF94 or UFF), including the Li-ion electrolyte solvents; each frame is randomly
rotated, rattled and sometimes distorted (a stretched bond or a larger rattle). Every
``make(rng, index)`` draws all its randomness from ``rng``: rdkit is seeded with an
integer drawn from it. Distances are in Å, densities in g/cm³.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii

from nanomlip._optional import import_optional
from nanomlip.sampling.base import INFO_CATEGORY, INFO_GROUP, SamplerContext, register_sampler
from nanomlip.sampling.geometry import (
    anchor_element,
    covalent_radius_sums,
    distances_are_sane,
    draw_seed,
    pair_distances,
    plain_atoms,
    random_rotation,
    rattle_positions,
)
from nanomlip.sampling.options import (
    check_fraction,
    check_molecular_context,
    check_non_negative,
    check_options,
    check_pair_range,
)

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

#: Force fields offered after rdkit's embedding.
OPTIMIZERS = ("mmff", "uff", "none")


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


def rdkit_available() -> bool:
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
    if rdkit_available():
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
    bonded = np.argwhere(np.triu(distances < 1.25 * covalent_radius_sums(atoms.numbers), k=1))
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
        if distances_are_sane(trial):
            return trial, kind
    return rotated, "none"


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
        check_molecular_context("molecules", context)
        opts = check_options("molecules", options, _MOLECULE_DEFAULTS)
        if opts["optimize"] not in OPTIMIZERS:
            raise ValueError(f"sampler 'molecules': optimize must be one of {OPTIMIZERS}")
        self.context = context
        self.optimize: str = opts["optimize"]
        self.rattle = check_non_negative("molecules", "rattle", opts["rattle"])
        self.distort_rattle = check_non_negative(
            "molecules", "distort_rattle", opts["distort_rattle"]
        )
        self.distort_fraction = check_fraction(
            "molecules", "distort_fraction", opts["distort_fraction"]
        )
        self.stretch = check_pair_range("molecules", "stretch_range", opts["stretch_range"])
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
