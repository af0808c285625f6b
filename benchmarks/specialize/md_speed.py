"""MD cost of specialised models against their base, in one process, one after the other.

``nanomlip specialize`` probes the speed with three steps on whatever else the machine runs;
this times ``--steps`` Langevin steps (after ``--warmup``) of each model on its own system,
alternating the models ``--repeats`` times, so that a busy machine slows both alike:

    python benchmarks/specialize/md_speed.py --pair STRUCTURE MODEL ... --out FILE.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from ase import units
from ase.io import read
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

from nanomlip import NanoCalculator

BASE = "nano-5.1"


def time_md(structure: str, model: str, steps: int, warmup: int) -> float:
    """µs per atom per step of Langevin MD at 300 K (energy, forces and stress each step)."""
    atoms = read(structure)
    atoms.calc = NanoCalculator(model=model)
    MaxwellBoltzmannDistribution(atoms, temperature_K=300.0, rng=np.random.default_rng(0))
    dynamics = Langevin(atoms, 1.0 * units.fs, temperature_K=300.0, friction=0.01, rng=None)
    dynamics.run(warmup)
    start = time.perf_counter()
    for _ in range(steps):
        dynamics.run(1)
        atoms.get_stress()
    return (time.perf_counter() - start) / steps / len(atoms) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pair", nargs=2, action="append", required=True, metavar=("STRUCTURE", "MODEL")
    )
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for structure, model in args.pair:
        times: dict[str, list[float]] = {BASE: [], model: []}
        for _ in range(args.repeats):
            for name in times:
                times[name].append(time_md(structure, name, args.steps, args.warmup))
        base, tuned = (statistics.median(times[n]) for n in (BASE, model))
        rows.append(
            {"structure": structure, "model": model, "base_us_per_atom_step": base,
             "specialised_us_per_atom_step": tuned, "ratio": tuned / base, "runs": times}
        )  # fmt: skip
        print(f"{Path(structure).name}: {BASE} {base:.1f}, specialised {tuned:.1f} µs/atom-step "
              f"(ratio {tuned / base:.3f})")  # fmt: skip
    args.out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
