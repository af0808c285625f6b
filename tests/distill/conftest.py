"""Tiny EMT worlds for the fine-tuning and specialisation tests (issue 14).

``universal`` is a nano-xs student briefly distilled from EMT on Cu and Al frames (its
distillation dataset is ``distill``); EMT plays the teacher and the "DFT" code.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from nanomlip.distill.config import TrainConfig
from nanomlip.distill.data import write_labelled_frames
from nanomlip.distill.trainer import train

EMT_SPEC = "ase:ase.calculators.emt:EMT"


def emt_frames(
    symbol: str, count: int, seed: int, rattle: float = 0.08, strain: float = 0.03
) -> list[Atoms]:
    """Rattled, strained 4-atom fcc cells of ``symbol`` labelled by EMT."""
    rng = np.random.default_rng(seed)
    frames = []
    for index in range(count):
        atoms = bulk(symbol, "fcc", cubic=True)
        atoms.set_cell(atoms.cell * (1 + rng.uniform(-strain, strain)), scale_atoms=True)
        atoms.positions += rng.normal(0, rattle, atoms.positions.shape)
        atoms.calc = EMT()
        results = {
            "energy": atoms.get_potential_energy(),
            "forces": atoms.get_forces(),
            "stress": atoms.get_stress(),
        }
        atoms.calc = SinglePointCalculator(atoms, **results)
        atoms.info["group"] = f"{symbol}-{seed}-{index}"
        atoms.info["category"] = "bulk"
        frames.append(atoms)
    return frames


@pytest.fixture(name="emt_frames")
def emt_frames_fixture():
    """:func:`emt_frames` for the tests."""
    return emt_frames


@pytest.fixture(scope="session")
def universal(tmp_path_factory):
    """``(model path, distillation dataset)`` of a tiny student distilled from EMT."""
    root = tmp_path_factory.mktemp("universal")
    frames = emt_frames("Cu", 16, seed=1) + emt_frames("Al", 16, seed=2)
    data = write_labelled_frames(root / "distill", frames, {"spec": EMT_SPEC, "version": "x"})
    config = TrainConfig(
        preset="nano-xs", max_epochs=6, batch_size=4, val_fraction=0.2, lr=1e-2, progress=False
    )
    train(data, root / "run", config)
    return root / "run" / "model.safetensors", data
