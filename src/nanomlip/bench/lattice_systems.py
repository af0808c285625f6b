"""Textbook crystals for the lattice benchmark, built from their crystallographic descriptions.

Each compound starts at its approximate room-temperature experimental lattice constants
(standard tables such as the CRC Handbook and Kittel's; used only as the starting point
of the relaxations, never as a target) and is relaxed by every model. Families:

rocksalt, zincblende, wurtzite, fluorite (and antifluorite), CsCl, rutile, cubic
perovskite, spinel, corundum, layered (LiCoO2, MoS2), and the elemental metals and
semiconductors (fcc, bcc, hcp, diamond).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ase import Atoms
from ase.build import bulk
from ase.spacegroup import crystal


@dataclass(frozen=True)
class Compound:
    """One benchmark crystal.

    Attributes:
        name: Formula, unique in the set (e.g. ``"NaCl"``, ``"TiO2-rutile"``).
        family: Structure family (``"rocksalt"``, ``"perovskite"``, ...).
        a: Starting ``a`` lattice constant, Å.
        c: Starting ``c`` lattice constant for hexagonal, tetragonal and trigonal cells, Å.
        build: Makes the starting structure from ``(a, c)``.
    """

    name: str
    family: str
    a: float
    c: float | None
    build: Callable[[float, float | None], Atoms]

    def atoms(self) -> Atoms:
        atoms = self.build(self.a, self.c)
        atoms.info["name"] = self.name
        return atoms


def _ase_bulk(formula: str, structure: str) -> Callable[[float, float | None], Atoms]:
    def build(a: float, c: float | None) -> Atoms:
        if structure in ("hcp", "wurtzite"):
            return bulk(formula, structure, a=a, c=c)
        return bulk(formula, structure, a=a)

    return build


def _rutile(cation: str, anion: str, u: float) -> Callable[[float, float | None], Atoms]:
    def build(a: float, c: float | None) -> Atoms:
        return crystal(
            [cation, anion], [(0, 0, 0), (u, u, 0)], spacegroup=136, cellpar=[a, a, c, 90, 90, 90]
        )

    return build


def _perovskite(a_site: str, b_site: str, anion: str) -> Callable[[float, float | None], Atoms]:
    def build(a: float, c: float | None) -> Atoms:
        return crystal(
            [a_site, b_site, anion],
            [(0, 0, 0), (0.5, 0.5, 0.5), (0.5, 0.5, 0)],
            spacegroup=221,
            cellpar=[a, a, a, 90, 90, 90],
        )

    return build


def _spinel(a_site: str, b_site: str, x: float) -> Callable[[float, float | None], Atoms]:
    """Fd-3m, origin choice 2: A on 8a, B on 16d, O on 32e (x, x, x); primitive cell."""

    def build(a: float, c: float | None) -> Atoms:
        conventional = crystal(
            [a_site, b_site, "O"],
            [(0.125, 0.125, 0.125), (0.5, 0.5, 0.5), (x, x, x)],
            spacegroup=227,
            setting=2,
            cellpar=[a, a, a, 90, 90, 90],
            primitive_cell=True,
        )
        return conventional

    return build


def _corundum(cation: str, z: float, x: float) -> Callable[[float, float | None], Atoms]:
    """R-3c (hexagonal axes): cation on 12c (0, 0, z), O on 18e (x, 0, 1/4); primitive cell."""

    def build(a: float, c: float | None) -> Atoms:
        return crystal(
            [cation, "O"],
            [(0, 0, z), (x, 0, 0.25)],
            spacegroup=167,
            cellpar=[a, a, c, 90, 90, 120],
            primitive_cell=True,
        )

    return build


def _licoo2(a: float, c: float | None) -> Atoms:
    """R-3m (hexagonal axes): Li 3a, Co 3b, O 6c (0, 0, 0.24); primitive cell."""
    return crystal(
        ["Li", "Co", "O"],
        [(0, 0, 0), (0, 0, 0.5), (0, 0, 0.24)],
        spacegroup=166,
        cellpar=[a, a, c, 90, 90, 120],
        primitive_cell=True,
    )


def _mos2(a: float, c: float | None) -> Atoms:
    """2H-MoS2, P6_3/mmc: Mo 2c (1/3, 2/3, 1/4), S 4f (1/3, 2/3, 0.621)."""
    return crystal(
        ["Mo", "S"],
        [(1 / 3, 2 / 3, 0.25), (1 / 3, 2 / 3, 0.621)],
        spacegroup=194,
        cellpar=[a, a, c, 90, 90, 120],
    )


def _family(
    family: str, structure: str, entries: Sequence[tuple[str, float, float | None]]
) -> list[Compound]:
    return [Compound(name, family, a, c, _ase_bulk(name, structure)) for name, a, c in entries]


ROCKSALT = [("LiF", 4.03), ("LiCl", 5.13), ("NaF", 4.63), ("NaCl", 5.64), ("KCl", 6.29),
            ("KBr", 6.60), ("MgO", 4.21), ("CaO", 4.81), ("SrO", 5.16), ("BaO", 5.52),
            ("NiO", 4.18), ("TiN", 4.24), ("TiC", 4.33), ("ZrC", 4.70), ("PbS", 5.94)]  # fmt: skip
ZINCBLENDE = [("GaAs", 5.65), ("GaP", 5.45), ("InP", 5.87), ("InAs", 6.06), ("ZnS", 5.41),
              ("ZnSe", 5.67), ("CdTe", 6.48), ("AlP", 5.46), ("AlAs", 5.66), ("BN", 3.62),
              ("SiC", 4.36), ("CuCl", 5.42)]  # fmt: skip
WURTZITE = [
    ("ZnO", 3.25, 5.21),
    ("GaN", 3.19, 5.19),
    ("AlN", 3.11, 4.98),
    ("CdS", 4.14, 6.71),
]
FLUORITE = [("CaF2", 5.46), ("SrF2", 5.80), ("BaF2", 6.20), ("CeO2", 5.41), ("ZrO2", 5.07),
            ("UO2", 5.47)]  # fmt: skip
CESIUM_CHLORIDE = [("CsCl", 4.12), ("CsBr", 4.29), ("NiAl", 2.88)]
FCC = [("Cu", 3.615), ("Al", 4.05), ("Ni", 3.52), ("Ag", 4.09), ("Au", 4.08), ("Pt", 3.92),
       ("Pd", 3.89)]  # fmt: skip
BCC = [("Fe", 2.87), ("W", 3.165), ("Mo", 3.147), ("Na", 4.23), ("K", 5.23), ("Li", 3.51)]
HCP = [
    ("Mg", 3.21, 5.21),
    ("Ti", 2.95, 4.68),
    ("Zn", 2.66, 4.95),
]
DIAMOND = [("C", 3.567), ("Si", 5.431), ("Ge", 5.658)]


def _cubic(entries: list[tuple[str, float]]) -> list[tuple[str, float, float | None]]:
    return [(name, a, None) for name, a in entries]


def textbook_compounds() -> list[Compound]:
    """The 76 crystals of the lattice benchmark, in family order."""
    compounds = (
        _family("rocksalt", "rocksalt", _cubic(ROCKSALT))
        + _family("zincblende", "zincblende", _cubic(ZINCBLENDE))
        + _family("wurtzite", "wurtzite", WURTZITE)
        + _family("fluorite", "fluorite", _cubic(FLUORITE))
        + [Compound("Li2O", "antifluorite", 4.61, None, _antifluorite("Li", "O"))]
        + _family("cesium chloride", "cesiumchloride", _cubic(CESIUM_CHLORIDE))
        + [
            Compound("TiO2-rutile", "rutile", 4.594, 2.959, _rutile("Ti", "O", 0.305)),
            Compound("SnO2", "rutile", 4.737, 3.186, _rutile("Sn", "O", 0.307)),
            Compound("SiO2-stishovite", "rutile", 4.180, 2.666, _rutile("Si", "O", 0.306)),
            Compound("MgF2", "rutile", 4.623, 3.052, _rutile("Mg", "F", 0.303)),
            Compound("SrTiO3", "perovskite", 3.905, None, _perovskite("Sr", "Ti", "O")),
            Compound("BaTiO3", "perovskite", 4.00, None, _perovskite("Ba", "Ti", "O")),
            Compound("KTaO3", "perovskite", 3.989, None, _perovskite("K", "Ta", "O")),
            Compound("KMgF3", "perovskite", 3.99, None, _perovskite("K", "Mg", "F")),
            Compound("CsPbBr3", "perovskite", 5.87, None, _perovskite("Cs", "Pb", "Br")),
            Compound("MgAl2O4", "spinel", 8.08, None, _spinel("Mg", "Al", 0.262)),
            Compound("ZnAl2O4", "spinel", 8.09, None, _spinel("Zn", "Al", 0.264)),
            Compound("Al2O3", "corundum", 4.759, 12.99, _corundum("Al", 0.352, 0.306)),
            Compound("Cr2O3", "corundum", 4.959, 13.59, _corundum("Cr", 0.3475, 0.306)),
            Compound("Fe2O3", "corundum", 5.035, 13.75, _corundum("Fe", 0.355, 0.306)),
            Compound("LiCoO2", "layered", 2.816, 14.05, _licoo2),
            Compound("MoS2", "layered", 3.16, 12.30, _mos2),
        ]
        + _family("fcc metal", "fcc", _cubic(FCC))
        + _family("bcc metal", "bcc", _cubic(BCC))
        + _family("hcp metal", "hcp", HCP)
        + _family("diamond", "diamond", _cubic(DIAMOND))
    )
    names = [c.name for c in compounds]
    if len(set(names)) != len(names):
        raise RuntimeError("duplicate compound names in the lattice benchmark")
    return compounds


def _antifluorite(cation: str, anion: str) -> Callable[[float, float | None], Atoms]:
    def build(a: float, c: float | None) -> Atoms:
        return crystal(
            [anion, cation],
            [(0, 0, 0), (0.25, 0.25, 0.25)],
            spacegroup=225,
            cellpar=[a, a, a, 90, 90, 90],
            primitive_cell=True,
        )

    return build
