"""Reproducible benchmark structures: rattled diamond Si and amorphous SiO2 of any size.

Both builders take a target atom count and return the nearest structure they can make, so
that a size sweep such as 64, 512, ..., 70,000 atoms compares models on the same atoms.

Amorphous SiO2 is a random close packing, not a melt-quench glass: Si atoms are dropped at
random into a cubic box sized for the requested density, each kept only if it sits at least
``min_si_si`` from every Si already placed; O atoms follow, kept only at least ``min_o_o``
from every O and ``min_si_o`` from every Si. Periodic images are included. The result has
the glass's density, stoichiometry and no close contacts, which is all a timing benchmark
needs (the number of neighbours inside a cutoff is set by the density); it is not a
physically relaxed network.
"""

from __future__ import annotations

import math

import numpy as np
from ase import Atoms
from ase.build import bulk
from scipy.spatial import cKDTree

#: Avogadro constant (1/mol).
AVOGADRO = 6.02214076e23
#: Molar mass of SiO2 (g/mol).
SIO2_MOLAR_MASS = 28.0855 + 2 * 15.999
#: Lattice constant of diamond Si used for the benchmark (Å).
SI_LATTICE_A = 5.43

SYSTEMS = ("si", "sio2")
SYSTEM_TITLES = {"si": "rattled diamond Si", "sio2": "amorphous SiO2 (2.2 g/cm³)"}


def rattled_diamond_si(repeat: int, seed: int = 0, amplitude: float = 0.05) -> Atoms:
    """Diamond Si, conventional 8-atom cell repeated ``repeat``³ times, rattled.

    Args:
        repeat: Repeats of the cubic 8-atom cell along each axis.
        seed: Seed of the Gaussian rattle.
        amplitude: Standard deviation of the rattle (Å).
    """
    return rattled_diamond_si_box((repeat, repeat, repeat), seed=seed, amplitude=amplitude)


def rattled_diamond_si_box(
    repeats: tuple[int, int, int], seed: int = 0, amplitude: float = 0.05
) -> Atoms:
    """Diamond Si, conventional cell repeated ``repeats`` times, rattled by ``amplitude`` (Å)."""
    atoms = bulk("Si", "diamond", a=SI_LATTICE_A, cubic=True).repeat(repeats)
    atoms.rattle(amplitude, seed=seed)
    return atoms


def diamond_repeats_for(target_atoms: int) -> tuple[int, int, int]:
    """Near-cubic repeats (sides differ by at most 1) whose 8·a·b·c is nearest ``target_atoms``."""
    if target_atoms < 1:
        raise ValueError(f"target_atoms must be >= 1, got {target_atoms}")
    cells = target_atoms / 8
    base = max(1, int(math.floor(cells ** (1 / 3))))
    candidates = []
    for r in (base - 1, base, base + 1):
        if r < 1:
            continue
        candidates += [(r, r, r), (r, r, r + 1), (r, r + 1, r + 1)]
    return min(candidates, key=lambda rep: (abs(8 * math.prod(rep) - target_atoms), rep))


def sio2_formula_units_for(target_atoms: int) -> int:
    """Number of SiO2 units whose 3·n atoms are nearest ``target_atoms`` (at least 1)."""
    if target_atoms < 1:
        raise ValueError(f"target_atoms must be >= 1, got {target_atoms}")
    return max(1, round(target_atoms / 3))


def sio2_box_length(num_formula_units: int, density: float = 2.2) -> float:
    """Side (Å) of the cubic box holding ``num_formula_units`` SiO2 at ``density`` (g/cm³)."""
    grams = num_formula_units * SIO2_MOLAR_MASS / AVOGADRO
    volume_A3 = grams / density * 1e24
    return volume_A3 ** (1 / 3)


