"""The geometry every sampler shares: distance ratios, supercells, the two sanity checks."""

import math

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.data import covalent_radii

from nanomlip.sampling.geometry import (
    MIN_COVALENT_FACTOR,
    MIN_DISTANCE,
    covalent_radius_sums,
    crystal_is_sane,
    distances_are_sane,
    min_distance_ratio,
    random_rotation,
    rattle,
    supercell_reps,
    unit_vector,
)


def test_min_distance_ratio_matches_known_lattices():
    copper = bulk("Cu", "fcc", a=3.6)
    expected = 3.6 / math.sqrt(2) / (2 * covalent_radii[29])
    assert min_distance_ratio(copper) == pytest.approx(expected)
    assert min_distance_ratio(copper.repeat((2, 1, 3))) == pytest.approx(expected)
    # A single atom in a very skewed cell: the shortest lattice vector is a - b.
    skewed = Atoms("Cu", cell=[[10.0, 0, 0], [9.0, 1.0, 0], [0, 0, 10.0]], pbc=True)
    assert min_distance_ratio(skewed) == pytest.approx(math.sqrt(2.0) / (2 * covalent_radii[29]))


def test_supercell_reps_reaches_min_atoms_with_fewest_atoms():
    cell = np.diag([2.0, 3.0, 4.0])
    assert supercell_reps(cell, 1, 8, 64) == (2, 2, 2)
    assert supercell_reps(cell, 3, 8, 64) == (3, 1, 1)  # 9 atoms, thinnest width widest
    assert supercell_reps(cell, 10, 8, 64) == (1, 1, 1)
    assert supercell_reps(cell, 70, 8, 64) is None
    assert supercell_reps(cell, 5, 8, 9) is None


def test_the_two_sanity_checks_guard_different_frames():
    copper = bulk("Cu", "fcc", a=3.6)
    assert crystal_is_sane(copper) and distances_are_sane(copper)
    flat = Atoms("Cu", cell=[[3.0, 0, 0], [2.999, 0.001, 0], [0, 0, 3.0]], pbc=True)
    assert not crystal_is_sane(flat)  # the cell is nearly flat
    squeezed = bulk("Cu", "fcc", a=2.2)  # pairs at 0.59 of their covalent-radius sum
    assert crystal_is_sane(squeezed) and not distances_are_sane(squeezed)
    close = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.9 * MIN_DISTANCE]])
    assert not distances_are_sane(close, covalent_factor=0.0)
    assert not crystal_is_sane(Atoms("Cu", positions=[[np.nan, 0, 0]], cell=[3, 3, 3], pbc=True))


def test_rattle_keeps_pairs_apart_and_leaves_its_input_alone():
    crystal = bulk("Si", "diamond", a=5.43, cubic=True)
    before = crystal.positions.copy()
    moved = rattle(np.random.default_rng(0), crystal, 0.1)
    np.testing.assert_array_equal(crystal.positions, before)
    assert not np.allclose(moved.positions, before) and crystal_is_sane(moved)
    np.testing.assert_array_equal(rattle(np.random.default_rng(0), crystal, 0.0).positions, before)


def test_rotations_and_directions_are_proper():
    rng = np.random.default_rng(4)
    rotation = random_rotation(rng)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    assert np.linalg.norm(unit_vector(rng, 4)) == pytest.approx(1.0)


def test_radius_sums_are_symmetric_pairs():
    sums = covalent_radius_sums(np.array([1, 8]))
    assert sums[0, 1] == sums[1, 0] == pytest.approx(covalent_radii[1] + covalent_radii[8])
    assert MIN_COVALENT_FACTOR * sums[0, 1] > MIN_DISTANCE
