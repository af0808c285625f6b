"""Tables, plot and files (``eos.json``, ``eos.md``, ``eos.png``) of the EOS benchmark."""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from nanomlip.bench.eos import (
    OK,
    ModelSummary,
    SystemResult,
    common_systems,
    summarize,
    wien2k_reference,
)
from nanomlip.bench.models import BenchModel, jsonable


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def summary_table(summaries: Sequence[ModelSummary]) -> str:
    """Markdown summary: counts, MAREs and median Delta on the common set, time."""
    lines = [
        "| model | fitted | skipped | failed | common set | MARE V0 | MARE B0 "
        "| median Δ (meV/atom) | time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        lines.append(
            f"| {s.model} | {s.num_ok} | {s.num_skipped} | {s.num_failed} | {s.num_common} "
            f"| {_cell(s.mare_v0, '.2f')} % | {_cell(s.mare_b0, '.1f')} % "
            f"| {_cell(s.median_delta, '.2f')} | {s.seconds:.0f} s |"
        )
    return "\n".join(lines)


def element_table(results: Sequence[SystemResult], summaries: Sequence[ModelSummary]) -> str:
    """Markdown table: WIEN2k and every model side by side per element, summary last."""
    models = [s.model for s in summaries]
    by_key = {(r.system, r.model): r for r in results}
    header = "| system | WIEN2k V0 | WIEN2k B0 | WIEN2k B1 |"
    rule = "|---|---|---|---|"
    for m in models:
        header += f" {m} V0 | {m} B0 | {m} B1 | {m} Δ |"
        rule += "---|---|---|---|"
    lines = [header, rule]
    for name in dict.fromkeys(r.system for r in results):
        ref = wien2k_reference(name)
        row = f"| {name} | {ref.v0:.2f} | {ref.b0:.1f} | {ref.b1:.2f} |"
        for m in models:
            row += _model_cells(by_key.get((name, m)))
        lines.append(row)
    summary = "| **MARE / median Δ (common set)** | | | |"
    for s in summaries:
        summary += (
            f" **{_cell(s.mare_v0, '.2f')} %** | **{_cell(s.mare_b0, '.1f')} %** | "
            f"| **{_cell(s.median_delta, '.2f')}** |"
        )
    lines.append(summary)
    return "\n".join(lines)


def _model_cells(r: SystemResult | None) -> str:
    if r is None:
        return " | | | |"
    if r.status != OK:
        return f" {r.status} | | | |"
    return (
        f" {r.v0:.2f} ({100 * (r.v0_error or 0.0):+.1f}%) | {r.b0:.1f} "
        f"({100 * (r.b0_error or 0.0):+.0f}%) "
        f"| {r.b1:.2f} | {r.delta:.2f} |"
    )


def problems_list(results: Sequence[SystemResult]) -> str:
    """Markdown bullet list of skipped and failed (system, model) pairs with reasons."""
    lines = [
        f"- {r.model} / {r.system}: **{r.status}**: {r.reason}" for r in results if r.status != OK
    ]
    return "\n".join(lines) if lines else "None."


def plot_errors(results: Sequence[SystemResult], path: Path) -> None:
    """PNG of the relative V0 and B0 errors (%) per element, one marker series per model.

    Systems a model skipped or failed have no marker; the B0 axis is linear within ±10 %
    and logarithmic beyond.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = list(dict.fromkeys(r.system for r in results))
    models = list(dict.fromkeys(r.model for r in results))
    index = {name: i for i, name in enumerate(systems)}
    fig, axes = plt.subplots(2, 1, figsize=(max(8.0, 0.22 * len(systems) + 3.0), 7), sharex=True)
    markers = "osD^v<>ph*"
    for k, model in enumerate(models):
        ok = [r for r in results if r.model == model and r.status == OK]
        x = [index[r.system] for r in ok]
        for ax, key in zip(axes, ("v0_error", "b0_error")):
            y = [100.0 * getattr(r, key) for r in ok]
            ax.plot(x, y, markers[k % len(markers)], ms=4, alpha=0.8, label=model)
    for ax, label in zip(axes, ("V0 error vs WIEN2k (%)", "B0 error vs WIEN2k (%)")):
        ax.axhline(0.0, color="k", lw=0.7)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[1].set_yscale("symlog", linthresh=10.0)  # soft solids give errors of several 100 %
    axes[1].margins(y=0.1)
    axes[1].set_xticks(range(len(systems)), systems, fontsize=7, rotation=90)
    axes[0].legend(fontsize=8)
    axes[0].set_title("Equation of state of the Delta-test crystals (ase.collections.dcdft)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_eos_outputs(
    results: Sequence[SystemResult],
    models: Sequence[BenchModel],
    out: Path,
    command: str,
    points: int,
    strain: float,
) -> dict[str, Path]:
    """Write ``eos.json``, ``eos.md`` and ``eos.png`` into the folder ``out``.

    Returns:
        ``{"json": ..., "markdown": ..., "png": ...}`` paths.
    """
    import torch

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summaries = summarize(results)
    paths = {"json": out / "eos.json", "markdown": out / "eos.md", "png": out / "eos.png"}
    payload = {
        "command": command,
        "reference": "WIEN2k PBE (ase.collections.dcdft: wien2k_volume, wien2k_B, wien2k_Bp)",
        "protocol": {
            "points": points,
            "strain": strain,
            "fit": "third-order Birch-Murnaghan, linear least squares in V^(-2/3)",
            "units": {"v0": "A^3/atom", "b0": "GPa", "e0": "eV/atom", "delta": "meV/atom"},
        },
        "models": [
            {"label": m.label, "kind": m.kind, "target": m.target, **jsonable(m.info)}
            for m in models
        ],
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "common_systems": common_systems(results),
        "summary": [asdict(s) for s in summaries],
        "results": [asdict(r) for r in results],
    }
    paths["json"].write_text(json.dumps(payload, indent=1))
    paths["markdown"].write_text(_markdown(results, summaries, command, points, strain))
    plot_errors(results, paths["png"])
    return paths


def _markdown(
    results: Sequence[SystemResult],
    summaries: Sequence[ModelSummary],
    command: str,
    points: int,
    strain: float,
) -> str:
    return (
        "# Equation of state on the Delta-test crystals (ase.collections.dcdft)\n\n"
        f"Command: `{command}`\n\n"
        f"Protocol: {points} volumes within ±{100 * strain:g} % of the WIEN2k V0, cell scaled "
        "isotropically with atoms fixed in fractional coordinates, third-order "
        "Birch-Murnaghan fit. Reference: WIEN2k PBE. V0 in Å^3/atom (relative error in "
        "brackets), B0 in GPa, Δ in meV/atom. MAREs and median Δ are over the common set: "
        "the systems that every model in this run fitted.\n\n"
        f"## Summary\n\n{summary_table(summaries)}\n\n"
        f"## Per element\n\n{element_table(results, summaries)}\n\n"
        f"## Skipped and failed\n\n{problems_list(results)}\n\n"
        "![V0 and B0 errors](eos.png)\n"
    )
