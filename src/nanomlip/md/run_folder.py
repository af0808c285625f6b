"""The output folder of an MD run: never clobbered by mistake, and what a restart must match.

A fresh run refuses a folder that already holds files unless the user says ``overwrite``
(:func:`check_output_folder`). Each run leaves ``run.json`` (:data:`RUN_FILE`): the input
file (path and SHA-256), the supercell and one *segment* per invocation (first step,
ensemble, temperature, pressure, time step, model). A restart is refused when the input file or
supercell differ (the trajectory would belong to another system); a changed ensemble or
temperature starts a new segment, is announced, and the NVE energy drift is then fitted
only over the last run of identical segments (:func:`drift_start_step`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nanomlip._files import temporary_file

#: Name of the run record inside the output folder.
RUN_FILE = "run.json"

#: Settings compared between the segments of one run folder.
SEGMENT_FIELDS = ("ensemble", "temperature_K", "pressure_GPa", "timestep_fs", "model")


@dataclass(frozen=True)
class Segment:
    """Settings of one invocation of ``nanomlip md`` in a run folder.

    Attributes:
        start_step: Step the invocation started from.
        ensemble: Ensemble name.
        temperature_K: Target temperature, in K.
        pressure_GPa: Target pressure, in GPa.
        timestep_fs: Time step, in fs.
        model: The model option as given (path, registered name or ``preset:NAME``); the
            default model's registered name when none was given, so a restart after the
            default changed starts a new, announced segment.
    """

    start_step: int
    ensemble: str
    temperature_K: float
    pressure_GPa: float
    timestep_fs: float
    model: str = ""

    def settings(self) -> tuple[Any, ...]:
        """The compared settings (everything but the start step)."""
        return tuple(getattr(self, name) for name in SEGMENT_FIELDS)


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_output_folder(out_dir: Path, *, restart: bool, overwrite: bool) -> None:
    """Refuse to start a fresh run in a folder that holds files, unless ``overwrite``.

    Raises:
        ValueError: ``out_dir`` is a file, or holds files and neither ``restart`` nor
            ``overwrite`` is set (or both are).
    """
    if restart and overwrite:
        raise ValueError("--restart continues a run and --overwrite replaces it; pick one")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"output folder {str(out_dir)!r} is a file")
    if restart or overwrite or not out_dir.is_dir():
        return
    held = sorted(entry.name for entry in out_dir.iterdir())
    if held:
        shown = ", ".join(held[:4]) + (", ..." if len(held) > 4 else "")
        raise ValueError(
            f"output folder {str(out_dir)!r} is not empty (it holds {shown}); pass "
            "--overwrite to replace that run, --restart to continue it, or choose another "
            "--out-dir"
        )


def read_run_record(out_dir: Path) -> dict[str, Any] | None:
    """The run record of ``out_dir``, or ``None`` for a folder without one (older runs)."""
    path = out_dir / RUN_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"cannot restart: {str(path)!r} is damaged ({error})") from error


def new_run_record(input_file: Path, supercell: str | None, segment: Segment) -> dict[str, Any]:
    """The record of a fresh run of ``input_file``."""
    return {
        "input": str(input_file.resolve()),
        "input_sha256": file_sha256(input_file),
        "supercell": supercell,
        "segments": [asdict(segment)],
    }


def continue_run_record(
    record: dict[str, Any] | None, input_file: Path, supercell: str | None, segment: Segment
) -> tuple[dict[str, Any], list[str]]:
    """Check a restart against the folder's record and add its segment.

    Args:
        record: What :func:`read_run_record` returned (``None``: nothing to check).
        input_file: The structure file given on this command line.
        supercell: The ``--supercell`` text given now.
        segment: Settings of this invocation.

    Returns:
        ``(record, notes)``: the updated record and one line per changed setting.

    Raises:
        ValueError: The input file or the supercell differ from the run's.
    """
    if record is None:
        return new_run_record(input_file, supercell, segment), []
    if record.get("input_sha256") != file_sha256(input_file):
        raise ValueError(
            f"cannot restart: the run in this folder was made from {record.get('input')!r}, "
            f"and {str(input_file)!r} is a different file; restart with the same input, or "
            "start a new run in another --out-dir"
        )
    if record.get("supercell") != supercell:
        raise ValueError(
            f"cannot restart: the run used --supercell {record.get('supercell')}, this "
            f"command asks for {supercell}; use the same supercell"
        )
    segments = [Segment(**values) for values in record.get("segments", [])]
    notes = []
    if segments:
        previous = segments[-1]
        for name in SEGMENT_FIELDS:
            before, now = getattr(previous, name), getattr(segment, name)
            if before != now:
                notes.append(
                    f"note: {name} changes from {before} to {now} at step {segment.start_step}"
                )
    kept = [s for s in segments if s.start_step < segment.start_step]
    updated = {**record, "segments": [asdict(s) for s in [*kept, segment]]}
    return updated, notes


def drift_start_step(record: dict[str, Any]) -> int:
    """First step of the last stretch of segments with the same settings as the final one."""
    segments = [Segment(**values) for values in record.get("segments", [])]
    if not segments:
        return 0
    start = segments[-1].start_step
    for segment in reversed(segments[:-1]):
        if segment.settings() != segments[-1].settings():
            break
        start = segment.start_step
    return start


def write_run_record(out_dir: Path, record: dict[str, Any]) -> Path:
    """Write ``run.json`` into ``out_dir`` atomically."""
    path = out_dir / RUN_FILE
    tmp = temporary_file(out_dir, prefix=f".{RUN_FILE}.", suffix=".tmp")
    Path(tmp).write_text(json.dumps(record, indent=2))
    os.replace(tmp, path)
    return path
