import numpy as np
import pytest
from ase import Atoms
from ase.data import chemical_symbols

from nanomlip.sampling import FrameGenerator, SamplerContext, build_sampler, parse_recipe
from nanomlip.sampling.base import INFO_CATEGORY, INFO_FRAME, INFO_GROUP
from nanomlip.sampling.geometry import (
    MIN_DISTANCE_RATIO,
    anchor_element,
    cell_quality,
    min_distance_ratio,
)
from nanomlip.sampling.prototypes import is_charge_balanced, load_prototypes

SMALL = ["O", "Si", "Na", "Cl", "Fe"]
ALL = list(chemical_symbols[1:95])  # H..Pu
CATEGORIES = {
    "prototypes": "bulk",
    "random_crystals": "random_crystal",
    "strained": "strained",
    "rattled": "rattled",
    "vacancies": "vacancy",
    "substitutions": "substitution",
    "surfaces": "surface",
}
DERIVED = [name for name in CATEGORIES if name != "random_crystals"]


def make(name, elements, seed, index, options=None, **context):
    sampler = build_sampler(name, SamplerContext(elements=list(elements), **context), options or {})
    return sampler.make(np.random.default_rng(seed), index)


def same_atoms(a: Atoms, b: Atoms) -> bool:
    return (
        len(a) == len(b)
        and np.array_equal(a.numbers, b.numbers)
        and np.array_equal(a.positions, b.positions)
        and np.array_equal(a.cell.array, b.cell.array)
        and np.array_equal(a.pbc, b.pbc)
        and a.info == b.info
    )


def assert_sane_frame(atoms: Atoms, name: str, context: SamplerContext, index: int) -> None:
    assert context.min_atoms <= len(atoms) <= context.max_atoms, (name, index, len(atoms))
    assert anchor_element(context, index) in atoms.get_chemical_symbols(), (name, index)
    assert set(atoms.get_chemical_symbols()) <= set(context.elements)
    assert atoms.info[INFO_CATEGORY] == CATEGORIES[name]
    assert isinstance(atoms.info[INFO_GROUP], str) and atoms.info[INFO_GROUP]
    assert np.all(np.isfinite(atoms.positions)) and np.all(np.isfinite(atoms.cell.array))
    assert abs(atoms.cell.volume) > 0.0 and cell_quality(atoms.cell.array) > 0.1
    assert min_distance_ratio(atoms) >= MIN_DISTANCE_RATIO, (name, index)
    if name == "surfaces":
        assert list(atoms.pbc) == [True, True, False]
    else:
        assert atoms.pbc.all()


# ------------------------------------------------------------------ helpers
def test_prototype_table_loads_and_is_cached():
    prototypes = load_prototypes()
    assert len(prototypes) > 200
    assert load_prototypes() is prototypes
    for prototype in prototypes:
        assert np.linalg.det(prototype.cell) > 0
        assert sum(prototype.counts) == prototype.n_sites


def test_charge_balance():
    assert is_charge_balanced(["Na", "Cl"], [1, 1])
    assert is_charge_balanced(["Si", "O"], [1, 2])
    assert not is_charge_balanced(["Na", "Cl"], [2, 1])
    assert not is_charge_balanced(["Ne", "O"], [1, 1])


def test_options_are_validated():
    context = SamplerContext(elements=SMALL)
    with pytest.raises(ValueError, match="unknown options"):
        build_sampler("prototypes", context, {"nonsense": 1})
    with pytest.raises(ValueError, match="max_shear"):
        build_sampler("strained", context, {"max_shear": 2.0})
    with pytest.raises(ValueError, match="at least 2 elements"):
        build_sampler("substitutions", SamplerContext(elements=["Si"]), {})
    with pytest.raises(ValueError, match="max_atoms > min_atoms"):
        build_sampler("vacancies", SamplerContext(elements=SMALL, min_atoms=8, max_atoms=8), {})


# ------------------------------------------------------------------ every sampler
@pytest.mark.parametrize("name", list(CATEGORIES))
def test_same_seed_same_frame_and_different_seeds_differ(name):
    for index in (0, 3):
        first = make(name, SMALL, 42, index)
        assert same_atoms(first, make(name, SMALL, 42, index))
        assert not same_atoms(first, make(name, SMALL, 43, index))


@pytest.mark.parametrize("elements", [SMALL, ALL], ids=["small", "H-Pu"])
@pytest.mark.parametrize("name", list(CATEGORIES))
def test_frames_are_sane(name, elements):
    context = SamplerContext(elements=list(elements))
    sampler = build_sampler(name, context, {})
    for index in range(40):
        atoms = sampler.make(np.random.default_rng([7, index]), index)
        assert_sane_frame(atoms, name, context, index)


@pytest.mark.parametrize("name", list(CATEGORIES))
def test_tight_atom_bounds(name):
    context = SamplerContext(elements=SMALL, min_atoms=12, max_atoms=20)
    sampler = build_sampler(name, context, {})
    for index in range(10):
        assert_sane_frame(sampler.make(np.random.default_rng(index), index), name, context, index)


@pytest.mark.parametrize("name", DERIVED)
def test_derived_groups_name_the_prototype(name):
    for index in range(5):
        group = make(name, SMALL, index, index).info[INFO_GROUP]
        _, label, formula = group.split(":")
        assert group.startswith("proto:") and label and formula


def test_random_crystal_group_names_formula_space_group_and_index():
    atoms = make("random_crystals", SMALL, 5, 17)
    prefix, formula, space_group, index = atoms.info[INFO_GROUP].split(":")
    assert prefix == "pyxtal" and formula and 1 < int(space_group) <= 230 and index == "17"


