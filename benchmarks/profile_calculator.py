"""Where the time of one NanoCalculator step goes (issue 5: profile before optimising).

Run on an idle machine:

    python benchmarks/profile_calculator.py --model nano-5.0 --repeats 6 --threads 2 \
        --out benchmarks/profile.md

It times, on rattled diamond Si, the whole ASE calculator step (energy, forces, stress) and
its parts: the vesin neighbour list, the graph tensors and the model (energy, then forces and
stress from one backward pass), and it writes the torch profiler's top operators.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from ase.build import bulk

from nanomlip import NanoCalculator
from nanomlip.data.graph import atoms_to_graph, neighbor_list
from nanomlip.models.registry import build_model, registered_models


def median_seconds(function: Callable[[], object], repeats: int) -> float:
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="nano-5.0", help="registered model or preset")
    parser.add_argument("--repeats", type=int, default=6, help="diamond Si cubic repeats")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/profile.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    reference = args.model if args.model in registered_models() else build_model(args.model)
    calculator = NanoCalculator(model=reference)
    model = calculator.model
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(args.repeats)
    atoms.rattle(0.05, seed=1)
    atoms.calc = calculator
    cutoff = calculator.cutoff

    def full_step() -> None:
        atoms.positions[0, 0] += 1e-5  # a new configuration, as in MD
        atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()

    graph = atoms_to_graph(atoms, cutoff, dtype=torch.float32)

    parts = {
        "ASE calculator step (E, F, stress)": median_seconds(full_step, args.steps),
        "vesin neighbour list": median_seconds(lambda: neighbor_list(atoms, cutoff), args.steps),
        "graph tensors (neighbour list included)": median_seconds(
            lambda: atoms_to_graph(atoms, cutoff, dtype=torch.float32), args.steps
        ),
        "model: energy, forces and stress": median_seconds(lambda: model(graph), args.steps),
    }
    n = len(atoms)
    lines = [
        f"# Profile of one calculator step: {args.model}, {n} atoms of rattled diamond Si, "
        f"{args.threads} threads, float32",
        "",
        f"Command: `python benchmarks/profile_calculator.py --model {args.model} "
        f"--repeats {args.repeats} --threads {args.threads} --out {args.out}`",
        "",
        "| part | ms per step | µs per atom | share of the calculator step |",
        "|---|---|---|---|",
    ]
    total = parts["ASE calculator step (E, F, stress)"]
    for name, seconds in parts.items():
        lines.append(
            f"| {name} | {seconds * 1e3:.1f} | {seconds / n * 1e6:.1f} | {seconds / total:.0%} |"
        )
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        for _ in range(3):
            model(graph)
    table = profile.key_averages().table(sort_by="self_cpu_time_total", row_limit=15)
    lines += ["", "Torch profiler, 3 model calls, top operators by self CPU time:", "", "```"]
    lines += [table.rstrip(), "```", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines[:12]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
