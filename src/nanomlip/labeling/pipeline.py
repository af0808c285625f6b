"""Label a recipe's structures with one teacher, in resumable chunks, in parallel.

Work is split into chunks of consecutive frame indices. A chunk is generated,
labelled and written by one worker (see :mod:`nanomlip.data.store` for why this
makes the job safe to kill at any moment). Workers are either local processes
or the workers of a Dask cluster (:mod:`nanomlip.labeling.executor`): both call
the same :func:`~nanomlip.labeling.workers.label_chunk`, which only needs the
dataset folder and a chunk id.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nanomlip._progress import RateMeter, format_rate
from nanomlip._version import __version__
from nanomlip.data.store import (
    DATASET_FORMAT,
    DATASET_VERSION,
    DatasetError,
    existing_chunks,
    remove_stale_temporaries,
    write_manifest,
)
from nanomlip.labeling.executor import progress_bar, run_chunk_jobs
from nanomlip.labeling.rejection import RejectionRules
from nanomlip.labeling.workers import label_chunk_on
from nanomlip.sampling import FrameGenerator, Recipe
from nanomlip.teachers import Teacher, calculator_factory, load_teacher


def prepare_dataset(
    out: Path,
    teacher: Teacher,
    recipe: Recipe,
    chunk_size: int,
    md_driver: str,
    rules: RejectionRules,
    fast_driver: str = "none",
) -> dict[str, Any]:
    """Create the manifest, or check that an existing one describes the same job.

    ``fast_driver`` is written only when set, so that datasets made before it existed
    resume unchanged.
    """
    manifest = {
        "format": DATASET_FORMAT,
        "format_version": DATASET_VERSION,
        "teacher": dataclasses.asdict(teacher.provenance),
        "recipe": recipe.to_dict(),
        "chunk_size": chunk_size,
        "num_frames": recipe.num_frames,
        "md_driver": md_driver,
        "rejection_rules": dataclasses.asdict(rules),
    }
    if fast_driver != "none":
        manifest["fast_driver"] = fast_driver
    path = Path(out) / "manifest.json"
    if path.exists():
        existing = json.loads(path.read_text())
        for key in ("teacher", "recipe", "chunk_size", "md_driver", "rejection_rules"):
            if existing.get(key) != manifest[key]:
                raise DatasetError(
                    f"{str(out)!r} already holds a dataset made with a different {key}; "
                    "rerun with the same options to resume, or choose another --out"
                )
        if existing.get("fast_driver", "none") != fast_driver:
            raise DatasetError(
                f"{str(out)!r} already holds a dataset made with a different fast_driver; "
                "rerun with the same options to resume, or choose another --out"
            )
        return existing
    manifest["nanomlip_version"] = __version__
    manifest["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_manifest(out, manifest)
    return manifest


def pending_chunks(out: Path, num_frames: int, chunk_size: int) -> list[int]:
    """Chunk ids still to label."""
    total = (num_frames + chunk_size - 1) // chunk_size
    done = set(existing_chunks(out))
    return [k for k in range(total) if k not in done]


@dataclass
class LabelingReport:
    """What one labelling run did."""

    frames: int
    atoms: int
    rejected: dict[str, int]
    chunks: int
    seconds: float
    workers: int
    reused_chunks: int = 0
    steady_frames_per_second: float = math.nan

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    @property
    def atoms_per_second(self) -> float:
        return self.atoms / self.seconds if self.seconds else 0.0


class _Tally:
    """Running totals of finished chunks, shown on the progress bar."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.meter = RateMeter()
        self.frames = 0
        self.atoms = 0
        self.rejected: Counter[str] = Counter()

    def record(self, stats: dict[str, Any]) -> None:
        self.frames += stats["frames"]
        self.atoms += stats["atoms"]
        self.rejected.update(stats["rejected"])
        self.meter.tick(stats["frames"])
        if self.bar is not None:
            self.bar.update(stats["frames"] + sum(stats["rejected"].values()))
            self.bar.set_postfix(
                atoms=self.atoms,
                rejected=sum(self.rejected.values()),
                steady=f"{format_rate(self.meter.steady())} frames/s",
            )


