"""Tables and the density plot of ``nanomlip bench liquid-electrolytes`` (they only read)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nanomlip.bench.electrolyte_common import save_figure
from nanomlip.bench.liquid_electrolytes import density_mae_percent

_SERIES = (
    ("density_g_cm3", "density_err_g_cm3", "student + D3", "tab:blue", "o"),
    ("density_no_d3_g_cm3", "density_no_d3_err_g_cm3", "student, no D3", "tab:gray", "x"),
    ("density_teacher_d3_g_cm3", "density_teacher_d3_err_g_cm3", "teacher + D3", "tab:orange", "s"),
)


def headline(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Density MAE % against experiment (with and without D3, teacher) and mean E/F/S MAE."""

    def mean(key: str) -> float | None:
        values = [r[key] for r in records if r.get(key) is not None]
        return float(np.mean(values)) if values else None

    return {
        "solvents": len(records),
        "density_mae_pct_student_d3": density_mae_percent(list(records), "density_g_cm3"),
        "density_mae_pct_student_no_d3": density_mae_percent(list(records), "density_no_d3_g_cm3"),
        "density_mae_pct_teacher_d3": density_mae_percent(
            list(records), "density_teacher_d3_g_cm3"
        ),
        "energy_mae_meV_atom": mean("efs_energy_mae_meV_atom"),
        "force_mae_meV_A": mean("efs_force_mae_meV_A"),
        "stress_mae_GPa": mean("efs_stress_mae_GPa"),
    }


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def markdown(records: Sequence[dict[str, Any]], command: str, preview_note: str = "") -> str:
    """Markdown summary: headline figures and one row per solvent."""
    head = headline(records)

    def counted(label: str, key: str) -> str:
        names = [r["name"] for r in records if r.get(key) is not None]
        if not names or len(names) == len(records):
            return label
        return f"{label} ({len(names)} solvents: {', '.join(names)})"

    figures = [
        (counted("student + D3", "density_g_cm3"), head["density_mae_pct_student_d3"]),
        (
            counted("student without D3", "density_no_d3_g_cm3"),
            head["density_mae_pct_student_no_d3"],
        ),
        (counted("teacher + D3", "density_teacher_d3_g_cm3"), head["density_mae_pct_teacher_d3"]),
    ]
    energy, force = _fmt(head["energy_mae_meV_atom"], ".1f"), _fmt(head["force_mae_meV_A"], ".0f")
    lines = [
        "# Liquid electrolytes: densities and E/F/S errors (student vs teacher, both + D3)",
        "",
        *([preview_note, ""] if preview_note else []),
        f"Command: `{command}`",
        "",
        *(f"- density MAE vs experiment, {label}: {_fmt(v, '.2f')} %" for label, v in figures),
        f"- mean E / F / S MAE on hot snapshots: {energy} meV/atom, {force} meV/Å, "
        f"{_fmt(head['stress_mae_GPa'], '.3f')} GPa",
        "",
        "| solvent | T (K) | ρ exp | ρ student + D3 | ρ no D3 | ρ teacher + D3 | E / F / S MAE |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        cells = [
            f"{_fmt(r.get(v), '.3f')} ± {_fmt(r.get(e), '.3f')}" if r.get(v) is not None else "-"
            for v, e, *_ in _SERIES
        ]
        efs = " / ".join(
            _fmt(r.get(f"efs_{key}"), spec)
            for key, spec in (
                ("energy_mae_meV_atom", ".1f"),
                ("force_mae_meV_A", ".0f"),
                ("stress_mae_GPa", ".3f"),
            )
        )
        mark = " †" if r.get("density_exp_to_check") else ""
        lines.append(
            f"| {r['name']} | {r['temperature_K']:g} | {r['density_exp_g_cm3']:.3f}{mark} | "
            + " | ".join(cells)
            + f" | {efs} |"
        )
    lines += [
        "",
        "Densities in g/cm³ (± block-averaged standard error); E in meV/atom, F in meV/Å, "
        "S in GPa. † experimental value still to be checked against its source.",
    ]
    return "\n".join(lines) + "\n"


def plot_density_parity(records: Sequence[dict[str, Any]], path: Path) -> None:
    """Calculated against experimental density, one marker per solvent and model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(4.8, 4.8))
    values = [r["density_exp_g_cm3"] for r in records]
    for key, err, label, color, marker in _SERIES:
        points = [r for r in records if r.get(key) is not None]
        if not points:
            continue
        x = [r["density_exp_g_cm3"] for r in points]
        y = [r[key] for r in points]
        axis.errorbar(
            x,
            y,
            yerr=[r.get(err) or 0 for r in points],
            fmt=marker,
            color=color,
            label=label,
            ms=5,
            capsize=2,
        )
        values += y
        if key == "density_g_cm3":
            for r in points:
                axis.annotate(
                    r["name"],
                    (r["density_exp_g_cm3"], r[key]),
                    fontsize=6,
                    xytext=(3, 3),
                    textcoords="offset points",
                )
    low, high = min(values) * 0.95, max(values) * 1.05
    axis.plot([low, high], [low, high], "k-", lw=0.8)
    axis.set_xlim(low, high)
    axis.set_ylim(low, high)
    axis.set_xlabel("experimental density (g/cm³)")
    axis.set_ylabel("NPT density, 1 bar (g/cm³)")
    axis.legend(fontsize=8)
    save_figure(figure, path)


def write_liquid_report(
    records: Sequence[dict[str, Any]], out_dir: Path, command: str, preview_note: str = ""
) -> dict[str, Path]:
    """Write summary.json, summary.md and density.png to ``out_dir``."""
    from nanomlip.bench.electrolyte_common import write_json_atomically

    paths = {
        "summary": out_dir / "summary.json",
        "markdown": out_dir / "summary.md",
        "density": out_dir / "density.png",
    }
    write_json_atomically(paths["summary"], {"command": command, **headline(records)})
    paths["markdown"].write_text(markdown(records, command, preview_note))
    plot_density_parity(records, paths["density"])
    return paths
