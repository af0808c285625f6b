"""Seed structures from the user's own files: the ``structures`` sampler.

A recipe entry such as::

    - name: structures
      count: 40
      options: {files: [my/cell.cif, my/md.extxyz], index: ":", max_rattle: 0.05}

labels the frames of those files, cycling through them, each copy optionally strained
and rattled (seeded, so a resumed run makes the same frames). The files are read and
checked with :mod:`nanomlip.data.inputs` when the recipe is built, before anything is
written, so a bad seed file gets the same message as in ``calc``, ``relax`` and ``md``.
The frames are read again in each labelling process: keep the files unchanged while a
dataset is being labelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from nanomlip.data.inputs import StructureInputError, read_structure_files
from nanomlip.sampling.base import SamplerContext, register_sampler
from nanomlip.sampling.geometry import rattle, tag
from nanomlip.sampling.options import check_options

#: Category of the frames of this sampler in the dataset.
SEED_CATEGORY = "seed"


@dataclass
class SeedStructures:
    """Cycles through seed frames, each copy strained and rattled.

    Attributes:
        frames: The seed frames, checked.
        names: A group name per frame (file stem and frame number).
        max_strain: Largest symmetric strain component (periodic frames only).
        max_rattle: Largest standard deviation of the displacements, Å.
    """

    frames: list[Atoms]
    names: list[str]
    max_strain: float
    max_rattle: float

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        position = index % len(self.frames)
        atoms = self.frames[position].copy()
        if self.max_strain > 0 and atoms.pbc.all():
            strain = rng.uniform(-self.max_strain, self.max_strain, (3, 3))
            deformation = np.eye(3) + 0.5 * (strain + strain.T)
            atoms.set_cell(atoms.cell.array @ deformation, scale_atoms=True)
        if self.max_rattle > 0:
            atoms = rattle(rng, atoms, float(rng.uniform(0, self.max_rattle)))
        return tag(atoms, SEED_CATEGORY, self.names[position])


def _read_seeds(files: list[str], index: str, context: SamplerContext) -> tuple[list, list]:
    known = [atomic_numbers[symbol] for symbol in context.elements]
    frames, names = [], []
    for file, number, atoms in read_structure_files(files, index, known, "this labelling job"):
        if len(atoms) > context.max_atoms:
            raise StructureInputError(
                f"'{file} (frame {number})' has {len(atoms)} atoms, more than the recipe's "
                f"max_atoms ({context.max_atoms})"
            )
        frames.append(atoms)
        names.append(f"seed:{file.stem}:{number}")
    return frames, names


@register_sampler("structures")
def build_structures(context: SamplerContext, options: dict[str, Any]) -> SeedStructures:
    """Options: ``files`` (required), ``index`` (":"), ``max_strain`` (0), ``max_rattle`` (0 Å).

    ``files`` is a list of structure files (one file may be given as a string).
    """
    defaults = {"files": None, "index": ":", "max_strain": 0.0, "max_rattle": 0.0}
    options = check_options("structures", options, defaults)
    files = options["files"]
    if isinstance(files, str):
        files = [files]
    if not files or not all(isinstance(file, str) for file in files):
        raise ValueError("sampler 'structures' needs option 'files': a list of structure files")
    strain, sigma = float(options["max_strain"]), float(options["max_rattle"])
    if not (0 <= strain <= 0.2 and 0 <= sigma <= 0.5):
        raise ValueError(
            "sampler 'structures': max_strain must lie in [0, 0.2] and max_rattle in "
            f"[0, 0.5] Å, got {strain} and {sigma}"
        )
    frames, names = _read_seeds(list(files), str(options["index"]), context)
    return SeedStructures(frames, names, strain, sigma)
