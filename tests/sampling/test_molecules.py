import numpy as np
import pytest
from ase import Atoms
from ase.calculators.lj import LennardJones
from ase.data import chemical_symbols, covalent_radii

from nanomlip.sampling import FrameGenerator, amorphous, contacts, liquids, molecules, parse_recipe
from nanomlip.sampling.base import INFO_CATEGORY, INFO_GROUP, SamplerContext
from nanomlip.sampling.geometry import MIN_COVALENT_FACTOR, MIN_DISTANCE
from nanomlip.sampling.packing import AMU_PER_CUBIC_ANGSTROM

ELEMENTS = ["H", "Li", "C", "N", "O", "F", "P", "S", "Si", "Cl"]
BUILDERS = {
    "molecules": molecules.build_molecules,
    "liquids": liquids.build_liquids,
    "amorphous": amorphous.build_amorphous,
    "close_contacts": contacts.build_close_contacts,
}
CATEGORIES = {
    "molecules": "molecule",
    "liquids": "liquid",
    "amorphous": "amorphous",
    "close_contacts": "close_contact",
}


def cheap_lj() -> LennardJones:
    return LennardJones(sigma=1.0, epsilon=0.001, rc=3.0)


def make(name: str, seed: int, index: int, context: SamplerContext, **options) -> Atoms:
    sampler = BUILDERS[name](context, options)
    return sampler.make(np.random.default_rng(seed), index)


def min_ratio(atoms: Atoms) -> float:
    """Shortest pair distance divided by its covalent-radius sum."""
    distances = atoms.get_all_distances(mic=bool(atoms.pbc.any()))
    radii = covalent_radii[atoms.numbers]
    ratio = distances / (radii[:, None] + radii[None, :])
    np.fill_diagonal(ratio, np.inf)
    return float(ratio.min())


def min_distance(atoms: Atoms) -> float:
    distances = atoms.get_all_distances(mic=bool(atoms.pbc.any()))
    np.fill_diagonal(distances, np.inf)
    return float(distances.min())


def same(a: Atoms, b: Atoms) -> bool:
    return (
        a.get_chemical_symbols() == b.get_chemical_symbols()
        and np.allclose(a.positions, b.positions)
        and np.allclose(a.cell.array, b.cell.array)
    )


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_reproducible_and_seed_dependent(name):
    context = SamplerContext(elements=ELEMENTS, max_atoms=40)
    first = make(name, 7, 3, context)
    assert same(first, make(name, 7, 3, context))
    assert first.info == make(name, 7, 3, context).info
    assert not same(first, make(name, 8, 3, context))


@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize("max_atoms", [12, 64])
def test_frames_are_sane(name, max_atoms):
    context = SamplerContext(elements=ELEMENTS, max_atoms=max_atoms)
    sampler = BUILDERS[name](context, {})
    for index in range(12):
        atoms = sampler.make(np.random.default_rng(index), index)
        assert 1 <= len(atoms) <= max_atoms
        assert set(atoms.get_chemical_symbols()) <= set(ELEMENTS)
        assert np.all(np.isfinite(atoms.positions))
        assert atoms.info[INFO_CATEGORY] == CATEGORIES[name]
        assert isinstance(atoms.info[INFO_GROUP], str) and atoms.info[INFO_GROUP]
        assert atoms.calc is None
        if len(atoms) > 1:
            assert min_distance(atoms) >= MIN_DISTANCE
            if name != "close_contacts":
                assert min_ratio(atoms) >= MIN_COVALENT_FACTOR - 1e-9
        periodic = name in ("liquids", "amorphous")
        assert bool(atoms.pbc.all()) is periodic
        if periodic:
            assert atoms.get_volume() > 0
        else:
            assert np.allclose(atoms.cell.array, 0.0)


