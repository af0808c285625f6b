"""Unit conversions, written once.

Inside the package energies are eV, lengths Å and stresses eV/Å^3 (ASE's units); these
factors convert them for reports and command-line options.

The factors come from :mod:`ase.units` (CODATA 2014), the same constants that ``md/`` uses
directly, so a pressure reported here and one set through ASE agree to the last bit.
"""

from __future__ import annotations

from typing import Final

from ase import units as _ase_units

#: One GPa in eV/Å^3 (multiply GPa by this to get eV/Å^3).
GPA: Final[float] = _ase_units.GPa
#: eV/Å^3 -> GPa (multiply eV/Å^3 by this to get GPa): 160.21766208.
EV_PER_A3_TO_GPA: Final[float] = 1.0 / _ase_units.GPa
#: eV -> meV.
EV_TO_MEV: Final[float] = 1000.0
