"""The "DFT" set of the fine-tuning demonstration: EMT (ASE) plays the DFT code.

60 frames of 32-atom fcc Cu, Au and random CuAu cells, strained by up to 4 % and rattled
by 0.06-0.15 Å, each labelled by EMT (energy, forces, stress), written to
``benchmarks/finetune/emt_dft.extxyz``. EMT's energy zero is not PBE's, so fine-tuning
has to refit the per-element reference energies.

    python benchmarks/finetune/make_emt_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write


def frames(count: int = 60, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for index in range(count):
        kind = ("Cu", "Au", "CuAu")[index % 3]
        a = {"Cu": 3.61, "Au": 4.08, "CuAu": 3.86}[kind]
        atoms = bulk("Cu" if kind == "CuAu" else kind, "fcc", a=a, cubic=True).repeat(2)
        if kind == "CuAu":
            atoms.numbers[rng.permutation(len(atoms))[: len(atoms) // 2]] = 79
        atoms.set_cell(atoms.cell * (1 + rng.uniform(-0.04, 0.04)), scale_atoms=True)
        atoms.positions += rng.normal(0, rng.uniform(0.06, 0.15), atoms.positions.shape)
        atoms.calc = EMT()
        results = {
            "energy": atoms.get_potential_energy(),
            "forces": atoms.get_forces(),
            "stress": atoms.get_stress(),
        }
        atoms.calc = SinglePointCalculator(atoms, **results)
        atoms.info["group"] = f"{kind}-{index}"
        out.append(atoms)
    return out


if __name__ == "__main__":
    path = Path(__file__).with_name("emt_dft.extxyz")
    write(path, frames())
    print(f"wrote {path}")