def test_molecules_cycle_through_electrolyte_solvents():
    context = SamplerContext(elements=ELEMENTS, max_atoms=64)
    sampler = molecules.build_molecules(context, {})
    size = len(sampler.catalogue)
    assert size > 100
    frames = [sampler.make(np.random.default_rng(i), i) for i in range(size)]
    groups = {atoms.info[INFO_GROUP] for atoms in frames}
    assert len(groups) == size  # every molecule of the catalogue was used once
    for solvent in molecules.ELECTROLYTE_SOLVENTS:
        assert f"mol:{solvent}" in groups
    formulas = {atoms.info[INFO_GROUP]: atoms.get_chemical_formula() for atoms in frames}
    assert formulas["mol:EC"] == "C3H4O3"
    assert formulas["mol:FEC"] == "C3H3FO3"
    assert formulas["mol:DMC"] == "C3H6O3"
    assert {atoms.info["distortion"] for atoms in frames} == {"none", "rattle", "stretch"}


def test_molecules_respect_elements_and_fall_back():
    context = SamplerContext(elements=["H", "O"], max_atoms=8)
    sampler = molecules.build_molecules(context, {})
    assert {spec.name for spec in sampler.catalogue} >= {"water", "H2O", "H2O2", "O2"}
    metals = SamplerContext(elements=["Fe", "Cu"], max_atoms=8)
    atoms = make("molecules", 0, 1, metals)
    assert atoms.get_chemical_symbols() == ["Cu", "Cu"]
    assert min_ratio(atoms) >= 0.8


def test_liquid_box_density_and_group():
    context = SamplerContext(elements=ELEMENTS, max_atoms=64)
    atoms = make("liquids", 0, 5, context, solvents=["EC"], density_jitter=0.0)
    assert atoms.get_chemical_formula() == "C18H24O18"  # six EC molecules
    density = atoms.get_masses().sum() / atoms.get_volume() / AMU_PER_CUBIC_ANGSTROM
    assert density == pytest.approx(molecules.SOLVENT_DENSITIES["EC"], rel=1e-3)
    assert atoms.info[INFO_GROUP] == "liquid:EC:5"


def test_liquid_random_insertion_fallback():
    context = SamplerContext(elements=ELEMENTS, max_atoms=48)
    first = make("liquids", 3, 0, context, use_packmol=False, mixture_fraction=1.0)
    assert "+" in first.info[INFO_GROUP]
    assert same(first, make("liquids", 3, 0, context, use_packmol=False, mixture_fraction=1.0))
    assert min_ratio(first) >= MIN_COVALENT_FACTOR


def test_liquid_md_moves_atoms_and_stays_finite():
    plain = SamplerContext(elements=ELEMENTS, max_atoms=40)
    hot = SamplerContext(elements=ELEMENTS, max_atoms=40, md_calculator=cheap_lj)
    packed = make("liquids", 11, 2, plain, rattle=0.0)
    assert "md_steps" not in packed.info
    moved = make("liquids", 11, 2, hot, rattle=0.0)
    assert moved.get_chemical_symbols() == packed.get_chemical_symbols()
    assert np.allclose(moved.cell.array, packed.cell.array)
    assert moved.info["md_steps"] == 20
    assert np.all(np.isfinite(moved.positions))
    assert not np.allclose(moved.positions, packed.positions, atol=1e-3)
    assert min_ratio(moved) >= MIN_COVALENT_FACTOR
    assert same(moved, make("liquids", 11, 2, hot, rattle=0.0))


def test_amorphous_covers_every_element():
    context = SamplerContext(elements=ELEMENTS, max_atoms=32)
    sampler = amorphous.build_amorphous(context, {})
    seen = set()
    for index in range(30):
        atoms = sampler.make(np.random.default_rng(index), index)
        symbols = set(atoms.get_chemical_symbols())
        assert ELEMENTS[index % len(ELEMENTS)] in symbols
        assert 1 <= len(symbols) <= 3
        assert 8 <= len(atoms) <= 32
        assert atoms.info[INFO_GROUP] == f"amorphous:{atoms.get_chemical_formula()}:{index}"
        seen |= symbols
    assert seen == set(ELEMENTS)


