"""Run one benchmark point in a fresh process and read back its time and peak memory.

Each (model, structure) point runs in its own process so that its peak resident set size
(``VmHWM``, reported by the worker itself via :func:`nanomlip.bench.protocol.peak_rss_mib`)
belongs to that point alone: Python, the libraries, the model and the largest
energy+forces+stress evaluation. ``getrusage(RUSAGE_CHILDREN)`` is read as a cross-check
where the worker could not report (it is a maximum over all children waited for so far).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from nanomlip.bench.protocol import RESULT_MARKER


def worker_command() -> list[str]:
    """Command of the nanomlip worker (same interpreter as this process)."""
    return [sys.executable, "-m", "nanomlip.bench.worker"]


def children_peak_rss_mib() -> float:
    """Largest peak RSS (MiB) of any child process waited for so far."""
    max_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max_rss / 1024**2 if sys.platform == "darwin" else max_rss / 1024


def parse_result(stdout: str) -> dict[str, Any] | None:
    """The JSON result on the last marked line of a worker's stdout, if any."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    return None


def run_isolated(
    command: Sequence[str],
    request: dict[str, Any],
    timeout: float,
    threads: int | None = None,
    environment: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """Send ``request`` (JSON on stdin) to a fresh ``command`` process and return its result.

    Args:
        command: Worker command line, e.g. :func:`worker_command`.
        request: The point to measure (see :mod:`nanomlip.bench.worker`).
        timeout: Seconds before the worker is killed and the point recorded as failed.
        threads: Sets ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` of the worker when given.
        environment: Further variables of the worker (``None`` removes one), e.g. the
            allocator setting of :data:`nanomlip.bench.peers.ALLOCATOR_SETTINGS`.

    Returns:
        The worker's result dictionary; ``status`` is ``"failed"`` with a ``reason`` when the
        worker crashed, timed out or printed no result.
    """
    env = dict(os.environ)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    for name, value in (environment or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    try:
        process = subprocess.run(
            list(command),
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"status": "failed", "reason": f"failed: worker timed out after {timeout:.0f} s"}
    result = parse_result(process.stdout)
    if result is None:
        tail = " | ".join(process.stderr.strip().splitlines()[-3:])
        return {
            "status": "failed",
            "reason": f"failed: worker exited with code {process.returncode}: {tail}",
        }
    if result.get("peak_rss_mib") is None and result.get("status") == "ok":
        result["peak_rss_mib"] = children_peak_rss_mib()
    return result
