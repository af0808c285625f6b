"""The equilibrium sampler moves crystals to the driver's own equilibrium volume."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from nanomlip.sampling import SamplerContext, build_sampler
from nanomlip.sampling.base import INFO_CATEGORY, INFO_GROUP
from nanomlip.sampling.equilibrium import (
    ELEMENTAL_STRUCTURES,
    elemental_crystal,
    repeated_to,
    scale_to_minimum,
)

EMT_ELEMENTS = ["Cu", "Ni", "Al", "Ag", "Au", "Pd", "Pt"]


def test_scale_to_minimum_finds_the_emt_lattice_constant():
    # EMT's own fcc Cu minimum is a = 3.590 Å; start 8 % off.
    start = bulk("Cu", "fcc", a=3.30)
    atoms, scale = scale_to_minimum(start, EMT())
    a = atoms.cell.lengths()[0] * np.sqrt(2)
    assert a == pytest.approx(3.590, rel=0.01)
    assert scale == pytest.approx(a / 3.30, rel=1e-9)


def test_elemental_crystals_and_repeats():
    for structure in ELEMENTAL_STRUCTURES:
        atoms = repeated_to(elemental_crystal("Si", structure), 8)
        assert len(atoms) >= 8 and set(atoms.get_chemical_symbols()) == {"Si"}
    with pytest.raises(ValueError, match="unknown structure"):
        elemental_crystal("Si", "wurtzite")


def make(options, index, seed, driver=True):
    context = SamplerContext(
        elements=EMT_ELEMENTS, max_atoms=32, min_atoms=4, md_calculator=EMT if driver else None
    )
    sampler = build_sampler("equilibrium", context, options)
    return sampler.make(np.random.default_rng(seed), index)


def test_frames_are_tagged_reproducible_and_near_the_driver_minimum():
    atoms = make({"unary_fraction": 1.0, "max_strain": 0.0, "max_rattle": 0.0}, 0, 1)
    assert atoms.info[INFO_CATEGORY] == "equilibrium"
    assert atoms.info[INFO_GROUP].startswith("equilibrium:Cu:")
    assert len(atoms) >= 8
    again = make({"unary_fraction": 1.0, "max_strain": 0.0, "max_rattle": 0.0}, 0, 1)
    assert np.array_equal(atoms.positions, again.positions)
    # at the driver's minimum the isotropic pressure nearly vanishes
    atoms.calc = EMT()
    pressure = -atoms.get_stress()[:3].mean() * 160.2  # GPa
    assert abs(pressure) < 2.0


def test_compounds_come_from_prototypes_and_options_are_checked():
    atoms = make({"unary_fraction": 0.0}, 3, 2)
    assert atoms.info[INFO_GROUP].startswith("proto:")
    assert make({"unary_fraction": 1.0}, 0, 1, driver=False).info[INFO_CATEGORY] == "equilibrium"
    with pytest.raises(ValueError, match="unary_fraction"):
        make({"unary_fraction": 2.0}, 0, 0)
    with pytest.raises(ValueError, match="unknown"):
        make({"bogus": 1}, 0, 0)
