"""The starting structure of the specialisation demonstration: 72-atom amorphous SiO2.

A random packing at 2.2 g/cm³ (``nanomlip.bench.systems.amorphous_sio2``, seed 0) has
Si-O contacts down to 1.5 Å and forces of several eV/Å; the teacher relaxes it (FIRE,
positions only, fmax 0.1 eV/Å, at most 200 steps) into a local minimum, an amorphous
network, written to ``benchmarks/specialize/sio2_72.extxyz`` with the teacher calls used:

    python benchmarks/specialize/make_sio2.py
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from ase.io import write
from ase.optimize import FIRE

from nanomlip.bench.systems import amorphous_sio2
from nanomlip.teachers.spec import load_teacher

TEACHER = "sevennet:7net-mf-0@PBE"


def teacher_relax(atoms, fmax: float, steps: int) -> int:
    """Relax the positions with the teacher (FIRE); record steps, fmax and CPU in ``info``."""
    atoms.calc = load_teacher(TEACHER).calculator()
    cpu = time.process_time()
    optimizer = FIRE(atoms, logfile=None)
    optimizer.run(fmax=fmax, steps=steps)
    reached = float((atoms.get_forces() ** 2).sum(axis=1).max() ** 0.5)
    atoms.info.update(
        teacher=TEACHER, relax_steps=optimizer.nsteps, relax_fmax_eV_A=reached,
        relax_cpu_s=time.process_time() - cpu,
    )  # fmt: skip
    atoms.calc = None
    return optimizer.nsteps


if __name__ == "__main__":
    torch.set_num_threads(1)
    atoms = amorphous_sio2(24, seed=0)
    steps = teacher_relax(atoms, fmax=0.1, steps=200)
    path = Path(__file__).with_name("sio2_72.extxyz")
    write(path, atoms)
    print(f"wrote {path}: {steps} FIRE steps, fmax {atoms.info['relax_fmax_eV_A']:.3f} eV/Å, "
          f"{atoms.info['relax_cpu_s']:.0f} CPU s")  # fmt: skip
