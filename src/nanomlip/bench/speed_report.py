"""Tables, plot and Markdown report of a speed harness run (:mod:`nanomlip.bench.speed`).

Every table compares only models measured in the same run and the same allocator setting.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from nanomlip.bench.models import ModelSpec
from nanomlip.bench.speed import HarnessConfig, PointResult, with_allocator
from nanomlip.bench.systems import SYSTEM_TITLES

__all__ = [
    "format_ratio",
    "markdown_report",
    "memory_table",
    "plot_scaling",
    "ratio_table",
    "timing_table",
    "write_harness_outputs",
]


def _sizes(results: Sequence[PointResult], system: str) -> list[int]:
    return sorted({r.num_atoms for r in results if r.system == system})


def _labels(results: Sequence[PointResult], system: str, role: str | None = None) -> list[str]:
    rows = (r for r in results if r.system == system and (role is None or r.role == role))
    return list(dict.fromkeys(r.model for r in rows))


def _index(results: Sequence[PointResult], system: str) -> dict[tuple[str, int], PointResult]:
    return {(r.model, r.num_atoms): r for r in results if r.system == system}


def _short_status(result: PointResult | None) -> str:
    if result is None:
        return "-"
    if result.status == "skipped":
        return "skipped (memory)" if "memory" in result.reason else "skipped (time)"
    return {"not applicable": "n/a"}.get(result.status, result.status)


def _table(results: Sequence[PointResult], system: str, cell: Callable[[PointResult], str]) -> str:
    sizes = _sizes(results, system)
    index = _index(results, system)
    lines = [
        "| model | " + " | ".join(f"{n:,} atoms" for n in sizes) + " |",
        "|---" * (len(sizes) + 1) + "|",
    ]
    for label in _labels(results, system):
        cells = []
        for n in sizes:
            result = index.get((label, n))
            cells.append(
                cell(result) if result is not None and result.ok else _short_status(result)
            )
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def timing_table(results: Sequence[PointResult], system: str) -> str:
    """Markdown table of µs/atom/step and ns/day (1 fs) per model and size of ``system``."""
    return _table(
        results,
        system,
        lambda r: f"{r.microseconds_per_atom_step:,.2f} µs ({_format_ns(r.ns_per_day)} ns/day)",
    )


def memory_table(results: Sequence[PointResult], system: str) -> str:
    """Markdown table of peak resident memory (MiB) per point of ``system``.

    In brackets: the growth over the process once the model was built (the structure's share);
    on CUDA also the peak GPU memory allocated by torch.
    """
    return _table(results, system, _memory_cell)


#: What each allocator setting means, for the report.
ALLOCATOR_TITLES = {
    "default": "allocator as installed (glibc default) for every model, the student's "
    "heap mode off (`NANOMLIP_HEAP_ALLOCATOR=0`)",
    "heap": "freed memory kept in the heap for every model (`GLIBC_TUNABLES="
    "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=SIZE_MAX`; the student's own "
    "setting)",
}


def _allocator_section(results: Sequence[PointResult], system: str, setting: str) -> list[str]:
    title = ALLOCATOR_TITLES.get(setting, setting)
    return [
        f"### Allocator `{setting}`: {title}",
        "",
        "Time per atom per step (ns/day at 1 fs):",
        "",
        timing_table(results, system),
        "",
        "Peak resident memory of the point's process, MiB (in brackets: growth once the "
        "model was built, i.e. the structure's share):",
        "",
        memory_table(results, system),
        "",
        f"Speed-up of each student over each peer (same run, same size, all `{setting}`):",
        "",
        ratio_table(results, system),
        "",
    ]


def _memory_cell(result: PointResult) -> str:
    text = f"{result.peak_rss_mib:,.0f}"
    if result.baseline_rss_mib is not None and result.peak_rss_mib is not None:
        text += f" (+{max(result.peak_rss_mib - result.baseline_rss_mib, 0):,.0f})"
    if result.gpu_peak_mib is not None:
        text += f", GPU {result.gpu_peak_mib:,.0f}"
    return text


def _format_ns(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.3g}" if value < 100 else f"{value:,.0f}"


def format_ratio(ratio: float) -> str:
    """``123x``, ``4.5x`` or, below 1 (the peer is faster), two significant digits."""
    if ratio >= 10:
        return f"{ratio:,.0f}x"
    return f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2g}x"


def ratio_table(
    results: Sequence[PointResult],
    system: str,
    peer_results: Sequence[PointResult] | None = None,
) -> str:
    """Markdown table of the speed-up of each student over each peer, per size of ``system``.

    A cell holds ``peer time / student time`` only where both were measured in this run;
    peers with no measured point on ``system`` (e.g. Tersoff on SiO2) get no row.

    Args:
        results: Points of one allocator setting (see :func:`with_allocator`).
        system: ``"si"`` or ``"sio2"``.
        peer_results: Take the peers' times from these points instead (e.g. the student tuned
            against the peers as installed); default: ``results`` (like for like).
    """
    peer_results = results if peer_results is None else peer_results
    sizes = _sizes([*results, *peer_results], system)
    mine_index, peer_index = _index(results, system), _index(peer_results, system)
    lines = [
        "| student vs peer | " + " | ".join(f"{n:,} atoms" for n in sizes) + " |",
        "|---" * (len(sizes) + 1) + "|",
    ]
    peers = [
        label
        for label in _labels(peer_results, system, "peer")
        if any(r.ok for (model, _), r in peer_index.items() if model == label)
    ]
    for student in _labels(results, system, "student"):
        for peer in peers:
            cells = []
            for n in sizes:
                mine, theirs = mine_index.get((student, n)), peer_index.get((peer, n))
                mine_s = mine.seconds_per_step if mine is not None and mine.ok else None
                theirs_s = theirs.seconds_per_step if theirs is not None and theirs.ok else None
                if mine_s is None or theirs_s is None:
                    cells.append("-")
                    continue
                cells.append(format_ratio(theirs_s / mine_s))
            lines.append(f"| {student} / {peer} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_scaling(results: Sequence[PointResult], path: Path, systems: Sequence[str]) -> None:
    """Log-log plot of µs/atom/step against atoms: one panel per system, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(systems), figsize=(5.5 * len(systems), 4.5), squeeze=False)
    for axis, system in zip(axes[0], systems):
        for label in _labels(results, system):
            points = [r for r in results if r.system == system and r.model == label and r.ok]
            if not points:
                continue
            role = points[0].role
            axis.plot(
                [r.num_atoms for r in points],
                [r.microseconds_per_atom_step for r in points],
                marker="o" if role == "student" else "s",
                linestyle="-" if role == "student" else "--",
                label=label,
            )
        axis.set(xscale="log", yscale="log", xlabel="atoms", title=SYSTEM_TITLES[system])
        axis.set_ylabel("time per atom per MD step (µs)")
        axis.grid(True, which="both", alpha=0.3)
        if axis.lines:
            axis.legend(fontsize=8, loc="best", ncol=2)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def machine_description(device: str) -> dict[str, Any]:
    """CPU, core count, torch version and GPU name (when ``device`` is CUDA)."""
    info: dict[str, Any] = {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def write_harness_outputs(
    results: Sequence[PointResult],
    models: Sequence[ModelSpec],
    config: HarnessConfig,
    out: Path,
    command: str,
) -> dict[str, Path]:
    """Write ``out`` (JSON), and beside it the Markdown report and the PNG plot."""
    paths = {"json": out, "md": out.with_suffix(".md"), "png": out.with_suffix(".png")}
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "command": command,
        "machine": machine_description(config.device),
        "config": {**asdict(config), "mace_root": str(config.mace_root or "")},
        "note": "student and MACE weights are untrained; speed does not depend on weight values",
        "systems": {
            "si": "diamond Si, a = 5.43 Å, near-cubic repeats of the 8-atom cell, "
            "rattled σ = 0.05 Å",
            "sio2": "random packing at 2.2 g/cm³, cubic box, Si-O >= 1.5, O-O >= 2.2, "
            "Si-Si >= 2.8 Å (nanomlip.bench.systems.amorphous_sio2)",
        },
        "models": [m.to_dict() for m in models],
        "results": [asdict(r) for r in results],
    }
    paths["json"].write_text(json.dumps(payload, indent=2))
    settings = [r.allocator for r in results]
    plotted = "heap" if "heap" in settings else (settings[0] if settings else "heap")
    plot_scaling(with_allocator(results, plotted), paths["png"], config.systems)
    paths["md"].write_text(markdown_report(results, models, config, command, paths["png"].name))
    return paths