def _place_species(
    count: int,
    box: float,
    rng: np.random.Generator,
    own_min: float,
    others: list[tuple[np.ndarray, float]],
    max_rounds: int = 2000,
) -> np.ndarray:
    """Random sequential addition of ``count`` points in a periodic cube of side ``box`` (Å).

    Candidates are drawn in batches; each must be ``own_min`` from the points already kept and
    ``distance`` from every fixed point set in ``others`` (a list of ``(positions, distance)``).
    Clashes inside a batch are resolved by dropping the later candidate of each close pair.
    """
    kept = np.empty((0, 3))
    fixed = [(cKDTree(points, boxsize=box), d) for points, d in others if len(points)]
    for _ in range(max_rounds):
        missing = count - len(kept)
        if missing == 0:
            return kept
        trial = rng.random((max(4 * missing, 256), 3)) * box
        ok = np.ones(len(trial), dtype=bool)
        for tree, distance in fixed:
            ok &= np.isinf(tree.query(trial, k=1, distance_upper_bound=distance)[0])
        if len(kept):
            own = cKDTree(kept, boxsize=box)
            ok &= np.isinf(own.query(trial, k=1, distance_upper_bound=own_min)[0])
        trial = trial[ok]
        pairs = cKDTree(trial, boxsize=box).query_pairs(own_min, output_type="ndarray")
        clash = np.zeros(len(trial), dtype=bool)
        clash[pairs.max(axis=1) if len(pairs) else []] = True
        kept = np.concatenate([kept, trial[~clash][:missing]])
    raise RuntimeError(
        f"could not place {count} atoms with minimum distance {own_min} Å in a {box:.2f} Å box"
    )


def amorphous_sio2(
    num_formula_units: int,
    density: float = 2.2,
    seed: int = 0,
    min_si_o: float = 1.5,
    min_o_o: float = 2.2,
    min_si_si: float = 2.8,
) -> Atoms:
    """Random packing of SiO2 at ``density`` in a periodic cube (see the module docstring).

    Args:
        num_formula_units: Number of SiO2 units (the structure has three times as many atoms).
        density: Mass density (g/cm³); 2.2 is vitreous silica.
        seed: Seed of the random packing; the same seed gives the same atoms.
        min_si_o: Smallest Si-O distance (Å).
        min_o_o: Smallest O-O distance (Å).
        min_si_si: Smallest Si-Si distance (Å).

    Returns:
        Periodic ``Atoms`` with Si first, then O, in a cubic cell.
    """
    if num_formula_units < 1:
        raise ValueError(f"num_formula_units must be >= 1, got {num_formula_units}")
    box = sio2_box_length(num_formula_units, density)
    rng = np.random.default_rng(seed)
    si = _place_species(num_formula_units, box, rng, min_si_si, [])
    o = _place_species(2 * num_formula_units, box, rng, min_o_o, [(si, min_si_o)])
    symbols = ["Si"] * num_formula_units + ["O"] * (2 * num_formula_units)
    return Atoms(symbols, positions=np.concatenate([si, o]), cell=[box] * 3, pbc=True)


def build_system(system: str, target_atoms: int, seed: int = 0) -> Atoms:
    """The benchmark structure ``system`` (``"si"`` or ``"sio2"``) nearest ``target_atoms``."""
    if system == "si":
        return rattled_diamond_si_box(diamond_repeats_for(target_atoms), seed=seed)
    if system == "sio2":
        return amorphous_sio2(sio2_formula_units_for(target_atoms), seed=seed)
    raise ValueError(f"unknown system {system!r}; choose from {list(SYSTEMS)}")


def achievable_size(system: str, target_atoms: int) -> int:
    """Atom count that :func:`build_system` gives for ``target_atoms`` (without building it)."""
    if system == "si":
        return 8 * math.prod(diamond_repeats_for(target_atoms))
    if system == "sio2":
        return 3 * sio2_formula_units_for(target_atoms)
    raise ValueError(f"unknown system {system!r}; choose from {list(SYSTEMS)}")