def test_amorphous_works_for_all_elements_with_md():
    elements = list(chemical_symbols[1:95])
    context = SamplerContext(elements=elements, max_atoms=24)
    sampler = amorphous.build_amorphous(context, {"rattle": 0.0})
    for index in range(len(elements)):
        atoms = sampler.make(np.random.default_rng(index), index)
        assert elements[index] in atoms.get_chemical_symbols()
        assert min_ratio(atoms) >= 0.7 - 1e-9
    hot = SamplerContext(elements=elements, max_atoms=24, md_calculator=cheap_lj)
    atoms = amorphous.build_amorphous(hot, {"steps": 5}).make(np.random.default_rng(0), 93)
    assert atoms.info["md_steps"] == 5
    assert "Pu" in atoms.get_chemical_symbols()
    assert min_ratio(atoms) >= MIN_COVALENT_FACTOR


def test_hot_md_keeps_the_last_frame_a_refusing_driver_accepted():
    from ase.calculators.calculator import Calculator, all_changes

    from nanomlip.sampling.hot_md import MDSettings, hot_md

    class RefusesAfterTwoCalls(Calculator):
        implemented_properties = ["energy", "forces"]

        def calculate(self, atoms=None, properties=None, system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            self.calls = getattr(self, "calls", 0) + 1
            if self.calls > 2:
                raise ValueError("atoms 0 and 1 overlap")
            self.results = {"energy": 0.0, "forces": np.zeros((len(atoms), 3))}

    atoms = make("amorphous", 1, 1, SamplerContext(elements=ELEMENTS, max_atoms=16))
    settings = MDSettings(temperature=300.0, steps=10, timestep=0.5, friction=0.02)
    positions, done = hot_md(atoms, RefusesAfterTwoCalls(), settings, seed=0)
    assert done == 1 and positions.shape == atoms.positions.shape
    assert np.all(np.isfinite(positions))


def test_close_contacts_are_repulsive():
    context = SamplerContext(elements=ELEMENTS, max_atoms=64)
    sampler = contacts.build_close_contacts(context, {})
    sizes = set()
    for index in range(40):
        atoms = sampler.make(np.random.default_rng(index), index)
        sizes.add(len(atoms))
        assert atoms.get_chemical_symbols()[0] == ELEMENTS[index % len(ELEMENTS)]
        assert min_distance(atoms) >= MIN_DISTANCE
        assert min_ratio(atoms) < 1.0
        assert atoms.info[INFO_GROUP] == f"contact:{atoms.get_chemical_formula()}:{index}"
    assert sizes == {2, 3}
    dimers = SamplerContext(elements=["H"], max_atoms=2)
    for index in range(10):
        atoms = make("close_contacts", index, index, dimers)
        assert len(atoms) == 2 and min_distance(atoms) >= MIN_DISTANCE


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("molecules", {"bogus": 1}),
        ("molecules", {"distort_fraction": 2.0}),
        ("molecules", {"optimize": "gaff"}),
        ("liquids", {"solvents": ["lava"]}),
        ("amorphous", {"packing_fraction": [0.5, 0.1]}),
        ("close_contacts", {"trimer_fraction": -0.1}),
    ],
)
def test_bad_options_are_rejected(name, options):
    with pytest.raises(ValueError):
        BUILDERS[name](SamplerContext(elements=ELEMENTS), options)


def test_frame_generator_uses_registered_samplers():
    recipe = parse_recipe(
        {
            "seed": 3,
            "samplers": [
                {"name": "molecules", "count": 2},
                {"name": "liquids", "count": 1},
                {"name": "amorphous", "count": 2, "options": {"temperature": 900.0}},
                {"name": "close_contacts", "count": 2},
            ],
            "max_atoms": 32,
        }
    )
    generator = FrameGenerator(recipe, ELEMENTS, md_calculator=cheap_lj)
    frames = list(generator.frames())
    assert [f.info["sampler"] for f in frames] == [
        "molecules",
        "molecules",
        "liquids",
        "amorphous",
        "amorphous",
        "close_contacts",
        "close_contacts",
    ]
    assert same(frames[4], generator.frame(4))
    assert frames[4].info["md_temperature"] == 900.0
