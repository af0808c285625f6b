"""Frozen frames: every sampler gives the same structures for the same seed, release after release.

The recipe seeds decide the frames of the committed datasets (``datasets/distill-v4``,
``datasets/distill-v5``); a resumed labelling job must make exactly the frames it made
before. Each sampler here builds three frames from fixed seeds, and a SHA-256 of their
numbers, positions (rounded to 1e-8 Å, so that a last-bit difference of a BLAS build
does not count), cell, pbc, category and group is compared with the frozen value.

If a change to a sampler is *meant* to change its frames, the datasets built with it can
no longer be resumed: bump the recipe, then refresh the digests with
``python tests/sampling/test_frozen_samples.py``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.calculators.emt import EMT
from ase.db import connect
from ase.io import write

from nanomlip.sampling import SamplerContext, build_sampler

pytest.importorskip("pymatgen")
pytest.importorskip("pyxtal")
pytest.importorskip("smact")
pytest.importorskip("rdkit")

MIXED = ["H", "Li", "C", "O", "F", "Na", "Si", "P", "Cl", "Fe", "Cu"]
EMT_ELEMENTS = ["Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au"]
INDICES = (0, 1, 5)

#: sampler -> (elements, options); with EMT's elements, EMT drives the MD and relaxations.
CASES: dict[str, tuple[list[str], dict]] = {
    "prototypes": (MIXED, {}),
    "random_crystals": (MIXED, {}),
    "strained": (MIXED, {}),
    "rattled": (MIXED, {}),
    "vacancies": (MIXED, {}),
    "substitutions": (MIXED, {}),
    "surfaces": (MIXED, {}),
    "equilibrium": (EMT_ELEMENTS, {}),
    "molecules": (MIXED, {}),
    "liquids": (MIXED, {"steps": 2}),
    "amorphous": (EMT_ELEMENTS, {"steps": 2}),
    "close_contacts": (MIXED, {}),
    "structures": (["H", "O", "Cu"], {"max_rattle": 0.05, "max_strain": 0.02}),
    "corpus": (EMT_ELEMENTS, {"relax_steps": 8, "md_steps": 3}),
}

FROZEN: dict[str, str] = {
    "amorphous": "dd9fac33bfb6305c a9c7a4a2fe187e0b 750d1b7b52339954",
    "close_contacts": "67e3e0e69b473c2e e9918ddd5fdc195f baf96e889c17dba3",
    "corpus": "f56ab486a05caa53 ba67de6aacd3e52c 94330f56f6e1811e",
    "equilibrium": "8b25b10aedb3e77a 3394e736672e35c5 5d842db54e45a5b5",
    "liquids": "efe5726056ef1a25 07a8e0c7e3a9bc14 9d6caa1e237ea413",
    "molecules": "70b188a58dcbe689 151538d70785fbdd 9ca8c95fcd888dbd",
    "prototypes": "d8a8ac3333b66c3b 006c940264dc4fae ee67bbe027b32a57",
    "random_crystals": "ab34bf0b7a399e90 43d758b5596c59e7 3f473bb8a18b3aaa",
    "rattled": "2948c7257855c7a0 f776a7cf339c928b aa80ed2a93e6b72c",
    "strained": "fc2eed48d49f4b94 90dfb2f7a229cea4 3460e407531a57a6",
    "structures": "b8229c38f0b7f3fa 9184c18113937357 11cef22da977a673",
    "substitutions": "bf3b0092c15e6f75 d9529316e1650316 136f13ee6034dc9c",
    "surfaces": "609c671092102a7e 814e52d2c9573330 93997696cdd77246",
    "vacancies": "e1cb2b2759e56009 0855119920f2c13c 0a91780e168dbf5b",
}


def frame_digest(atoms: Atoms) -> str:
    """SHA-256 of what makes a frame: numbers, positions (1e-8 Å), cell, pbc, category, group."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(atoms.numbers, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(np.round(atoms.positions, 8), dtype=np.float64).tobytes())
    digest.update(np.ascontiguousarray(np.round(atoms.cell.array, 8), dtype=np.float64).tobytes())
    digest.update(np.ascontiguousarray(atoms.pbc, dtype=bool).tobytes())
    digest.update(f"{atoms.info.get('category')}|{atoms.info.get('group')}".encode())
    return digest.hexdigest()[:16]


def seed_files(folder) -> dict[str, str]:
    """The seed files the ``structures`` and ``corpus`` samplers read."""
    cu = folder / "cu.cif"
    write(cu, bulk("Cu", "fcc", a=3.61, cubic=True))
    water = folder / "water.extxyz"
    write(water, [molecule("H2O"), molecule("H2O")])
    db = folder / "seeds.db"
    with connect(db) as rows:
        rows.write(bulk("Cu", "fcc", a=3.70), name="Cu")
        rows.write(bulk("CuAu", "rocksalt", a=4.6).repeat((1, 1, 2)), name="CuAu")
        rows.write(bulk("Ni", "fcc", a=3.40, cubic=True), name="Ni")
    return {"files": [str(cu), str(water)], "db": f"ase_db:{db}"}


def sampler_digests(name: str, folder) -> list[str]:
    """Digests of frames ``INDICES`` of one sampler, seeded by ``[2026, index]``."""
    elements, options = CASES[name]
    paths = seed_files(folder)
    options = dict(options)
    if name == "structures":
        options["files"] = paths["files"]
    if name == "corpus":
        options["source"] = paths["db"]
    driven = elements is EMT_ELEMENTS
    context = SamplerContext(
        elements=list(elements),
        max_atoms=24,
        min_atoms=4,
        md_calculator=EMT if driven else None,
        fast_calculator=EMT if driven else None,
    )
    sampler = build_sampler(name, context, options)
    return [
        frame_digest(sampler.make(np.random.default_rng([2026, index]), index)) for index in INDICES
    ]


@pytest.mark.parametrize("name", sorted(CASES))
def test_sampler_frames_are_frozen(name, tmp_path):
    assert sampler_digests(name, tmp_path) == FROZEN[name].split(), (
        f"sampler {name!r} now makes other frames for the same seeds: datasets built with "
        "it can no longer be resumed (see this module's docstring)"
    )


if __name__ == "__main__":  # print the digests to paste into FROZEN
    import tempfile
    from pathlib import Path

    for case in sorted(CASES):
        with tempfile.TemporaryDirectory() as tmp:
            print(f'    "{case}": "{" ".join(sampler_digests(case, Path(tmp)))}",')
