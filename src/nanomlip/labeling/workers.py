"""The worker side of labelling: what each process loads once, and the job that labels a chunk.

A worker process needs only the dataset folder and a chunk id: it reads the manifest,
loads the teacher and builds the frame generator once (:func:`worker_state`), then
generates, labels, checks and writes the chunk (:func:`label_chunk`). The MD drivers
named in the manifest (``md_driver``, ``fast_driver``) are resolved by the same teacher
specs as the teacher itself (:func:`nanomlip.teachers.calculator_factory`).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ase import Atoms

from nanomlip._optional import MissingDependencyError
from nanomlip.data.store import ChunkWriter
from nanomlip.integrations import allocator
from nanomlip.labeling.rejection import RejectionRules, rejection_reason
from nanomlip.sampling import FrameGenerator, parse_recipe
from nanomlip.sampling.relaxation import driver_label
from nanomlip.teachers import (
    Label,
    Teacher,
    calculator_factory,
    labeler_factory,
    load_teacher,
)

_TEACHERS: dict[tuple[str, str], Teacher] = {}
_STATES: dict[tuple[str, str], tuple[Teacher, FrameGenerator, dict[str, Any]]] = {}


def cached_teacher(spec: str, device: str = "cpu") -> Teacher:
    """The teacher of ``spec`` on ``device``, loaded once per process."""
    if (spec, device) not in _TEACHERS:
        _TEACHERS[spec, device] = load_teacher(spec, device=device)
    return _TEACHERS[spec, device]


def frame_generator(
    manifest: dict[str, Any], teacher: Teacher, device: str = "cpu"
) -> FrameGenerator:
    """The frame generator of a dataset manifest, with its MD drivers resolved on ``device``.

    Datasets made before ``fast_driver`` existed have no such key: it means ``none``.
    """
    md_driver, fast_driver = manifest["md_driver"], manifest.get("fast_driver", "none")
    return FrameGenerator(
        parse_recipe(manifest["recipe"]),
        teacher.elements,
        md_calculator=calculator_factory(md_driver, teacher, "--md-driver", device),
        fast_calculator=calculator_factory(fast_driver, teacher, "--fast-driver", device),
        md_labeler=labeler_factory(md_driver, teacher, "--md-driver", device),
    )


def worker_state(out: str, device: str = "cpu") -> tuple[Teacher, FrameGenerator, dict[str, Any]]:
    """Teacher, frame generator and manifest of a dataset, loaded once per process.

    The process keeps freed memory in the heap from the start (labelled frames are small;
    :mod:`nanomlip.integrations.allocator`): it speeds teachers as it speeds the student
    (SevenNet-0 2.9x), and before, only what came after a process's first student-driven
    MD snapshot had it.
    """
    if (out, device) not in _STATES:
        allocator.prepare_for(0)
        manifest = json.loads((Path(out) / "manifest.json").read_text())
        teacher = cached_teacher(manifest["teacher"]["spec"], device)
        _STATES[out, device] = (teacher, frame_generator(manifest, teacher, device), manifest)
    return _STATES[out, device]


def label_chunk(
    out: str, chunk_id: int, batch_size: int = 32, device: str = "cpu"
) -> dict[str, Any]:
    """Generate, label, check and write one chunk. Safe to run twice (same result).

    ``device`` is where the teacher and the MD drivers run (``cpu``, ``cuda``); the frames
    are the same, the labels equal to float32 rounding.

    The samplers first do the chunk's shared work at once (batched relaxations), then
    frames are labelled ``batch_size`` at a time (:meth:`Teacher.label` batches them).

    Returns:
        ``{"chunk": id, "frames": accepted, "atoms": atoms, "rejected": {reason: n},
        "seconds": wall time}``.
    """
    start_time = time.perf_counter()
    teacher, generator, manifest = worker_state(out, device)
    rules = RejectionRules(**manifest["rejection_rules"])
    chunk_size = manifest["chunk_size"]
    first, last = chunk_id * chunk_size, min((chunk_id + 1) * chunk_size, len(generator))
    writer = ChunkWriter(chunk_id)
    try:
        generator.prepare(first, last)
    except MissingDependencyError:
        raise
    except Exception:  # noqa: BLE001 - each frame is made (and its failure recorded) alone
        pass
    batch: list[tuple[int, Atoms]] = []
    for frame_index in range(first, last):
        try:
            batch.append((frame_index, generator.frame(frame_index)))
        except MissingDependencyError:
            raise  # an uninstalled extra is the user's to fix, not a rejected frame
        except Exception as error:  # noqa: BLE001 - any sampler failure is recorded, not fatal
            writer.reject(frame_index, f"sampler error: {type(error).__name__}: {error}")
        if len(batch) == batch_size or (frame_index == last - 1 and batch):
            _label_batch(teacher, batch, writer, rules, manifest["md_driver"] == "teacher")
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


def label_chunk_on(out: str, device: str, chunk_id: int) -> dict[str, Any]:
    """:func:`label_chunk` on ``device``, in the ``job(*args, chunk_id)`` form executors call."""
    return label_chunk(out, chunk_id, device=device)


def _label_batch(
    teacher: Teacher,
    batch: list[tuple[int, Atoms]],
    writer: ChunkWriter,
    rules: RejectionRules,
    driver_is_teacher: bool = False,
) -> None:
    """Label, check and record ``batch``.

    With ``driver_is_teacher``, frames that carry their MD driver's label (the frames along
    the teacher's relaxations) keep it: the teacher already computed it.
    """
    labels: list[Label | None] = [
        driver_label(atoms) if driver_is_teacher else None for _, atoms in batch
    ]
    todo = [(i, frame) for i, (frame, label) in enumerate(zip(batch, labels)) if label is None]
    try:
        new_labels: list[Label | None] = list(teacher.label([atoms for _, (_, atoms) in todo]))
    except Exception:  # noqa: BLE001 - fall back to one by one to isolate the bad frame
        new_labels = []
        for _, (frame_index, atoms) in todo:
            try:
                new_labels.append(teacher.label_one(atoms))
            except Exception as error:  # noqa: BLE001
                new_labels.append(None)
                writer.reject(frame_index, f"teacher error: {type(error).__name__}: {error}")
    for (position, _), label in zip(todo, new_labels, strict=True):
        labels[position] = label
    for (frame_index, atoms), label in zip(batch, labels, strict=True):
        if label is None:
            continue
        reason = rejection_reason(label, atoms, rules)
        if reason:
            writer.reject(frame_index, reason)
        else:
            writer.add(atoms, frame_index, label.energy, label.forces, label.stress, label.energies)
