"""Geometry that every sampler shares: distances, sanity checks, cells, rattles, rotations.

Two sanity checks exist because two kinds of frames need them:

* :func:`crystal_is_sane` for periodic crystals: finite positions, a cell that is not flat
  (:func:`cell_quality`) and no pair (periodic images included, exactly) closer than a
  fraction of its covalent-radius sum;
* :func:`distances_are_sane` for molecules, liquids and packings: every pair (minimum
  image) beyond a fraction of its covalent-radius sum and beyond an absolute floor in Å.

All randomness comes from the ``rng`` a caller passes in. Distances are in Å.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import product
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import covalent_radii
from ase.geometry import minkowski_reduce

from nanomlip.sampling.base import INFO_CATEGORY, INFO_GROUP, SamplerContext

#: No pair of atoms may be closer than this fraction of their covalent-radius sum.
MIN_DISTANCE_RATIO = 0.5
#: Smallest acceptable ``cell_quality`` (1 for an orthogonal cell, 0 for a flat one).
MIN_CELL_QUALITY = 0.1
#: How often a sampler redraws a random step (displacements, strain, prototype) before
#: falling back to something that is always valid.
MAX_TRIES = 24
#: No two atoms of any frame are ever closer than this (Å).
MIN_DISTANCE = 0.35
#: Outside ``close_contacts``, pairs stay beyond this fraction of their covalent-radius sum.
MIN_COVALENT_FACTOR = 0.6
#: Largest integer handed to rdkit, packmol and numpy as a seed.
_MAX_SEED = 2**31 - 1


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


def crystal_is_sane(atoms: Atoms, min_ratio: float = MIN_DISTANCE_RATIO) -> bool:
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


def pair_distances(atoms: Atoms) -> np.ndarray:
    """All interatomic distances (Å, minimum image if periodic), shape ``(n, n)``, diagonal inf."""
    distances = atoms.get_all_distances(mic=bool(atoms.pbc.any()))
    np.fill_diagonal(distances, np.inf)
    return distances


def distances_are_sane(
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
    limits = np.maximum(covalent_factor * covalent_radius_sums(atoms.numbers), absolute)
    return bool(np.all(pair_distances(atoms) >= limits))


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
        key = (total, -width, (reps[0], reps[1], reps[2]))
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
        if crystal_is_sane(moved, min_ratio):
            return moved
        if attempt % 6 == 5:
            sigma *= 0.6
    return atoms.copy()


def rattle_positions(positions: np.ndarray, rng: np.random.Generator, stdev: float) -> np.ndarray:
    """Positions plus Gaussian noise of ``stdev`` Å per Cartesian component, shape ``(n, 3)``."""
    return positions + rng.normal(scale=stdev, size=positions.shape)


def draw_seed(rng: np.random.Generator) -> int:
    """An integer seed in ``[0, 2**31 - 1)`` for rdkit, packmol or a numpy generator."""
    return int(rng.integers(0, _MAX_SEED))


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly distributed rotation matrix, shape ``(3, 3)``, from a random unit quaternion."""
    w, x, y, z = unit_vector(rng, 4)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def unit_vector(rng: np.random.Generator, dim: int = 3) -> np.ndarray:
    """A random direction, shape ``(dim,)``, uniform on the unit sphere."""
    while True:
        vector = rng.normal(size=dim)
        norm = float(np.linalg.norm(vector))
        if norm > 1e-8:
            return vector / norm


def reduced_formula(symbols: Sequence[str]) -> str:
    """Hill formula of the smallest formula unit, e.g. ``"ClNa"`` or ``"O2Si"``."""
    return Atoms(list(symbols)).get_chemical_formula(mode="hill", empirical=True)


def tag(atoms: Atoms, category: str, group: str) -> Atoms:
    """Write the info keys every sampler must set and wrap atoms into the cell."""
    atoms.wrap()
    atoms.info[INFO_CATEGORY] = category
    atoms.info[INFO_GROUP] = group
    return atoms


def plain_atoms(atoms: Atoms, info: dict[str, Any]) -> Atoms:
    """A copy carrying only numbers, positions, cell, pbc and ``info`` (no calculator, momenta)."""
    return Atoms(
        numbers=atoms.numbers.copy(),
        positions=atoms.positions.copy(),
        cell=atoms.cell.array.copy(),
        pbc=atoms.pbc.copy(),
        info=dict(info),
    )