def check_counts(workers: int, chunk_size: int) -> None:
    """Reject fewer than one worker or one frame per chunk."""
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    if chunk_size < 1:
        raise ValueError("--chunk-size must be at least 1")


def check_generator(teacher: Teacher, recipe: Recipe, md_driver: str, fast_driver: str) -> None:
    """Validate the MD drivers, sampler names and options before anything is written."""
    FrameGenerator(
        recipe,
        teacher.elements,
        md_calculator=calculator_factory(md_driver, teacher, "--md-driver"),
        fast_calculator=calculator_factory(fast_driver, teacher, "--fast-driver"),
    )


def chunk_frames(todo: list[int], chunk_size: int, num_frames: int) -> int:
    """Frames in the chunks ``todo`` (the last chunk of a recipe may be short)."""
    return sum(min((k + 1) * chunk_size, num_frames) - k * chunk_size for k in todo)


def run_labeling(
    out: str | os.PathLike,
    teacher_spec: str,
    recipe: Recipe,
    workers: int = 1,
    chunk_size: int = 50,
    scheduler: str = "processes",
    dask_address: str | None = None,
    md_driver: str = "teacher",
    rules: RejectionRules | None = None,
    progress: bool = True,
    max_chunks: int | None = None,
    fast_driver: str = "none",
    device: str = "cpu",
) -> LabelingReport:
    """Label every missing chunk of ``out`` and report throughput.

    Args:
        out: Dataset folder (created, or resumed if it exists with the same job).
        teacher_spec: Teacher spec string.
        recipe: Structure recipe.
        workers: Worker processes (``processes``) or local Dask workers.
        chunk_size: Frames per chunk file.
        scheduler: ``"processes"`` (local pool; in-process when ``workers == 1``)
            or ``"dask"`` (a local Dask cluster, or ``dask_address``).
        dask_address: Address of an existing Dask scheduler.
        md_driver: Calculator for liquid/amorphous MD snapshots: ``teacher``,
            ``none`` or a teacher spec (e.g. ``nanomlip:MODEL``).
        rules: Rejection limits.
        progress: Show a progress bar (frames, rate, ETA).
        max_chunks: Label at most this many chunks (for benchmarks and tests).
        fast_driver: Cheap calculator for the MD snapshots of real crystals (``none``,
            ``teacher`` or a teacher spec).
        device: Torch device of the teacher and the MD drivers (``cpu``, ``cuda``). Not part
            of the job: a dataset may be resumed on another device.
    """
    out_path = Path(out)
    rules = rules or RejectionRules()
    check_counts(workers, chunk_size)
    teacher = load_teacher(teacher_spec)
    check_generator(teacher, recipe, md_driver, fast_driver)
    prepare_dataset(out_path, teacher, recipe, chunk_size, md_driver, rules, fast_driver)
    remove_stale_temporaries(out_path)
    todo = pending_chunks(out_path, recipe.num_frames, chunk_size)
    reused = (recipe.num_frames + chunk_size - 1) // chunk_size - len(todo)
    if max_chunks is not None:
        todo = todo[:max_chunks]
    bar = progress_bar(chunk_frames(todo, chunk_size, recipe.num_frames), progress)
    tally = _Tally(bar)
    start = time.perf_counter()
    try:
        run_chunk_jobs(
            label_chunk_on,
            (str(out_path), device),
            todo,
            workers,
            tally.record,
            scheduler,
            dask_address,
        )
    finally:
        if bar is not None:
            bar.close()
    return LabelingReport(
        frames=tally.frames,
        atoms=tally.atoms,
        rejected=dict(tally.rejected),
        chunks=len(todo),
        seconds=time.perf_counter() - start,
        workers=workers,
        reused_chunks=reused,
        steady_frames_per_second=tally.meter.steady(),
    )
