"""Time per atom per MD step of student variants, against nano-5.0 in the same run.

Every variant is the nano-5.0 preset with some fields changed (untrained weights: the
cost does not depend on their values), timed through the ASE calculator (energy, forces
and stress) on rattled diamond Si, median of ``--repeats`` steps after one warm-up.

Example (the table in benchmarks/capacity/capacity.md):
    python benchmarks/capacity/variant_speed.py --atoms-per-side 6 --threads 2
    python benchmarks/capacity/variant_speed.py --only species-pair,products --repeats 7
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from ase.build import bulk

from nanomlip.integrations.ase_calculator import NanoCalculator
from nanomlip.models import build_model

VARIANTS = {
    "nano-5.0 (l <= 1)": {},
    "species-wise self-connection": {"species_self_connection": True},
    "l <= 2": {"lmax": 2},
    "l <= 2, species-wise": {"lmax": 2, "species_self_connection": True},
    "l <= 2, 16 tensor channels": {"lmax": 2, "num_tensor_channels": 16},
    "l <= 3": {"lmax": 3, "sh_lmax": 3},
    "l <= 3, 16 tensor channels": {"lmax": 3, "sh_lmax": 3, "num_tensor_channels": 16},
    "three blocks": {"num_layers": 3},
    "species-pair radial weights": {"species_pair_radial": True},
    "message products": {"message_products": True},
    "species-pair radial weights + message products": {
        "species_pair_radial": True,
        "message_products": True,
    },
}
PRESETS = {"nano-l (three blocks, l <= 2, wider MLPs)": "nano-l"}


def time_per_atom(model, atoms, repeats: int) -> float:
    """Median seconds per atom of one energy+forces+stress call."""
    atoms = atoms.copy()
    atoms.calc = NanoCalculator(model=model)
    atoms.get_forces()
    atoms.get_stress()
    times = []
    for _ in range(repeats):
        atoms.positions += 1e-4  # a new geometry: nothing cached
        start = time.perf_counter()
        atoms.get_forces()
        atoms.get_stress()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / len(atoms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--atoms-per-side", type=int, default=6, help="cubic cells per side")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--only", help="comma list of parts of variant names to time (nano-5.0 is always timed)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(args.atoms_per_side)
    atoms.rattle(0.05, seed=1)
    print(f"{len(atoms)} Si atoms, {args.threads} threads, median of {args.repeats} steps\n")
    print("| variant | parameters | µs/atom/step | relative to nano-5.0 |")
    print("|---|---:|---:|---:|")
    baseline = None
    models = {name: ("nano-5.0", overrides) for name, overrides in VARIANTS.items()}
    models.update({name: (preset, {}) for name, preset in PRESETS.items()})
    if args.only:
        wanted = args.only.split(",")
        models = {
            name: spec
            for index, (name, spec) in enumerate(models.items())
            if index == 0 or any(part in name for part in wanted)
        }
    for name, (preset, overrides) in models.items():
        model = build_model(preset, **overrides)
        seconds = time_per_atom(model, atoms, args.repeats)
        baseline = baseline or seconds
        print(
            f"| {name} | {model.num_parameters():,} | {seconds * 1e6:.1f} | "
            f"{seconds / baseline:.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
