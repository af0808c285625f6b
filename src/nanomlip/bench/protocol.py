"""The timing protocol shared by every model in the speed benchmark.

This module imports only the standard library, NumPy and ASE, so that runners living in other
virtual environments (``benchmarks/peers/mace_speed.py``) can load it by file path and time
their model exactly as nanomlip times its own.

Protocol for one (model, structure) point: attach the ASE calculator; ``warmup`` times, then
``steps`` times: move every atom by a small Gaussian displacement (σ = 1 mÅ, as an MD step
would), then ask for energy, forces and stress (neighbour list included). The reported time is
the median of the ``steps`` timed evaluations. Peak memory is the resident set size high-water
mark of the process that ran the point (``VmHWM``), so each point should run in a fresh
process.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

#: Seconds in a day.
SECONDS_PER_DAY = 86400.0
#: Standard deviation of the per-step displacement (Å).
STEP_DISPLACEMENT = 1e-3


def time_steps(
    calculator: Any, atoms: Atoms, steps: int = 3, warmup: int = 1, seed: int = 0
) -> list[float]:
    """Wall times (s) of ``steps`` energy+forces+stress evaluations after ``warmup`` ones.

    Args:
        calculator: An ASE calculator.
        atoms: The structure; it is copied, not modified.
        steps: Number of timed evaluations (>= 1).
        warmup: Number of untimed evaluations first (compilation, caches, allocator).
        seed: Seed of the small random displacements applied before each evaluation.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    atoms = atoms.copy()
    atoms.calc = calculator
    rng = np.random.default_rng(seed)
    timings = []
    for step in range(warmup + steps):
        atoms.positions += rng.normal(scale=STEP_DISPLACEMENT, size=atoms.positions.shape)
        start = time.perf_counter()
        atoms.get_potential_energy()
        atoms.get_forces()
        atoms.get_stress()
        if step >= warmup:
            timings.append(time.perf_counter() - start)
    return timings


def ns_per_day(seconds_per_step: float, timestep_fs: float = 1.0) -> float:
    """Simulated nanoseconds per day of wall time at ``timestep_fs`` femtoseconds per step."""
    return SECONDS_PER_DAY / seconds_per_step * timestep_fs * 1e-6


def peak_rss_mib() -> float:
    """Resident set size high-water mark of this process (MiB), from ``/proc`` or ``getrusage``."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max_rss / 1024**2 if sys.platform == "darwin" else max_rss / 1024  # bytes on macOS


def point_result(timings: list[float], num_atoms: int, baseline_rss_mib: float) -> dict[str, Any]:
    """The JSON-ready record of one measured point."""
    seconds = float(np.median(timings))
    return {
        "status": "ok",
        "num_atoms": num_atoms,
        "seconds_per_step": seconds,
        "microseconds_per_atom_step": seconds / num_atoms * 1e6,
        "ns_per_day": ns_per_day(seconds),
        "steps": len(timings),
        "timings_s": [float(t) for t in timings],
        "baseline_rss_mib": baseline_rss_mib,
        "peak_rss_mib": peak_rss_mib(),
    }


#: Prefix of the one stdout line on which a worker process prints its JSON result.
RESULT_MARKER = "NANOMLIP_SPEED_RESULT "


def serve(run: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Worker main loop: read a JSON request on stdin, run it, print the marked JSON result.

    A failure is reported as ``{"status": "failed", "reason": ...}`` rather than a traceback
    only, so the harness can record it and move on.
    """
    request = json.loads(sys.stdin.read())
    try:
        result = run(request)
    except Exception as error:  # noqa: BLE001 - any failure of a model becomes a recorded point
        result = {"status": "failed", "reason": f"failed: {type(error).__name__}: {error}"}
    print(RESULT_MARKER + json.dumps(result), flush=True)
