"""The unit factors are ASE's, and the literal that the reports used before."""

import pytest
from ase import units

from nanomlip import units as nano_units


def test_the_pressure_factor_is_ases_and_the_old_literal():
    factor = nano_units.EV_PER_A3_TO_GPA
    assert factor == 1.0 / units.GPa
    assert factor == pytest.approx(160.21766208, rel=1e-15)
    assert nano_units.GPA * factor == pytest.approx(1.0, rel=1e-15)
