"""Markdown table of ``benchmarks/lammps/runs`` (made by ``run_lammps_speed.sh``)."""

import json
from pathlib import Path

RUNS = Path(__file__).with_name("runs")


def main() -> None:
    ase_points = {}
    for path in sorted(RUNS.glob("ase_*.json")):
        results = json.loads(path.read_text())["results"]
        ase_points.update({r["num_atoms"]: r for r in results if r["status"] == "ok"})
    rows = []
    for path in sorted(RUNS.glob("*/summary.json")):
        summary = json.loads(path.read_text())
        rows.append((summary["atoms"], summary["ranks"], path.parent.name, summary))
    print("# nano-5.0 in LAMMPS (fix external) against the ASE path, amorphous SiO2\n")
    print(
        "Commands: `bash benchmarks/lammps/run_lammps_speed.sh small`, `... large`, then "
        "`python benchmarks/lammps/summarize.py > benchmarks/lammps/lammps_speed.md`. "
        "One torch thread per rank, float32, NVT 300 K, 1 fs. LAMMPS time: its `Loop time` "
        "(the steps after the step-0 set-up) / steps / atoms; ASE: median of 3 steps of "
        "`nanomlip bench speed` (energy + forces + stress, freed memory kept), same "
        "structures (seed 0).\n"
    )
    print(
        "| atoms | path | ranks | decomposition | steps | µs/atom-step | ns/day | "
        "step-0 PotEng (eV) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n, point in sorted(ase_points.items()):
        print(
            f"| {n:,} | ASE calculator | 1 | - | 3 | {point['microseconds_per_atom_step']:.1f} "
            f"| {point['ns_per_day']:.3g} | - |"
        )
    for atoms, ranks, name, s in sorted(rows):
        print(
            f"| {atoms:,} | LAMMPS `{name}` | {ranks} | {s['decomposition']} | {s['steps']} | "
            f"{s['microseconds_per_atom_step']:.1f} | {s['ns_per_day']:.3g} | "
            f"{s['potential_energy_step0']:.4f} |"
        )


if __name__ == "__main__":
    main()
