"""Throughput of torch-sim (one batched state) against a loop over ASE, for 100 small cells.

Both run the same model (nano-5.0 weights, float32) for ``--steps`` Langevin NVT steps at
300 K (1 fs) on the same 100 cells (rattled 8- to 64-atom crystals of Si, MgO, Cu and SiO2):
torch-sim with ``ts.integrate`` on all cells at once, ASE with ``ase.md.Langevin`` on each cell
in turn. Both include the neighbour lists and the integrator. Run from the repository root:

    python benchmarks/torchsim/throughput.py --threads 1 --out benchmarks/torchsim/throughput.md
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from ase import Atoms, units
from ase.build import bulk
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution


def small_cells(count: int = 100, seed: int = 0) -> list[Atoms]:
    """``count`` rattled cells of 8 to 64 atoms, cycling through four crystals and sizes."""
    bases = [
        bulk("Si", "diamond", a=5.43, cubic=True),
        bulk("MgO", "rocksalt", a=4.21, cubic=True),
        bulk("Cu", "fcc", a=3.61, cubic=True),
        bulk("Si", "diamond", a=5.5),
    ]
    repeats = [(1, 1, 1), (2, 1, 1), (2, 2, 1), (2, 2, 2)]
    cells = []
    rng = np.random.default_rng(seed)
    for index in range(count):
        atoms = bases[index % 4].repeat(repeats[(index // 4) % 4])
        atoms.rattle(0.05, seed=int(rng.integers(1 << 30)))
        cells.append(atoms)
    return cells


def time_torchsim(model, cells: list[Atoms], steps: int) -> float:
    import torch_sim as ts

    state = ts.io.atoms_to_state(cells, model.device, model.dtype)
    ts.integrate(
        system=state,
        model=model,
        integrator=ts.nvt_langevin,
        n_steps=1,
        temperature=300.0,
        timestep=0.001,
    )  # warm-up
    start = time.perf_counter()
    ts.integrate(
        system=state,
        model=model,
        integrator=ts.nvt_langevin,
        n_steps=steps,
        temperature=300.0,
        timestep=0.001,
    )
    return time.perf_counter() - start


def time_ase(calculator, cells: list[Atoms], steps: int) -> float:
    warm = cells[0].copy()
    warm.calc = calculator
    warm.get_forces()
    start = time.perf_counter()
    for atoms in cells:
        atoms = atoms.copy()
        atoms.calc = calculator
        MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(0))
        Langevin(atoms, 1.0 * units.fs, temperature_K=300, friction=0.01).run(steps)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="nano-5.0")
    parser.add_argument("--cells", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/torchsim/throughput.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import nanomlip
    from nanomlip.integrations.torchsim import NanoTorchSimModel

    cells = small_cells(args.cells)
    atoms_total = sum(len(a) for a in cells)
    model = NanoTorchSimModel(args.model, device=args.device, dtype=torch.float32)
    batched = time_torchsim(model, cells, args.steps)
    looped = time_ase(nanomlip.NanoCalculator(args.model, device=args.device), cells, args.steps)
    per = {
        name: seconds / (args.steps * atoms_total) * 1e6
        for name, seconds in (("torch-sim batched", batched), ("ASE loop", looped))
    }
    result = {
        "command": "python benchmarks/torchsim/throughput.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "cells": args.cells,
        "atoms": atoms_total,
        "steps": args.steps,
        "threads": args.threads,
        "device": args.device,
        "torch": torch.__version__,
        "cpu": platform.processor(),
        "seconds": {"torch-sim batched": batched, "ASE loop": looped},
        "microseconds_per_atom_step": per,
        "speedup": looped / batched,
    }
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    lines = [
        "# torch-sim batched MD against a loop over ASE",
        "",
        f"Command: `{result['command']}`",
        "",
        f"{args.cells} cells ({atoms_total} atoms; 8-64 atoms each: Si, MgO, Cu, Si), "
        f"{args.model} float32, Langevin NVT 300 K, 1 fs, {args.steps} steps after one "
        f"warm-up step, {args.threads} thread(s) on {args.device}; torch {torch.__version__}.",
        "",
        "| path | wall time | µs per atom-step | cells x steps per s |",
        "|---|---|---|---|",
    ]
    for name, seconds in result["seconds"].items():
        lines.append(
            f"| {name} | {seconds:.2f} s | {per[name]:.1f} | "
            f"{args.cells * args.steps / seconds:.1f} |"
        )
    lines += ["", f"torch-sim is **{result['speedup']:.2f}x** the ASE loop's throughput.", ""]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
