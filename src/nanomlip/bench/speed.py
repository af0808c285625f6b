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
from the previous size exceeds a budget. The tables and the report
(:mod:`nanomlip.bench.speed_report`) only compare models measured in the same run and the
same allocator setting.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ase import Atoms

from nanomlip.bench import protocol
from nanomlip.bench.memory import run_isolated, worker_command
from nanomlip.bench.models import ModelSpec
from nanomlip.bench.peers import (
    LAMMPS_MISSING,
    MACE_MISSING,
    allocator_environment,
    lammps_available,
    mace_available,
    mace_paths,
)
from nanomlip.bench.systems import (
    achievable_size,
    build_system,
    rattled_diamond_si,
)

__all__ = [
    "HarnessConfig",
    "PointResult",
    "rattled_diamond_si",
    "run_harness",
    "skip_reason",
    "with_allocator",
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

    def point(num_atoms: int, status: str, **values: Any) -> PointResult:
        return PointResult(
            model=spec.label,
            role=spec.role,
            system=system,
            target_atoms=target,
            num_atoms=num_atoms,
            status=status,
            allocator=allocator,
            **values,
        )

    reason = _unmeasured(spec, system, config)
    if reason:
        return point(num_atoms, reason.split(":")[0], reason=reason)
    block = config.lammps_block if spec.kind == "lammps" else 1
    reason = skip_reason(previous, num_atoms, config, steps_per_timing=block)
    if reason:
        return point(num_atoms, "skipped", reason=reason)
    atoms, path = _structure_file(cache, folder, system, target, config.seed)
    start = time.perf_counter()
    measured = measure_point(spec, atoms, path, config, allocator)
    wall = time.perf_counter() - start
    if measured.get("status") != "ok":
        return point(len(atoms), "failed", reason=measured.get("reason", "failed"), wall_s=wall)
    values = {key: measured.get(key) for key in _MEASURED_KEYS}
    values["notes"] = list(values["notes"] or [])
    return point(len(atoms), "ok", wall_s=wall, **values)


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
