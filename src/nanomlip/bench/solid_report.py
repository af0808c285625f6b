"""Tables and plots of ``nanomlip bench solid-electrolytes`` (they only read the records)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nanomlip.bench.electrolyte_common import mean_abs_percent, save_figure

_ROLE_STYLE = {"student": ("tab:blue", "-", "o"), "teacher": ("tab:orange", "--", "s")}


def headline(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Lattice MAE % (a, b, c) against experiment and teacher, and D ratios student/teacher."""

    def pairs(model: str, reference: str) -> list[tuple[float | None, float | None]]:
        out = []
        for record in records:
            mine, ref = record.get(model), record.get(reference)
            if mine and ref:
                out += [(mine[k], ref[k]) for k in ("a", "b", "c")]
        return out

    ratios = [
        value
        for record in records
        for value in (record.get("D_ratio_student_over_teacher") or {}).values()
        if value
    ]
    return {
        "materials": len(records),
        "lattice_mae_pct_student_vs_exp": mean_abs_percent(pairs("lattice_student", "lattice_exp")),
        "lattice_mae_pct_teacher_vs_exp": mean_abs_percent(pairs("lattice_teacher", "lattice_exp")),
        "lattice_mae_pct_student_vs_teacher": mean_abs_percent(
            pairs("lattice_student", "lattice_teacher")
        ),
        "D_ratio_geometric_mean": float(np.exp(np.mean(np.log(ratios)))) if ratios else None,
        "D_ratios": ratios,
    }


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def markdown(records: Sequence[dict[str, Any]], command: str, preview_note: str = "") -> str:
    """Markdown summary: headline figures, lattice table and diffusion table."""
    head = headline(records)
    figures = [
        ("lattice MAE (a, b, c) student vs experiment", head["lattice_mae_pct_student_vs_exp"]),
        ("lattice MAE teacher vs experiment", head["lattice_mae_pct_teacher_vs_exp"]),
        ("lattice MAE student vs teacher", head["lattice_mae_pct_student_vs_teacher"]),
    ]
    lines = [
        "# Solid electrolytes: student vs teacher vs experiment",
        "",
        *([preview_note, ""] if preview_note else []),
        f"Command: `{command}`",
        "",
        *(f"- {label}: {_fmt(value, '.2f')} %" for label, value in figures),
        f"- D(student) / D(teacher), geometric mean over {len(head['D_ratios'])} runs: "
        f"{_fmt(head['D_ratio_geometric_mean'], '.3g')}",
        "",
        "| material | a, b, c exp (Å) | student | teacher | err vs exp student / teacher (%) |",
        "|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {r['name']}{' †' if r.get('lattice_exp_to_check') else ''} "
            f"| {_abc(r['lattice_exp'])} "
            f"| {_abc(r['lattice_student'])} | {_abc(r.get('lattice_teacher'))} "
            f"| {_fmt(r['lattice_err_pct_student_vs_exp'], '.2f')} / "
            f"{_fmt(r.get('lattice_err_pct_teacher_vs_exp'), '.2f')} |"
        )
    lines += [
        "",
        "† experimental lattice constant still to be checked against the cited source. "
        "Framework Δr: the largest displacement of a non-Li atom in any run (pymatgen's "
        "max_framework_displacement); a few Å means the host lattice melted or rearranged.",
        "",
        "| material | model | D(T) (cm²/s) | Ea (eV) | D(300 K) (cm²/s) | framework Δr (Å) |",
        "|---|---|---|---|---|---|",
    ]
    for r in records:
        for role in ("student", "teacher"):
            diffusion = r.get(f"diffusion_{role}")
            if not diffusion:
                continue
            d_t = ", ".join(f"{t} K: {_fmt(d, '.2e')}" for t, d in diffusion["D_cm2_s"].items())
            ea = f"{_fmt(diffusion['Ea_eV'], '.3f')} ± {_fmt(diffusion['Ea_err_eV'], '.3f')}"
            moved = [run.get("max_framework_displacement_A") for run in diffusion["runs"]]
            moved_max = max((m for m in moved if m is not None), default=None)
            lines.append(
                f"| {r['name']} | {role} | {d_t} | {ea} | {_fmt(diffusion['D300_cm2_s'], '.2e')} "
                f"| {_fmt(moved_max, '.1f')} |"
            )
    return "\n".join(lines) + "\n"


def _abc(lattice: dict[str, float] | None) -> str:
    if not lattice:
        return "-"
    return ", ".join(f"{lattice[k]:.3f}" for k in ("a", "b", "c"))


