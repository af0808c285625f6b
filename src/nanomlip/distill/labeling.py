"""Label a recipe's structures with one teacher, in resumable chunks, in parallel.

Work is split into chunks of consecutive frame indices. A chunk is generated,
labelled and written by one worker (see :mod:`nanomlip.data.store` for why this
makes the job safe to kill at any moment). Workers are either local processes
(``concurrent.futures``) or the workers of a Dask cluster: both call the same
:func:`label_chunk`, which only needs the dataset folder and a chunk id.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from nanomlip._optional import MissingDependencyError
from nanomlip._progress import RateMeter, format_rate
from nanomlip._progress import progress_bar as shared_progress_bar
from nanomlip.data.store import (
    CHUNK_DIR,
    DATASET_FORMAT,
    DATASET_VERSION,
    ChunkWriter,
    DatasetError,
    existing_chunks,
    write_manifest,
)
from nanomlip.sampling.base import FrameGenerator, Recipe, parse_recipe
from nanomlip.teachers.base import Label, Teacher
from nanomlip.teachers.spec import load_teacher

#: eV/Å^3 -> GPa
EV_PER_A3_TO_GPA = 160.21766208


@dataclass(frozen=True)
class RejectionRules:
    """Limits beyond which a teacher label is considered absurd and the frame dropped.

    Attributes:
        max_force: Largest force component magnitude, eV/Å.
        max_abs_energy_per_atom: Largest |energy| per atom, eV.
        max_stress: Largest stress component magnitude, GPa.
    """

    max_force: float = 100.0
    max_abs_energy_per_atom: float = 50.0
    max_stress: float = 500.0

    def __post_init__(self) -> None:
        for name, value in dataclasses.asdict(self).items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"rejection limit {name} must be a positive number, got {value}")


def rejection_reason(label: Label, atoms: Atoms, rules: RejectionRules) -> str | None:
    """Why a label is rejected (``"kind: detail"``), or ``None`` if it is acceptable."""
    arrays = {"energy": np.asarray(label.energy), "forces": label.forces}
    if label.stress is not None:
        arrays["stress"] = label.stress
    for name, value in arrays.items():
        if not np.all(np.isfinite(value)):
            return f"non-finite {name}"
    if label.forces.shape != (len(atoms), 3):
        return f"bad forces shape: {label.forces.shape} for {len(atoms)} atoms"
    if abs(label.energy) / len(atoms) > rules.max_abs_energy_per_atom:
        return f"absurd energy: {label.energy / len(atoms):.3g} eV/atom"
    force = float(np.abs(label.forces).max()) if len(atoms) else 0.0
    if force > rules.max_force:
        return f"absurd force: {force:.3g} eV/Å"
    if label.stress is not None:
        stress = float(np.abs(label.stress).max()) * EV_PER_A3_TO_GPA
        if stress > rules.max_stress:
            return f"absurd stress: {stress:.3g} GPa"
    return None


# ---------------------------------------------------------------------- dataset set-up
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
    from nanomlip import __version__

    manifest["nanomlip_version"] = __version__
    manifest["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_manifest(out, manifest)
    return manifest


def pending_chunks(out: Path, num_frames: int, chunk_size: int) -> list[int]:
    """Chunk ids still to label."""
    total = (num_frames + chunk_size - 1) // chunk_size
    done = set(existing_chunks(out))
    return [k for k in range(total) if k not in done]


# ---------------------------------------------------------------------- worker side
_WORKER_CACHE: dict[str, tuple[Teacher, FrameGenerator, dict[str, Any]]] = {}


def _md_calculator_factory(driver: str, teacher: Teacher) -> Callable | None:
    if driver == "none":
        return None
    if driver == "teacher":
        return teacher.calculator
    if driver.startswith("nanomlip:"):
        from nanomlip.integrations.ase_calculator import NanoCalculator

        model = driver.partition(":")[2]
        return lambda: NanoCalculator(model=model)
    raise ValueError(f"unknown --md-driver {driver!r}; use teacher, none or nanomlip:MODEL")


def _worker_state(out: str) -> tuple[Teacher, FrameGenerator, dict[str, Any]]:
    """Teacher, frame generator and manifest of a dataset, loaded once per process."""
    if out not in _WORKER_CACHE:
        manifest = json.loads((Path(out) / "manifest.json").read_text())
        teacher = load_teacher(manifest["teacher"]["spec"])
        recipe = parse_recipe(manifest["recipe"])
        driver = _md_calculator_factory(manifest["md_driver"], teacher)
        fast = _md_calculator_factory(manifest.get("fast_driver", "none"), teacher)
        generator = FrameGenerator(
            recipe, teacher.elements, md_calculator=driver, fast_calculator=fast
        )
        _WORKER_CACHE[out] = (teacher, generator, manifest)
    return _WORKER_CACHE[out]


def label_chunk(out: str, chunk_id: int, batch_size: int = 8) -> dict[str, Any]:
    """Generate, label, check and write one chunk. Safe to run twice (same result).

    Returns:
        ``{"chunk": id, "frames": accepted, "atoms": atoms, "rejected": {reason: n},
        "seconds": wall time}``.
    """
    start_time = time.perf_counter()
    teacher, generator, manifest = _worker_state(out)
    rules = RejectionRules(**manifest["rejection_rules"])
    chunk_size = manifest["chunk_size"]
    first, last = chunk_id * chunk_size, min((chunk_id + 1) * chunk_size, len(generator))
    writer = ChunkWriter(chunk_id)
    batch: list[tuple[int, Atoms]] = []
    for frame_index in range(first, last):
        try:
            batch.append((frame_index, generator.frame(frame_index)))
        except MissingDependencyError:
            raise  # an uninstalled extra is the user's to fix, not a rejected frame
        except Exception as error:  # noqa: BLE001 - any sampler failure is recorded, not fatal
            writer.reject(frame_index, f"sampler error: {type(error).__name__}: {error}")
        if len(batch) == batch_size or (frame_index == last - 1 and batch):
            _label_batch(teacher, batch, writer, rules)
            batch = []
    writer.labeling_seconds = time.perf_counter() - start_time
    writer.write(Path(out))
    return {
        "chunk": chunk_id,
        "frames": len(writer.frames),
        "atoms": int(sum(len(f["numbers"]) for f in writer.frames)),
        "rejected": dict(Counter(reason.split(":")[0] for _, reason in writer.rejected)),
        "seconds": writer.labeling_seconds,
    }


def _label_batch(
    teacher: Teacher, batch: list[tuple[int, Atoms]], writer: ChunkWriter, rules: RejectionRules
) -> None:
    try:
        labels = teacher.label([atoms for _, atoms in batch])
    except Exception:  # noqa: BLE001 - fall back to one by one to isolate the bad frame
        labels = []
        for frame_index, atoms in batch:
            try:
                labels.append(teacher.label_one(atoms))
            except Exception as error:  # noqa: BLE001
                labels.append(None)
                writer.reject(frame_index, f"teacher error: {type(error).__name__}: {error}")
    for (frame_index, atoms), label in zip(batch, labels, strict=True):
        if label is None:
            continue
        reason = rejection_reason(label, atoms, rules)
        if reason:
            writer.reject(frame_index, reason)
        else:
            writer.add(atoms, frame_index, label.energy, label.forces, label.stress, label.energies)


def _init_process_worker(threads: int, parent_pid: int | None = None) -> None:
    import torch

    torch.set_num_threads(threads)
    if parent_pid is not None:
        _exit_with_parent(parent_pid)


def _exit_with_parent(parent_pid: int, interval_s: float = 1.0) -> None:
    """Stop this worker process soon after the labelling process that started it dies.

    Without it, ``kill <label pid>`` (SIGTERM to the parent only, unlike Ctrl-C, which
    reaches the whole process group) leaves workers that keep writing chunks. A chunk is
    written atomically, so a worker stopped here never leaves a partial file.
    """
    import threading

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


# ---------------------------------------------------------------------- driver side
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
            ``none`` or ``nanomlip:MODEL``.
        rules: Rejection limits.
        progress: Show a progress bar (frames, rate, ETA).
        max_chunks: Label at most this many chunks (for benchmarks and tests).
        fast_driver: Cheap calculator for the MD snapshots of real crystals (``none``,
            ``teacher`` or ``nanomlip:MODEL``).
    """
    out_path = Path(out)
    rules = rules or RejectionRules()
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    if chunk_size < 1:
        raise ValueError("--chunk-size must be at least 1")
    teacher = load_teacher(teacher_spec)
    # Validate everything (MD drivers, sampler names and options) before writing anything.
    FrameGenerator(
        recipe,
        teacher.elements,
        md_calculator=_md_calculator_factory(md_driver, teacher),
        fast_calculator=_md_calculator_factory(fast_driver, teacher),
    )
    prepare_dataset(out_path, teacher, recipe, chunk_size, md_driver, rules, fast_driver)
    remove_stale_temporaries(out_path)
    todo = pending_chunks(out_path, recipe.num_frames, chunk_size)
    reused = (recipe.num_frames + chunk_size - 1) // chunk_size - len(todo)
    if max_chunks is not None:
        todo = todo[:max_chunks]
    frames_todo = sum(min((k + 1) * chunk_size, recipe.num_frames) - k * chunk_size for k in todo)
    bar = progress_bar(frames_todo, progress)
    meter = RateMeter()
    totals = {"frames": 0, "atoms": 0}
    rejected: Counter[str] = Counter()

    def record(stats: dict[str, Any]) -> None:
        totals["frames"] += stats["frames"]
        totals["atoms"] += stats["atoms"]
        rejected.update(stats["rejected"])
        meter.tick(stats["frames"])
        if bar is not None:
            bar.update(stats["frames"] + sum(stats["rejected"].values()))
            bar.set_postfix(
                atoms=totals["atoms"],
                rejected=sum(rejected.values()),
                steady=f"{format_rate(meter.steady())} frames/s",
            )

    start = time.perf_counter()
    try:
        if scheduler == "dask":
            _run_dask(str(out_path), todo, workers, dask_address, record)
        elif scheduler == "processes":
            run_chunk_jobs(label_chunk, (str(out_path),), todo, workers, record)
        else:
            raise ValueError(f"unknown scheduler {scheduler!r}; use processes or dask")
    finally:
        if bar is not None:
            bar.close()
    return LabelingReport(
        frames=totals["frames"],
        atoms=totals["atoms"],
        rejected=dict(rejected),
        chunks=len(todo),
        seconds=time.perf_counter() - start,
        workers=workers,
        reused_chunks=reused,
        steady_frames_per_second=meter.steady(),
    )


