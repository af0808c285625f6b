"""The 16 solid electrolytes: stoichiometry, sane distances, the LGPS orbits, ordering."""

import json
from pathlib import Path

import numpy as np
import pytest
from ase.neighborlist import neighbor_list

from nanomlip.bench.solid_structures import (
    SOLID_ELECTROLYTES,
    Site,
    SolidElectrolyte,
    _orbit,
    build_structure,
)

pymatgen = pytest.importorskip("pymatgen.core")


def test_eight_argyrodites_and_eight_others():
    families = [m.family for m in SOLID_ELECTROLYTES.values()]
    assert families.count("argyrodite") == 8
    assert families.count("other") == 8
    assert {"Li6PS5Cl", "Li6PS5Br", "Li6PS5I", "Li10GeP2S12", "Li3N"} <= set(SOLID_ELECTROLYTES)
    assert all(m.source for m in SOLID_ELECTROLYTES.values())


@pytest.mark.parametrize("name", list(SOLID_ELECTROLYTES))
def test_structure_has_the_named_stoichiometry_and_sane_distances(name):
    atoms = build_structure(SOLID_ELECTROLYTES[name])
    built = pymatgen.Composition(atoms.get_chemical_formula()).fractional_composition
    named = pymatgen.Composition(name).fractional_composition
    assert built.almost_equals(named, rtol=1e-6), (built, named)
    i, j, d = neighbor_list("ijd", atoms, 2.0)
    symbols = np.array(atoms.get_chemical_symbols())
    cation_pairs = d[(symbols[i] == "Li") & (symbols[j] == "Li")]
    assert d.size == 0 or d.min() > 1.45  # no overlapping atoms anywhere
    assert cation_pairs.size == 0 or cation_pairs.min() > 1.7
    np.testing.assert_allclose(atoms.cell.cellpar(), SOLID_ELECTROLYTES[name].lattice, atol=1e-6)


def test_lgps_orbits_match_pymatgens_bundled_structure():
    path = Path(pymatgen.__file__).parent.parent / "util" / "structures" / "Li10GeP2S12.json"
    reference = pymatgen.Structure.from_dict(json.loads(path.read_text()))
    material = SOLID_ELECTROLYTES["Li10GeP2S12"]
    lattice = pymatgen.Lattice.from_parameters(*material.lattice)
    ours = np.vstack([_orbit(material, site, lattice) for site in material.sites])
    theirs = np.mod(reference.frac_coords, 1.0)
    assert len(ours) == len(theirs) == 58
    delta = ours[:, None, :] - theirs[None, :, :]
    delta -= np.round(delta)
    assert np.abs(delta).max(axis=-1).min(axis=1).max() < 1e-3


def test_ordering_splits_the_argyrodite_li_pairs():
    atoms = build_structure(SOLID_ELECTROLYTES["Li6PS5Cl"])
    li = [k for k, s in enumerate(atoms.get_chemical_symbols()) if s == "Li"]
    distances = atoms.get_all_distances(mic=True)[np.ix_(li, li)]
    assert len(li) == 24
    assert distances[distances > 0].min() > 2.0  # the 1.74 Å 48h pair partners are never both kept


def test_a_partial_orbit_without_keep_counts_is_an_error():
    material = SolidElectrolyte(
        name="bad",
        family="other",
        space_group=221,
        lattice=(4.0, 4.0, 4.0, 90.0, 90.0, 90.0),
        sites=(Site("Li 3c", (0.0, 0.5, 0.5), {"Li": 0.5}),),
        source="test",
    )
    with pytest.raises(ValueError, match="keep counts"):
        build_structure(material)
    too_many = SolidElectrolyte(
        **{**material.__dict__, "sites": (Site("Li", (0.0, 0.5, 0.5), {"Li": 0.5}, {"Li": 4}),)}
    )
    with pytest.raises(ValueError, match="more atoms than its orbit"):
        build_structure(too_many)