def _grid(count: int) -> tuple[Any, np.ndarray]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(4, max(count, 1))
    rows = int(np.ceil(max(count, 1) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.8 * rows), squeeze=False)
    for axis in axes.flat[count:]:
        axis.set_visible(False)
    return figure, axes.ravel()


def plot_msd(records: Sequence[dict[str, Any]], path: Path) -> None:
    """Li MSD against lag per material, every temperature, student solid, teacher dashed."""
    figure, axes = _grid(len(records))
    for axis, record in zip(axes, records):
        for role, (_, style, _) in _ROLE_STYLE.items():
            for run in (record.get(f"diffusion_{role}") or {}).get("runs", []):
                if "msd_A2" in run:
                    axis.plot(
                        run["msd_lag_ps"],
                        run["msd_A2"],
                        style,
                        lw=1,
                        label=f"{role} {run['temperature_K']:g} K",
                    )
        axis.set_title(record["name"], fontsize=9)
        axis.set_xlabel("lag (ps)")
        axis.set_ylabel("Li MSD (Å²)")
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=5)
    save_figure(figure, path)


def plot_arrhenius(records: Sequence[dict[str, Any]], path: Path) -> None:
    """log10 D against 1000/T with the Arrhenius lines, student vs teacher, per material."""
    figure, axes = _grid(len(records))
    for axis, record in zip(axes, records):
        for role, (color, style, marker) in _ROLE_STYLE.items():
            diffusion = record.get(f"diffusion_{role}")
            if not diffusion:
                continue
            runs = [r for r in diffusion["runs"] if (r.get("D_cm2_s") or 0) > 0]
            t = np.array([r["temperature_K"] for r in runs])
            d = np.array([r["D_cm2_s"] for r in runs])
            e = np.array([r["D_err_cm2_s"] for r in runs])
            axis.errorbar(1000 / t, d, yerr=e, fmt=marker, color=color, label=role, ms=4)
            if diffusion["Ea_eV"] is not None and diffusion["D300_cm2_s"]:
                grid = np.linspace(1000 / max(t.max(), 300), 1000 / 300, 20)
                slope = -diffusion["Ea_eV"] / 8.617333262e-5 / 1000
                axis.plot(
                    grid,
                    diffusion["D300_cm2_s"] * np.exp(slope * (grid - 1000 / 300)),
                    style,
                    color=color,
                    lw=1,
                )
        axis.set_yscale("log")
        axis.set_title(record["name"], fontsize=9)
        axis.set_xlabel("1000 / T (1/K)")
        axis.set_ylabel("D (cm²/s)")
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=6)
    save_figure(figure, path)


def plot_lattice_parity(records: Sequence[dict[str, Any]], path: Path) -> None:
    """Relaxed a, b, c against experiment, student and teacher."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(4.5, 4.5))
    values = []
    for role, (color, _, marker) in _ROLE_STYLE.items():
        x, y = [], []
        for record in records:
            model = record.get(f"lattice_{role}")
            if model:
                for k in ("a", "b", "c"):
                    x.append(record["lattice_exp"][k])
                    y.append(model[k])
        if x:
            axis.scatter(x, y, color=color, marker=marker, s=18, label=role)
            values += x + y
    if values:
        low, high = min(values) * 0.97, max(values) * 1.03
        axis.plot([low, high], [low, high], "k-", lw=0.8)
        axis.set_xlim(low, high)
        axis.set_ylim(low, high)
    axis.set_xlabel("experimental a, b, c (Å)")
    axis.set_ylabel("relaxed a, b, c (Å)")
    axis.legend()
    save_figure(figure, path)


def write_solid_report(
    records: Sequence[dict[str, Any]], out_dir: Path, command: str, preview_note: str = ""
) -> dict[str, Path]:
    """Write summary.json, summary.md and the three PNGs to ``out_dir``."""
    from nanomlip.bench.electrolyte_common import write_json_atomically

    paths = {
        "summary": out_dir / "summary.json",
        "markdown": out_dir / "summary.md",
        "msd": out_dir / "msd.png",
        "arrhenius": out_dir / "arrhenius.png",
        "lattice": out_dir / "lattice_parity.png",
    }
    write_json_atomically(paths["summary"], {"command": command, **headline(records)})
    paths["markdown"].write_text(markdown(records, command, preview_note))
    plot_msd(records, paths["msd"])
    plot_arrhenius(records, paths["arrhenius"])
    plot_lattice_parity(records, paths["lattice"])
    return paths
