"""Check a specialised model on fresh frames no round of ``specialize`` saw.

For each model and temperature it runs ``nanomlip md`` driven by that model (its own
trajectory, a seed no round used) with the live trust check (``--check-every``): every
``--every``-th step is labelled by the teacher, and the force MAE goes into ``thermo.csv``.
The table is the mean over the checked steps after step 0 (the start structure, which the
rounds did see):

    python benchmarks/specialize/validate.py STRUCTURE --model nano-5.1 \
        --model RUN/model.safetensors \
        --temperatures 300,1000 --out benchmarks/specialize/NAME/validation
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

TEACHER = "sevennet:7net-mf-0@PBE"


def check_run(structure: str, model: str, temperature: float, args: argparse.Namespace, out: Path):
    """One ``nanomlip md`` run with the trust check; the checked force MAEs after step 0."""
    command = [
        "nanomlip", "md", structure, "--model", model, "--temperature", f"{temperature:g}",
        "--steps", str(args.steps), "--seed", str(args.seed), "--log-every", str(args.every),
        "--traj-every", str(args.every), "--check-every", str(args.every),
        "--teacher", args.teacher, "--no-progress", "--out-dir", str(out),
        "--overwrite",
    ]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    with open(out / "thermo.csv") as handle:
        rows = list(csv.DictReader(handle))
    return [
        float(r["teacher_force_mae_meV_A"])
        for r in rows
        if r.get("teacher_force_mae_meV_A") and int(r["step"]) > 0
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("structure")
    parser.add_argument("--model", action="append", required=True, help="repeatable")
    parser.add_argument("--temperatures", default="300,1000")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--seed", type=int, default=101, help="a seed no round used")
    parser.add_argument("--teacher", default=TEACHER)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    temperatures = [float(t) for t in args.temperatures.split(",")]
    results = []
    for index, model in enumerate(args.model):
        for temperature in temperatures:
            out = args.out / f"model{index}_{temperature:g}K"
            errors = check_run(args.structure, model, temperature, args, out)
            mean = sum(errors) / len(errors)
            results.append(
                {"model": model, "temperature_K": temperature, "frames": len(errors),
                 "force_mae_meV_A": mean, "per_frame": errors}
            )  # fmt: skip
            print(f"{model} {temperature:g} K: {mean:.1f} meV/Å over {len(errors)} fresh frames")
    (args.out / "validation.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
