"""Worker process of the speed benchmark: ``python -m nanomlip.bench.worker < request.json``.

The request is a JSON object with ``spec`` (a :class:`~nanomlip.bench.models.ModelSpec` as a
dict), ``structure`` (path of an extended-XYZ file), ``steps``, ``warmup``, ``threads``,
``device`` and ``lammps_block``. The result is printed as one line starting with
:data:`~nanomlip.bench.protocol.RESULT_MARKER`.
"""

from __future__ import annotations

from typing import Any, cast

from ase import Atoms

from nanomlip.bench.models import ModelSpec, calculator_for
from nanomlip.bench.peers import check_elements, time_lammps
from nanomlip.bench.protocol import peak_rss_mib, point_result, serve, time_steps


def run_point(
    spec: ModelSpec,
    atoms: Atoms,
    steps: int,
    warmup: int,
    threads: int,
    device: str = "cpu",
    lammps_block: int = 10,
) -> dict[str, Any]:
    """Measure ``spec`` on ``atoms`` in this process (see :mod:`nanomlip.bench.protocol`)."""
    import torch

    torch.set_num_threads(threads)
    if spec.kind == "lammps":
        check_elements(spec, atoms)
        baseline = peak_rss_mib()
        timings = time_lammps(spec.target, atoms, steps, warmup, threads, block=lammps_block)
        notes = [f"LAMMPS run {lammps_block} per timed block, NVE 1 fs, {threads} OpenMP threads"]
    else:
        calculator, notes = calculator_for(spec, device)
        baseline = peak_rss_mib()
        timings = time_steps(calculator, atoms, steps=steps, warmup=warmup)
    result = point_result(timings, len(atoms), baseline)
    result["notes"] = notes
    if device.startswith("cuda") and torch.cuda.is_available():
        result["gpu_peak_mib"] = torch.cuda.max_memory_allocated() / 1024**2
    return result


def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Run one request read from stdin."""
    from ase.io import read

    return run_point(
        ModelSpec.from_dict(request["spec"]),
        cast(Atoms, read(request["structure"])),
        steps=int(request["steps"]),
        warmup=int(request["warmup"]),
        threads=int(request["threads"]),
        device=str(request.get("device", "cpu")),
        lammps_block=int(request.get("lammps_block", 10)),
    )


if __name__ == "__main__":
    serve(handle)
