"""Student against teacher on a few textbook crystals, and a 64-atom NVE stability check.

    python benchmarks/fidelity/structures_check.py --model nano-5.0 \
        --out benchmarks/fidelity/nano-5.0/structures.md

For each crystal: energy per atom of the ideal structure from the student and from the teacher
named in the student's metadata, and the mean temperature of a short NVE run (dt = 2 fs,
600 steps) started at 600 K from the ideal lattice: equipartition brings a stable crystal to
about 300 K; a lattice that the student makes unstable heats up as it falls apart.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch
from ase import units
from ase.build import bulk
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
from ase.md.verlet import VelocityVerlet

from nanomlip import NanoCalculator
from nanomlip.teachers import load_teacher

CRYSTALS = {
    "diamond C": ("C", "diamond", 3.567, 2),
    "diamond Si": ("Si", "diamond", 5.431, 2),
    "diamond Ge": ("Ge", "diamond", 5.658, 2),
    "fcc Cu": ("Cu", "fcc", 3.615, 3),
    "fcc Al": ("Al", "fcc", 4.05, 3),
    "bcc Fe": ("Fe", "bcc", 2.867, 3),
    "rocksalt NaCl": ("NaCl", "rocksalt", 5.64, 2),
    "rocksalt MgO": ("MgO", "rocksalt", 4.212, 2),
}


def nve_mean_temperature(atoms, calculator, seed: int = 0) -> float:
    atoms = atoms.copy()
    atoms.calc = calculator
    MaxwellBoltzmannDistribution(atoms, temperature_K=600, rng=np.random.default_rng(seed))
    Stationary(atoms)
    dynamics = VelocityVerlet(atoms, 2 * units.fs)
    temperatures = []
    for _ in range(30):
        dynamics.run(20)
        temperatures.append(atoms.get_temperature())
    return float(np.mean(temperatures[10:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="nano-5.0")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    student = NanoCalculator(model=args.model)
    teacher = load_teacher(student.metadata["teacher"])
    lines = [
        f"Command: `python benchmarks/fidelity/structures_check.py --model {args.model} "
        f"--out {args.out}`",
        "",
        "| crystal | atoms | student E (eV/atom) | teacher E (eV/atom) | student - teacher "
        "(meV/atom) | NVE from 600 K: mean T (K) |",
        "|---|---|---|---|---|---|",
    ]
    for name, (formula, structure, a, repeat) in CRYSTALS.items():
        atoms = bulk(formula, structure, a=a, cubic=True).repeat(repeat)
        atoms.calc = student
        mine = atoms.get_potential_energy() / len(atoms)
        theirs = teacher.label([atoms])[0].energy / len(atoms)
        temperature = nve_mean_temperature(atoms, student)
        lines.append(
            f"| {name} | {len(atoms)} | {mine:.3f} | {theirs:.3f} | {1e3 * (mine - theirs):+.0f} | "
            f"{temperature:.0f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
