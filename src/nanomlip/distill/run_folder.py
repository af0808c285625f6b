r"""The files of one training run folder ``RUN`` and the progress that its checkpoint keeps.

==============================  =================================================================
File                            Content
==============================  =================================================================
``checkpoint_last.pt``          model, EMA, optimizer, schedule, step/epoch/position, history and
                                RNG states (tensors and plain containers only, so
                                ``torch.load(..., weights_only=True)`` reads it)
``model.safetensors``           best EMA weights (lowest validation score) with provenance
``metrics.csv``/``metrics.json`` one row per evaluation (flat MAEs / full report)
``learning_curve.png``          training loss and validation MAEs against the step
``config.yaml``                 the training configuration
==============================  =================================================================
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ase import Atoms

from nanomlip.distill.plots import learning_curve

CHECKPOINT = "checkpoint_last.pt"
MODEL = "model.safetensors"
CONFIG = "config.yaml"
STATE_FORMAT = "nanomlip-train-state"
STATE_VERSION = 1


@dataclass
class TrainState:
    """Progress of a run; everything here goes into the checkpoint.

    Attributes:
        step: Optimizer steps taken.
        epoch: Current epoch (0-based).
        position: Batches of the current epoch already taken.
        best_score: Lowest validation score so far (``inf`` before the first).
        best_step: Step of the best model (-1 before the first).
        history: One row per evaluation (flat metrics and the full report).
        loss_sums: Sums of the loss and of each term since the last evaluation.
        loss_count: Steps summed in ``loss_sums``.
        train_seconds: Wall time spent in optimizer steps, over all invocations.
    """

    step: int = 0
    epoch: int = 0
    position: int = 0
    best_score: float = math.inf
    best_step: int = -1
    history: list[dict[str, Any]] = field(default_factory=list)
    loss_sums: dict[str, float] = field(default_factory=dict)
    loss_count: int = 0
    train_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint's ``state`` entry (the containers themselves, not copies)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# ------------------------------------------------------------------ RNG state
def rng_state() -> dict[str, Any]:
    """Torch, NumPy and Python global RNG states as tensors and plain containers."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` recorded."""
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["name"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


# ------------------------------------------------------------------ files
def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def csv_text(rows: Sequence[dict[str, Any]]) -> str:
    """CSV of ``rows``; the columns are every key in order of first appearance."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_metrics(out: Path, history: list[dict[str, Any]], plot: bool) -> None:
    """Rewrite ``metrics.csv`` and ``metrics.json`` and, if ``plot``, ``learning_curve.png``."""
    flat = [{k: v for k, v in row.items() if k != "report"} for row in history]
    atomic_write_text(out / "metrics.csv", csv_text(flat))
    atomic_write_text(out / "metrics.json", json.dumps(history, indent=1))
    if history and plot:
        learning_curve(flat, out / "learning_curve.png")


def save_state(path: Path, state: dict[str, Any]) -> Path:
    """Write a checkpoint dictionary atomically (temporary file, then rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def read_state(path: Path, device: torch.device) -> dict[str, Any]:
    """The training checkpoint at ``path``.

    Raises:
        ValueError: The file cannot be read or is not a nanomlip training checkpoint.
    """
    try:
        saved = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file gets the same advice
        raise ValueError(
            f"cannot read {str(path)!r} ({error}); delete it to start the run afresh"
        ) from error
    if not isinstance(saved, dict) or saved.get("format") != STATE_FORMAT:
        raise ValueError(f"{str(path)!r} is not a nanomlip training checkpoint")
    return saved


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as indented JSON atomically, creating the folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(value, indent=2))


def write_frames(path: Path, frames: Sequence[Atoms]) -> None:
    """Write ``frames`` to an extended-XYZ file atomically, creating the folder if needed."""
    from ase.io import write

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp, list(frames), format="extxyz")
    os.replace(tmp, path)


def read_frames(path: Path) -> list[Atoms]:
    """Every frame of an extended-XYZ file."""
    from ase.io import read

    return list(read(path, index=":", format="extxyz"))


class Phase:
    """Times one phase in CPU and wall seconds and records them in ``FOLDER/phases.json``.

    Only a phase that ran to its end is recorded, so a resumed run counts each once.
    """

    def __init__(self, folder: Path, name: str) -> None:
        self.path, self.name = folder / "phases.json", name
        self.info: dict[str, Any] = {}

    def _phases(self) -> dict[str, Any]:
        return json.loads(self.path.read_text()) if self.path.is_file() else {}

    def done(self) -> dict[str, Any] | None:
        """What the finished phase recorded, or ``None`` if it has not finished."""
        return self._phases().get(self.name)

    def __enter__(self) -> Phase:
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is not None:
            return
        phases = self._phases()
        phases[self.name] = {
            "cpu_s": time.process_time() - self.cpu,
            "wall_s": time.perf_counter() - self.wall,
            **self.info,
        }
        write_json(self.path, phases)