# ------------------------------------------------------------------ derived samplers
def test_strained_frame_is_its_base_crystal_deformed():
    for seed in range(8):
        base_atoms = make("prototypes", SMALL, seed, seed)
        strained = make("strained", SMALL, seed, seed)
        assert strained.info[INFO_GROUP] == base_atoms.info[INFO_GROUP]
        assert np.array_equal(strained.numbers, base_atoms.numbers)
        # Same fractional coordinates, a different cell with lengths within +-10 % and
        # shear within +-8 %.
        delta = strained.get_scaled_positions() - base_atoms.get_scaled_positions()
        assert np.allclose(delta - np.round(delta), 0.0, atol=1e-8)
        deformation = np.linalg.solve(base_atoms.cell.array, strained.cell.array)
        assert not np.allclose(deformation, np.eye(3))
        assert np.allclose(deformation, deformation.T, atol=1e-8)
        scale = np.linalg.det(deformation) ** (1 / 3)
        assert 0.85 < scale < 1.15


def test_rattled_frame_moves_atoms_of_its_base_crystal():
    for seed in range(8):
        base_atoms = make("prototypes", SMALL, seed, seed, {"rattle": 0.0})
        rattled = make("rattled", SMALL, seed, seed)
        assert np.array_equal(rattled.cell.array, base_atoms.cell.array)
        assert np.array_equal(rattled.numbers, base_atoms.numbers)
        delta = rattled.get_scaled_positions() - base_atoms.get_scaled_positions()
        delta = (delta - np.round(delta)) @ base_atoms.cell.array
        assert 0.0 < np.abs(delta).max() < 2.0


def test_substitutions_replace_one_to_three_atoms():
    changed = []
    for seed in range(12):
        base_atoms = make("prototypes", SMALL, seed, seed)
        substituted = make("substitutions", SMALL, seed, seed)
        assert len(substituted) == len(base_atoms)
        assert substituted.info[INFO_GROUP] == base_atoms.info[INFO_GROUP]
        changed.append(int(np.sum(substituted.numbers != base_atoms.numbers)))
    assert min(changed) >= 1 and max(changed) <= 3


def test_vacancies_remove_atoms_but_keep_the_anchor():
    context = SamplerContext(elements=SMALL)
    sampler = build_sampler("vacancies", context, {})
    for index in range(20):
        atoms = sampler.make(np.random.default_rng(index), index)
        assert anchor_element(context, index) in atoms.get_chemical_symbols()
        # The base supercell holds min_atoms + 2 atoms or more; 1-2 of them are gone.
        assert len(atoms) >= context.min_atoms


def test_surface_slabs_have_vacuum_along_z():
    for index in range(10):
        slab = make("surfaces", SMALL, index, index)
        cell = slab.cell.array
        assert np.allclose(cell[2, :2], 0.0) and np.allclose(cell[:2, 2], 0.0)
        thickness = np.ptp(slab.positions[:, 2])
        assert cell[2, 2] - thickness >= 12.0 - 1e-6  # 6-10 Å on each side


def balanced_share(elements, balanced_fraction):
    context = SamplerContext(elements=elements)
    sampler = build_sampler("prototypes", context, {"balanced_fraction": balanced_fraction})
    balanced = total = 0
    for index in range(40):
        symbols = sampler.make(np.random.default_rng(index), index).get_chemical_symbols()
        species = sorted(set(symbols))
        if len(species) > 1:
            total += 1
            balanced += is_charge_balanced(species, [symbols.count(s) for s in species])
    return balanced / total


def test_balanced_fraction_favours_neutral_compositions():
    elements = ["Li", "Na", "Mg", "Al", "O", "F", "S", "Cl"]
    always = balanced_share(elements, 1.0)
    never = balanced_share(elements, 0.0)
    assert always >= 0.6 and always > never + 0.2


# ------------------------------------------------------------------ frame generator
RECIPE = {
    "seed": 3,
    "samplers": [
        {"name": "prototypes", "count": 15},
        {"name": "random_crystals", "count": 10},
        {"name": "strained", "count": 15, "options": {"max_shear": 0.05}},
        {"name": "rattled", "count": 15},
        {"name": "vacancies", "count": 15},
        {"name": "substitutions", "count": 15},
        {"name": "surfaces", "count": 15},
    ],
}
TEN = ["H", "Li", "C", "O", "Na", "Si", "Cl", "Fe", "Cu", "Pb"]


def test_frame_generator_frame_alone_equals_frame_in_sequence():
    generator = FrameGenerator(parse_recipe(RECIPE), TEN)
    sequence = list(generator.frames(0, 40))
    fresh = FrameGenerator(parse_recipe(RECIPE), TEN)
    for index in (39, 0, 17, 26, 14):
        assert same_atoms(fresh.frame(index), sequence[index])
        assert sequence[index].info[INFO_FRAME] == index


def test_frame_generator_covers_every_element():
    generator = FrameGenerator(parse_recipe(RECIPE), TEN)
    seen: set[str] = set()
    per_sampler: dict[str, set[str]] = {}
    for atoms in generator.frames():
        symbols = set(atoms.get_chemical_symbols())
        seen |= symbols
        per_sampler.setdefault(atoms.info["sampler"], set()).update(symbols)
    assert len(generator) == 100
    assert seen == set(TEN)
    for symbols in per_sampler.values():
        assert symbols == set(TEN)  # each sampler anchors every element at least once
