"""Time per atom per MD step of nanomlip students and peer potentials, in one run.

Each "step" is what an MD step costs through the ASE calculator interface: the positions
change, then energy, forces and stress are computed (neighbour list included); see
:mod:`nanomlip.bench.protocol`. Random (untrained) student and MACE weights run at the same
speed as trained ones, since the work does not depend on the values of the weights.

The harness (:func:`run_harness`) sweeps systems (:mod:`nanomlip.bench.systems`) and sizes,
runs every (model, size) point in a fresh worker process to read its peak memory
(:mod:`nanomlip.bench.memory`), once per allocator setting (``default``: glibc as installed
for every model; ``heap``: freed memory kept in the heap for every model, see
:data:`nanomlip.bench.peers.ALLOCATOR_SETTINGS`), and skips a point whose time projected
from the previous size exceeds a budget. Tables (:func:`timing_table`, :func:`memory_table`,
:func:`ratio_table`) only compare models measured in the same run and the same allocator
setting. :func:`run_speed_benchmark` and :func:`speed_table` are the first, in-process
version, kept for their callers.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ase import Atoms
from ase.calculators.calculator import Calculator

from nanomlip.bench import protocol
from nanomlip.bench.memory import run_isolated, worker_command
from nanomlip.bench.peers import (
    LAMMPS_MISSING,
    MACE_MISSING,
    ModelSpec,
    allocator_environment,
    lammps_available,
    mace_available,
    mace_paths,
)
from nanomlip.bench.systems import (
    SYSTEM_TITLES,
    achievable_size,
    build_system,
    rattled_diamond_si,
)

__all__ = [
    "HarnessConfig",
    "PointResult",
    "SpeedResult",
    "memory_table",
    "ratio_table",
    "rattled_diamond_si",
    "run_harness",
    "run_speed_benchmark",
    "skip_reason",
    "speed_table",
    "timing_table",
    "write_harness_outputs",
]

#: Statuses of a point that did not produce a timing.
NOT_OK = ("skipped", "failed", "not measured", "not applicable")


@dataclass
class PointResult:
    """One (model, system, size) point of the harness.

    Attributes:
        model: Label of the model.
        role: ``"student"`` or ``"peer"``.
        system: ``"si"`` or ``"sio2"``.
        target_atoms: Requested size.
        num_atoms: Atoms in the structure actually built.
        status: ``ok``, ``skipped``, ``failed``, ``not measured`` or ``not applicable``.
        reason: Why the point has no timing (empty when ``ok``).
        seconds_per_step: Median wall time of one energy+forces+stress step (s).
        microseconds_per_atom_step: ``seconds_per_step / num_atoms`` in µs.
        ns_per_day: Simulated ns per day at a 1 fs time step.
        peak_rss_mib: Peak resident memory of the worker process (MiB).
        baseline_rss_mib: Peak resident memory once the model was built, before timing (MiB).
        gpu_peak_mib: Peak GPU memory allocated by torch (MiB), CUDA runs only.
        steps: Number of timed steps (LAMMPS: timed blocks).
        wall_s: Wall time of the whole point, process start-up included (s).
        notes: Backend remarks (precision, cuEquivariance, LAMMPS settings).
        allocator: Allocator setting of the worker (``default`` or ``heap``).
    """

    model: str
    role: str
    system: str
    target_atoms: int
    num_atoms: int
    status: str
    reason: str = ""
    seconds_per_step: float | None = None
    microseconds_per_atom_step: float | None = None
    ns_per_day: float | None = None
    peak_rss_mib: float | None = None
    baseline_rss_mib: float | None = None
    gpu_peak_mib: float | None = None
    steps: int = 0
    wall_s: float | None = None
    notes: list[str] = field(default_factory=list)
    allocator: str = "heap"

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class HarnessConfig:
    """Settings of one harness run.

    Attributes:
        systems: Benchmark systems (``"si"``, ``"sio2"``).
        sizes: Target atom counts; each system builds the nearest count it can.
        steps: Timed steps per point (LAMMPS: timed blocks of ``lammps_block`` steps).
        warmup: Untimed steps first.
        threads: Torch / OpenMP threads of each worker.
        device: Torch device of the machine-learned models (``"cpu"``, ``"cuda"``).
        max_seconds_per_point: Skip a point whose projected timing time exceeds this (s).
        isolate: Run each point in a fresh process (needed for per-point peak memory).
        lammps_block: MD steps per timed LAMMPS block.
        seed: Seed of the structures.
        mace_root: Folder holding ``.venv-mace`` and ``benchmarks/peers`` (default: auto).
        max_memory_mib: Skip a point whose projected peak memory exceeds this (MiB); default
            80 % of the machine's physical memory.
        allocators: Allocator settings to measure every point in (``default``, ``heap``);
            in-process runs (``isolate=False``) cannot change it and record ``heap``.
    """

    systems: tuple[str, ...] = ("si", "sio2")
    sizes: tuple[int, ...] = (64, 512, 1728)
    steps: int = 3
    warmup: int = 1
    threads: int = 2
    device: str = "cpu"
    max_seconds_per_point: float = 120.0
    isolate: bool = True
    lammps_block: int = 10
    seed: int = 0
    mace_root: Path | None = None
    max_memory_mib: float | None = None
    allocators: tuple[str, ...] = ("default", "heap")

    def memory_limit_mib(self) -> float:
        """Projected peak memory (MiB) above which a point is skipped."""
        if self.max_memory_mib is not None:
            return self.max_memory_mib
        return 0.8 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**2

    @property
    def point_timeout(self) -> float:
        """Seconds after which a worker is killed (start-up and model loading included)."""
        return max(300.0, 5 * self.max_seconds_per_point)


def projected_seconds(previous: PointResult, num_atoms: int, steps: int, warmup: int) -> float:
    """Time (s) the timed part of a point at ``num_atoms`` should take, scaled linearly."""
    if previous.seconds_per_step is None:
        raise ValueError("projection needs a measured previous point")
    per_step = previous.seconds_per_step * num_atoms / previous.num_atoms
    return per_step * (steps + warmup)


def projected_peak_mib(previous: PointResult, num_atoms: int) -> float | None:
    """Peak memory (MiB) at ``num_atoms``: the baseline plus the previous growth, scaled."""
    if previous.peak_rss_mib is None or previous.baseline_rss_mib is None:
        return None
    growth = max(previous.peak_rss_mib - previous.baseline_rss_mib, 0.0)
    return previous.baseline_rss_mib + growth * num_atoms / previous.num_atoms


def skip_reason(
    previous: PointResult | None,
    num_atoms: int,
    config: HarnessConfig,
    steps_per_timing: int = 1,
) -> str | None:
    """Why the point at ``num_atoms`` should not run, given the previous size of the model.

    Args:
        previous: Result of the same model and system at the previous size (None: first size).
        num_atoms: Size of the point to decide on.
        config: Gives the budget, steps and warm-up.
        steps_per_timing: MD steps in one timed unit (LAMMPS blocks), 1 otherwise.

    Returns:
        ``None`` to run the point, else a reason starting with ``"skipped: "``.
    """
    if previous is None:
        return None
    if previous.status == "skipped":
        return previous.reason
    if not previous.ok:
        return f"skipped: {previous.status} at {previous.num_atoms} atoms"
    seconds = steps_per_timing * projected_seconds(previous, num_atoms, config.steps, config.warmup)
    if seconds > config.max_seconds_per_point:
        return (
            f"skipped: projected time > budget "
            f"({seconds:,.0f} s > {config.max_seconds_per_point:,.0f} s)"
        )
    memory = projected_peak_mib(previous, num_atoms)
    if memory is not None and memory > config.memory_limit_mib():
        return (
            f"skipped: projected memory > limit "
            f"({memory:,.0f} MiB > {config.memory_limit_mib():,.0f} MiB)"
        )
    return None


def _structure_file(
    cache: dict[tuple[str, int], tuple[Atoms, Path]],
    folder: Path,
    system: str,
    target: int,
    seed: int,
) -> tuple[Atoms, Path]:
    """Build (once) the structure of ``system`` near ``target`` atoms and its extxyz file."""
    key = (system, target)
    if key not in cache:
        from ase.io import write

        atoms = build_system(system, target, seed=seed)
        path = folder / f"{system}_{len(atoms)}.extxyz"
        write(path, atoms, format="extxyz")
        cache[key] = (atoms, path)
    return cache[key]


def measure_point(
    spec: ModelSpec,
    atoms: Atoms,
    structure: Path,
    config: HarnessConfig,
    allocator: str = "heap",
) -> dict[str, Any]:
    """Measure one point: in a fresh process (default, MACE always) or in this one.

    A fresh process runs in the environment of ``allocator`` (see
    :func:`nanomlip.bench.peers.allocator_environment`).
    """
    environment = allocator_environment(allocator)
    request = {
        "spec": spec.to_dict(),
        "structure": str(structure),
        "steps": config.steps,
        "warmup": config.warmup,
        "threads": config.threads,
        "device": config.device,
        "lammps_block": config.lammps_block,
    }
    if spec.kind == "mace":
        python, script = mace_paths(config.mace_root)
        request["protocol"] = str(Path(protocol.__file__).resolve())
        command = [str(python), str(script)]
        return run_isolated(command, request, config.point_timeout, config.threads, environment)
    if config.isolate and spec.kind != "callable":
        return run_isolated(
            worker_command(), request, config.point_timeout, config.threads, environment
        )
    from nanomlip.bench.worker import run_point

    try:
        result = run_point(
            spec,
            atoms,
            config.steps,
            config.warmup,
            config.threads,
            config.device,
            config.lammps_block,
        )
    except Exception as error:  # noqa: BLE001 - a failing model becomes a recorded point
        return {"status": "failed", "reason": f"failed: {type(error).__name__}: {error}"}
    result["notes"] = [*result.get("notes", []), "in-process: peak RSS is the whole run's"]
    return result


def _unmeasured(spec: ModelSpec, system: str, config: HarnessConfig) -> str | None:
    if system not in spec.systems:
        return f"not applicable: {spec.label} has no parameters for {system}"
    if spec.kind == "mace" and not mace_available(config.mace_root):
        return MACE_MISSING
    if spec.kind == "lammps" and not lammps_available():
        return LAMMPS_MISSING
    return None


def run_harness(
    models: Sequence[ModelSpec],
    config: HarnessConfig,
    log: Callable[[str], None] = print,
) -> list[PointResult]:
    """Measure every model on every system and size, skipping points over budget.

    Args:
        models: Students and peers, in table order.
        config: Systems, sizes, steps, threads, device, budget.
        log: Where one progress line per point goes.

    Returns:
        One :class:`PointResult` per (system, model, size), measured or not.
    """
    results: list[PointResult] = []
    cache: dict[tuple[str, int], tuple[Atoms, Path]] = {}
    settings = config.allocators if config.isolate else ("heap",)
    with tempfile.TemporaryDirectory(prefix="nanomlip-speed-") as tmp:
        for allocator in settings:
            for system in config.systems:
                for spec in models:
                    previous: PointResult | None = None
                    for target in config.sizes:
                        result = _run_one(
                            spec, system, target, previous, config, cache, Path(tmp), allocator
                        )
                        log(_progress_line(result))
                        results.append(result)
                        if result.status in ("ok", "skipped", "failed"):
                            previous = result
    return results


def with_allocator(results: Sequence[PointResult], allocator: str) -> list[PointResult]:
    """The points of ``results`` measured in allocator setting ``allocator``."""
    return [r for r in results if r.allocator == allocator]


def _run_one(
    spec: ModelSpec,
    system: str,
    target: int,
    previous: PointResult | None,
    config: HarnessConfig,
    cache: dict[tuple[str, int], tuple[Atoms, Path]],
    folder: Path,
    allocator: str = "heap",
) -> PointResult:
    num_atoms = achievable_size(system, target)
    base = {
        "model": spec.label,
        "role": spec.role,
        "system": system,
        "target_atoms": target,
        "allocator": allocator,
    }
    reason = _unmeasured(spec, system, config)
    if reason:
        return PointResult(**base, num_atoms=num_atoms, status=reason.split(":")[0], reason=reason)
    block = config.lammps_block if spec.kind == "lammps" else 1
    reason = skip_reason(previous, num_atoms, config, steps_per_timing=block)
    if reason:
        return PointResult(**base, num_atoms=num_atoms, status="skipped", reason=reason)
    atoms, path = _structure_file(cache, folder, system, target, config.seed)
    start = time.perf_counter()
    measured = measure_point(spec, atoms, path, config, allocator)
    wall = time.perf_counter() - start
    if measured.get("status") != "ok":
        reason = measured.get("reason", "failed")
        return PointResult(
            **base, num_atoms=len(atoms), status="failed", reason=reason, wall_s=wall
        )
    values = {key: measured.get(key) for key in _MEASURED_KEYS}
    values["notes"] = list(values["notes"] or [])
    return PointResult(**base, num_atoms=len(atoms), status="ok", wall_s=wall, **values)


_MEASURED_KEYS = (
    "seconds_per_step",
    "microseconds_per_atom_step",
    "ns_per_day",
    "peak_rss_mib",
    "baseline_rss_mib",
    "gpu_peak_mib",
    "steps",
    "notes",
)


def _progress_line(result: PointResult) -> str:
    head = (
        f"{result.allocator:>7s} {result.system:>5s} {result.model:>18s} "
        f"{result.num_atoms:7d} atoms"
    )
    if not result.ok:
        return f"{head}  {result.reason}"
    return (
        f"{head} {result.microseconds_per_atom_step:10.2f} µs/atom/step "
        f"{result.ns_per_day:9.3f} ns/day {result.peak_rss_mib:8.0f} MiB"
    )


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
    if result.baseline_rss_mib is not None:
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
                if mine is None or theirs is None or not (mine.ok and theirs.ok):
                    cells.append("-")
                    continue
                cells.append(format_ratio(theirs.seconds_per_step / mine.seconds_per_step))
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


# --- First version (in-process, diamond Si only); kept for its callers. ---


@dataclass
class SpeedResult:
    """One (model, system size) measurement of :func:`run_speed_benchmark`."""

    model: str
    system: str
    num_atoms: int
    seconds_per_step: float
    microseconds_per_atom_step: float
    steps: int


def time_steps(calculator: Calculator, atoms: Atoms, steps: int = 3, warmup: int = 1) -> float:
    """Median wall time (s) of one energy+forces+stress evaluation after small moves."""
    return float(np.median(protocol.time_steps(calculator, atoms, steps=steps, warmup=warmup)))


def student_factory(preset: str) -> Callable[[], Calculator]:
    """Factory of an untrained student calculator (float32) for ``preset``."""

    def make() -> Calculator:
        from nanomlip.integrations.ase_calculator import NanoCalculator
        from nanomlip.models import build_model

        return NanoCalculator(model=build_model(preset), dtype="float32")

    return make


def sevennet_factory(name: str, device: str = "cpu") -> Callable[[], Calculator]:
    """Factory of a SevenNet calculator (cuEquivariance on CUDA when available)."""

    def make() -> Calculator:
        from nanomlip.bench.peers import _sevennet_calculator

        return _sevennet_calculator(name, device)[0]

    return make


def run_speed_benchmark(
    models: dict[str, Callable[[], Calculator]],
    repeats: Sequence[int] = (2, 4, 6),
    steps: int = 3,
    threads: int = 2,
    log: Callable[[str], None] = print,
) -> list[SpeedResult]:
    """Measure every model on every diamond Si size in this one process.

    Args:
        models: ``label -> factory`` returning an ASE calculator.
        repeats: Cubic repeats of the 8-atom diamond Si cell (2, 4, 6 -> 64, 512, 1728 atoms).
        steps: Timed steps per measurement (after one warm-up step).
        threads: ``torch.set_num_threads`` for the whole run.
        log: Where progress lines go.
    """
    torch.set_num_threads(threads)
    results = []
    for label, factory in models.items():
        calculator = factory()
        for repeat in repeats:
            atoms = rattled_diamond_si(repeat)
            seconds = time_steps(calculator, atoms, steps=steps)
            result = SpeedResult(
                model=label,
                system="rattled diamond Si",
                num_atoms=len(atoms),
                seconds_per_step=seconds,
                microseconds_per_atom_step=seconds / len(atoms) * 1e6,
                steps=steps,
            )
            per_atom = result.microseconds_per_atom_step
            log(f"{label:>14s} {len(atoms):6d} atoms {per_atom:10.1f} µs/atom/step")
            results.append(result)
    return results


def speed_table(results: Sequence[SpeedResult], reference: str | None) -> str:
    """Markdown table of µs/atom/step, with the speed-up over ``reference`` where measured."""
    sizes = sorted({r.num_atoms for r in results})
    by_key = {(r.model, r.num_atoms): r.microseconds_per_atom_step for r in results}
    labels = list(dict.fromkeys(r.model for r in results))
    header = "| model | " + " | ".join(f"{n} atoms" for n in sizes) + " |"
    lines = [header, "|---" * (len(sizes) + 1) + "|"]
    for label in labels:
        cells = []
        for n in sizes:
            value = by_key.get((label, n))
            if value is None:
                cells.append("-")
                continue
            text = f"{value:,.1f} µs"
            ref = by_key.get((reference, n)) if reference else None
            if ref and label != reference:
                text += f" ({ref / value:,.0f}x)"
            cells.append(text)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(results: Sequence[SpeedResult], path: Path, command: str, threads: int) -> None:
    """Save :func:`run_speed_benchmark` results with the machine and the command."""
    payload = {
        "command": command,
        "threads": threads,
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "note": "student weights are untrained; speed does not depend on weight values",
        "results": [asdict(r) for r in results],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2))