def progress_bar(total: int, enabled: bool, unit: str = "frame", desc: str = "labelling"):
    """A progress bar over ``total`` items (plain lines in a log), or None when disabled."""
    if not enabled:
        return None
    return shared_progress_bar(total, desc=desc, unit=unit)


def remove_stale_temporaries(out: Path) -> None:
    """Delete chunk files a killed worker left half-written (never renamed into place)."""
    for tmp in (out / CHUNK_DIR).glob(".tmp-*"):
        tmp.unlink(missing_ok=True)


def run_chunk_jobs(
    job: Callable, args: tuple, todo: list[int], workers: int, record: Callable
) -> None:
    """Call ``job(*args, chunk_id)`` for every chunk of ``todo`` and ``record`` each result.

    In this process when ``workers == 1``, else in a pool of spawned processes that share
    the cores and stop when this process dies.
    """
    if workers == 1:
        for chunk_id in todo:
            record(job(*args, chunk_id))
        return
    import multiprocessing

    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_process_worker,
        initargs=(threads, os.getpid()),
    ) as pool:
        futures = [pool.submit(job, *args, chunk_id) for chunk_id in todo]
        for future in as_completed(futures):
            record(future.result())


def _run_dask(
    out: str, todo: list[int], workers: int, address: str | None, record: Callable
) -> None:
    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_as_completed
    except ImportError as error:
        raise ValueError(
            "the dask scheduler needs dask.distributed: pip install 'dask[distributed]'"
        ) from error
    cluster = None
    if address is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        futures = client.map(label_chunk, [out] * len(todo), todo, pure=False)
        for future in dask_as_completed(futures):
            record(future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
