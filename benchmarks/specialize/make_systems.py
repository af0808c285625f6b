"""The argyrodite and FEC starts of the specialisation demonstrations, next to this file.

``li6ps5cl_52.extxyz``: the 52-atom ordered Li6PS5Cl cell of ``nanomlip bench
solid-electrolytes``; ``fec_100.extxyz``: 10 FEC molecules packed by packmol at the
experimental density (1.454 g/cm³), as ``nanomlip bench liquid-electrolytes`` packs them;
``ec_100.extxyz``: 10 ethylene carbonate molecules packed the same way (1.321 g/cm³):

    python benchmarks/specialize/make_systems.py
"""

from pathlib import Path

from ase.io import write

from nanomlip.bench.liquid_solvents import SOLVENTS, build_box
from nanomlip.bench.solid_structures import SOLID_ELECTROLYTES, build_structure

if __name__ == "__main__":
    here = Path(__file__).parent
    write(here / "li6ps5cl_52.extxyz", build_structure(SOLID_ELECTROLYTES["Li6PS5Cl"]))
    write(here / "fec_100.extxyz", build_box(SOLVENTS["FEC"], 10, seed=0))
    write(here / "ec_100.extxyz", build_box(SOLVENTS["EC"], 10, seed=0))