def markdown_report(
    results: Sequence[PointResult],
    models: Sequence[ModelSpec],
    config: HarnessConfig,
    command: str,
    png_name: str,
) -> str:
    """The Markdown report: protocol, models, then per system timings, memory and speed-ups."""
    machine = machine_description(config.device)
    notes = sorted({note for r in results for note in r.notes})
    lines = [
        "# Speed: time per atom per MD step",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {machine['cpu']}, {machine['cpu_count']} cores"
        + (f", GPU {machine['gpu']}" if "gpu" in machine else "")
        + f"; device `{config.device}`, {config.threads} threads; torch {machine['torch']}.",
        "",
        "Protocol: each step moves every atom by ~1 mÅ, then computes energy + forces + stress "
        "through the ASE calculator (neighbour list included); median of "
        f"{config.steps} steps after {config.warmup} warm-up, each (model, size) in a fresh "
        "process whose peak resident memory (VmHWM) is reported. ns/day assumes a 1 fs step. "
        f"A point is skipped when its time projected from the previous size exceeds "
        f"{config.max_seconds_per_point:g} s. Every ratio compares models measured in this run. "
        "Student and MACE weights are random (untrained): speed does not depend on the values "
        "of the weights. Every point is measured once per allocator setting "
        f"({', '.join(f'`{a}`' for a in config.allocators)}), the same for every model in a "
        "table; the plot shows `heap` (like for like).",
        "",
        "Systems: rattled diamond Si (a = 5.43 Å, σ = 0.05 Å, near-cubic repeats) and amorphous "
        "SiO2 at 2.2 g/cm³ (random packing in a cube with Si-O ≥ 1.5, O-O ≥ 2.2, Si-Si ≥ 2.8 Å, "
        f"seed {config.seed}; see `nanomlip.bench.systems`).",
        "",
        "Models:",
        "",
        *[f"- `{m.label}` ({m.role}): {m.description or m.kind}" for m in models],
        "",
    ]
    if notes:
        lines += ["Backend notes: " + "; ".join(notes) + ".", ""]
    lines += [f"![time per atom per step]({png_name})", ""]
    settings = list(dict.fromkeys(r.allocator for r in results))
    for system in config.systems:
        lines += [f"## {SYSTEM_TITLES[system]}", ""]
        for setting in settings:
            lines += _allocator_section(with_allocator(results, setting), system, setting)
        if {"default", "heap"} <= set(settings):
            lines += [
                "Speed-up of the student as shipped (heap) over the peers as installed "
                "(default): the comparison before like-for-like runs, for reference only:",
                "",
                ratio_table(
                    with_allocator(results, "heap"), system, with_allocator(results, "default")
                ),
                "",
            ]
    reasons = sorted({r.reason for r in results if not r.ok})
    if reasons:
        lines += ["Points without a timing:", "", *[f"- {reason}" for reason in reasons], ""]
    return "\n".join(lines)
