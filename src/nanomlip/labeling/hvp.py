r"""Teacher Hessian-vector products for a labelled dataset (the trainer's ``hvp`` term).

Forces pin down the first derivatives of the teacher's energy; a Hessian-vector
product :math:`Hv` adds second-derivative information (phonons, elastic response) at
the cost of two more teacher force calls per frame, whatever the teacher:

.. math:: (Hv)_{ia} \approx -\frac{F_{ia}(x + h v) - F_{ia}(x - h v)}{2h}

:func:`label_hessian_vector_products` copies a dataset chunk by chunk and adds, for a
random ``fraction`` of its frames, a Gaussian direction ``hvp_vector`` (N, 3) (unit
variance per component, so each atom moves by about ``h`` Å) and the teacher's ``hvp``
(N, 3), eV/Å²; the other frames carry NaN, which the trainer masks. The student's term
(``student_hvp`` in the trainer's losses) uses the same central difference, so
with the trainer's ``hvp_step`` equal to ``h`` both sides approximate :math:`Hv`
identically. Chunks are written atomically: the job can be killed and rerun.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nanomlip._progress import RateMeter
from nanomlip.data.store import (
    MANIFEST,
    DatasetError,
    chunk_path,
    existing_chunks,
    frame_structure,
    load_chunk,
    read_manifest,
    remove_stale_temporaries,
    write_chunk,
    write_manifest,
)
from nanomlip.labeling.executor import progress_bar, run_chunk_jobs
from nanomlip.labeling.workers import cached_teacher


@dataclass
class HvpReport:
    """What one call did: chunks written, frames given an ``hvp`` label, wall time (s)."""

    chunks: int
    frames: int
    seconds: float
    workers: int
    reused_chunks: int = 0
    steady_chunks_per_second: float = math.nan


def label_hessian_vector_products(
    source: str | os.PathLike,
    out: str | os.PathLike,
    fraction: float = 0.25,
    step: float = 0.01,
    seed: int = 0,
    workers: int = 1,
    max_chunks: int | None = None,
    progress: bool = True,
) -> HvpReport:
    """Write ``out``: the frames of ``source`` plus teacher HVPs for some of them.

    Args:
        source: Labelled dataset folder (its teacher makes the HVPs: one teacher, one
            task, as for every other label).
        out: New dataset folder (created; resumed when it holds the same job).
        fraction: Share of frames that get an HVP, chosen by a hash of (seed, frame
            index), so a rerun or a larger source picks the same frames.
        step: Finite-difference step ``h``, Å per unit of the direction.
        seed: Seed of the frame choice and of the directions.
        workers: Parallel worker processes.
        max_chunks: Write at most this many chunks (tests, benchmarks).
        progress: Show a progress bar over chunks.

    Raises:
        DatasetError: ``out`` holds another job, or ``source`` is not a dataset.
        ValueError: Out-of-range ``fraction``, ``step`` or ``workers``.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if not step > 0.0:
        raise ValueError(f"step must be positive (Å), got {step}")
    if workers < 1:
        raise ValueError("workers must be at least 1")
    source, out = Path(source), Path(out)
    manifest = read_manifest(source)
    job = {"source": source.name, "fraction": fraction, "step_A": step, "seed": seed}
    _prepare(out, manifest, job)
    remove_stale_temporaries(out)
    done = set(existing_chunks(out))
    todo = [k for k in existing_chunks(source) if k not in done]
    if max_chunks is not None:
        todo = todo[:max_chunks]
    bar = progress_bar(len(todo), progress, unit="chunk", desc="teacher HVPs")
    totals = {"frames": 0}
    meter = RateMeter()

    def record(frames: int) -> None:
        totals["frames"] += frames
        meter.tick()
        if bar is not None:
            bar.update(1)

    start = time.perf_counter()
    try:
        run_chunk_jobs(hvp_chunk, (str(source), str(out)), todo, workers, record)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    return HvpReport(len(todo), totals["frames"], seconds, workers, len(done), meter.steady())


def _prepare(out: Path, manifest: dict[str, Any], job: dict[str, Any]) -> None:
    if (out / MANIFEST).exists():
        previous = read_manifest(out).get("hvp")
        if previous is None:
            raise DatasetError(
                f"{str(out)!r} is a dataset without HVPs: give label-hvp a new --out folder"
            )
        if previous != job:
            raise DatasetError(
                f"{str(out)!r} holds another HVP job ({previous}); choose a new --out "
                f"folder for {job}"
            )
        return
    if out.exists() and any(out.iterdir()):
        raise DatasetError(f"{str(out)!r} exists and is not an HVP dataset: choose a new --out")
    write_manifest(out, {**manifest, "hvp": job})


def hvp_chunk(source: str, out: str, chunk_id: int) -> int:
    """Copy one chunk of ``source`` into ``out`` with ``hvp``/``hvp_vector`` added.

    Returns:
        The number of frames that got an HVP.
    """
    manifest = read_manifest(Path(out))
    job = manifest["hvp"]
    teacher = cached_teacher(manifest["teacher"]["spec"])
    arrays = load_chunk(chunk_path(Path(source), chunk_id))
    offsets = np.concatenate([[0], np.cumsum(arrays["num_atoms"])])
    vectors = np.full(arrays["forces"].shape, np.nan, dtype=np.float32)
    products = np.full(arrays["forces"].shape, np.nan, dtype=np.float32)
    count = 0
    for index, frame_index in enumerate(arrays["frame_index"].tolist()):
        rng = np.random.default_rng(_frame_seed(job["seed"], frame_index))
        if rng.random() >= job["fraction"]:
            continue
        atoms = frame_structure(arrays, offsets, index)
        vector = rng.standard_normal((len(atoms), 3)).astype(np.float32).astype(float)
        norm = float(np.linalg.norm(vector))
        # Teacher steps h |v| along the unit vector: each atom moves by h v_i, as in the student.
        product = teacher.hessian_vector_product(atoms, vector, step=job["step_A"] * norm)
        atom_slice = slice(offsets[index], offsets[index + 1])
        vectors[atom_slice] = vector
        products[atom_slice] = product
        count += 1
    arrays = {**arrays, "hvp_vector": vectors, "hvp": products}
    write_chunk(Path(out), chunk_id, arrays)
    return count


def _frame_seed(seed: int, frame_index: int) -> int:
    digest = hashlib.sha256(f"hvp:{seed}:{frame_index}".encode()).digest()
    return int.from_bytes(digest[:8], "big")
