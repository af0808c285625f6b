"""Markdown table of ``benchmarks/lammps/runs`` (made by ``run_lammps_speed.sh``).

A run folder without ``summary.json`` (a run stopped before its end) is summarised from its
thermo rows: wall seconds (``CPU`` column) between the first and the last row.
"""

import json
from pathlib import Path

from nanomlip.integrations.lammps_run import read_thermo

RUNS = Path(__file__).with_name("runs")


def run_rows() -> list[tuple[int, int, str, dict]]:
    rows = []
    for folder in sorted(p for p in RUNS.iterdir() if p.is_dir()):
        summary_path = folder / "summary.json"
        if summary_path.exists():
            summary = json.loads(summary_path.read_text())
        else:
            thermo = read_thermo(folder / "log.lammps")
            first, last = thermo[0], thermo[-1]
            steps = int(last["Step"] - first["Step"])
            seconds = last["CPU"] - first["CPU"]
            atoms = int(
                next(
                    line
                    for line in (folder / "log.lammps").read_text().splitlines()
                    if line.strip().endswith(" atoms") and "reading" not in line
                ).split()[0]
            )
            summary = {
                "atoms": atoms,
                "ranks": 1,
                "decomposition": "whole",
                "steps": steps,
                "microseconds_per_atom_step": seconds / steps / atoms * 1e6,
                "ns_per_day": 86400 / (seconds / steps) * 1e-6,
                "potential_energy_step0": first["PotEng"],
                "partial": True,
            }
        rows.append((summary["atoms"], summary["ranks"], folder.name, summary))
    return rows


def main() -> None:
    ase_points = {}
    for path in sorted(RUNS.glob("ase_*.json")):
        results = json.loads(path.read_text())["results"]
        ase_points.update({r["num_atoms"]: r for r in results if r["status"] == "ok"})
    print("# nano-5.0 in LAMMPS (fix external) against the ASE path, amorphous SiO2\n")
    print(
        "Commands: `bash benchmarks/lammps/run_lammps_speed.sh small`, `... large`, then "
        "`python benchmarks/lammps/summarize.py > benchmarks/lammps/lammps_speed.md`. "
        "float32, NVT 300 K, 1 fs. LAMMPS time: its `Loop time` "
        "(the steps after the step-0 set-up) / steps / atoms; ASE: median of 3 steps of "
        "`nanomlip bench speed` (energy + forces + stress, freed memory kept), same "
        "structures (seed 0).\n"
    )
    print(
        "| atoms | path | ranks x threads | decomposition | steps | µs/atom-step | ns/day | "
        "step-0 PotEng (eV) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n, point in sorted(ase_points.items()):
        print(
            f"| {n:,} | ASE calculator | 1 x 1 | - | 3 | "
            f"{point['microseconds_per_atom_step']:.1f} | {point['ns_per_day']:.3g} | - |"
        )
    for atoms, ranks, name, s in sorted(run_rows()):
        threads = s.get("threads", 1)
        partial = " (stopped early)" if s.get("partial") else ""
        print(
            f"| {atoms:,} | LAMMPS `{name}`{partial} | {ranks} x {threads} | "
            f"{s['decomposition']} | {s['steps']} | {s['microseconds_per_atom_step']:.1f} | "
            f"{s['ns_per_day']:.3g} | {s['potential_energy_step0']:.4f} |"
        )


if __name__ == "__main__":
    main()
