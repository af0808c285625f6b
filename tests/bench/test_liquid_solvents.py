"""The 20 solvents: SMILES, densities with sources, packed boxes at the right density."""

import pytest

from nanomlip.bench.liquid_solvents import SOLVENTS, build_box, molecule_count
from nanomlip.md.thermo import density_g_cm3

pytest.importorskip("rdkit")


def test_twenty_solvents_of_the_named_families():
    assert len(SOLVENTS) == 20
    assert {"EC", "PC", "FEC", "VC", "DMC", "DEC", "EMC", "DME", "DOL", "AN"} <= set(SOLVENTS)
    families = {s.family for s in SOLVENTS.values()}
    assert {"cyclic carbonate", "linear carbonate", "ester", "ether", "nitrile"} <= families
    for solvent in SOLVENTS.values():
        assert 0.6 < solvent.density_exp_g_cm3 < 1.6 and solvent.source
        assert solvent.temperature_K >= 298.15
    assert SOLVENTS["EC"].temperature_K > 309.5  # EC melts at 36.4 °C


@pytest.mark.parametrize("name", sorted(SOLVENTS))
def test_every_smiles_is_understood(name):
    assert molecule_count(SOLVENTS[name], 100) >= 2


def test_box_is_packed_at_the_experimental_density():
    solvent = SOLVENTS["DMC"]
    box = build_box(solvent, 6, seed=1)
    assert len(box) == 6 * 12 and box.pbc.all()
    assert density_g_cm3(box) == pytest.approx(solvent.density_exp_g_cm3, rel=0.06)
    with pytest.raises(ValueError, match="at least one molecule"):
        build_box(solvent, 0)
