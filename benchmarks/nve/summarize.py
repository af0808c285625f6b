"""Summarise the NVE runs of ``benchmarks/nve/run.sh`` into ``benchmarks/nve/nve.md``."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def summarize(folder: Path, num_atoms: int) -> dict[str, float]:
    with open(folder / "thermo.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    time_ps = np.array([float(r["time_ps"]) for r in rows])
    etot = np.array([float(r["etot_eV"]) for r in rows]) / num_atoms * 1e3  # meV/atom
    temperature = np.array([float(r["temperature_K"]) for r in rows])
    slope, intercept = np.polyfit(time_ps, etot, 1)
    later = time_ps >= 1.0  # after the first ps of equipartition
    return {
        "time_ps": float(time_ps[-1]),
        "mean_T": float(temperature[later].mean()),
        "drift": float(slope),
        "fluctuation": float(np.std(etot - (slope * time_ps + intercept))),
        "max_excursion": float(np.max(np.abs(etot - etot[0]))),
    }


def main() -> None:
    lines = [
        "# NVE energy conservation of the default student",
        "",
        "Command: `bash benchmarks/nve/run.sh && python benchmarks/nve/summarize.py` "
        "(1,000-atom rocksalt MgO from `examples/mgo_rocksalt.cif --supercell 5`, dt = 2 fs, "
        "5,000 steps = 10 ps, velocities drawn at twice the target temperature).",
        "",
        "| target | mean T after 1 ps (K) | simulated (ps) | drift (meV/atom/ps) | "
        "E_tot fluctuation around the fit (meV/atom) | max abs(E_tot - E_tot(0)) (meV/atom) |",
        "|---|---|---|---|---|---|",
    ]
    for target in (300, 1500):
        folder = HERE / f"mgo-{target}K"
        if not (folder / "thermo.csv").is_file():
            lines.append(f"| {target} K | not run | | | | |")
            continue
        s = summarize(folder, 1000)
        lines.append(
            f"| {target} K | {s['mean_T']:.0f} | {s['time_ps']:.1f} | {s['drift']:+.4f} | "
            f"{s['fluctuation']:.4f} | {s['max_excursion']:.3f} |"
        )
    (HERE / "nve.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
