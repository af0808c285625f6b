"""Reading structures and writing/reading MD trajectories frame by frame."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from ase import Atoms
from ase.io import read, write
from ase.io.trajectory import Trajectory

from nanomlip.data.inputs import read_structure

__all__ = [
    "TRAJECTORY_FORMATS",
    "TrajectoryWriter",
    "make_supercell",
    "parse_supercell",
    "read_last_frame",
    "read_structure",
    "trajectory_path",
]

#: Trajectory formats :class:`TrajectoryWriter` can append to, with their file suffix.
TRAJECTORY_FORMATS: dict[str, str] = {"extxyz": ".extxyz", "traj": ".traj"}


def parse_supercell(text: str) -> tuple[int, int, int]:
    """Repeats from ``"N"`` or ``"NxMxK"`` (positive integers), e.g. ``"5"`` or ``"4x4x2"``.

    Raises:
        ValueError: If ``text`` is not of that form.
    """
    parts = text.lower().split("x")
    if len(parts) == 1:
        parts = parts * 3
    try:
        repeats = tuple(int(part) for part in parts)
    except ValueError:
        repeats = ()
    if len(repeats) != 3 or min(repeats) < 1:
        raise ValueError(f"supercell must be N or NxMxK with positive integers, got {text!r}")
    return repeats


def make_supercell(atoms: Atoms, text: str | None) -> Atoms:
    """``atoms`` repeated along its cell vectors by :func:`parse_supercell` of ``text``.

    A non-periodic direction cannot be repeated; ``None`` returns ``atoms`` unchanged.
    """
    if not text:
        return atoms
    repeats = parse_supercell(text)
    flat = [n for n, periodic in zip(repeats, atoms.pbc) if not periodic and n > 1]
    if flat:
        raise ValueError(
            f"cannot repeat a structure along a non-periodic direction (pbc={atoms.pbc.tolist()}"
            f", supercell {text!r}); use 1 there"
        )
    return atoms.repeat(repeats)


def trajectory_path(out_dir: str | Path, traj_format: str) -> Path:
    """Path of the MD trajectory inside ``out_dir`` for ``traj_format``."""
    if traj_format not in TRAJECTORY_FORMATS:
        raise ValueError(
            f"unknown trajectory format {traj_format!r}; choose one of {list(TRAJECTORY_FORMATS)}"
        )
    return Path(out_dir) / f"trajectory{TRAJECTORY_FORMATS[traj_format]}"


class TrajectoryWriter:
    """Appends frames to an extxyz or ASE ``.traj`` file, each one flushed to disk.

    Every frame carries ``step`` and ``time_ps`` in ``atoms.info`` and the momenta, so a
    run can restart from the last frame (see :func:`read_last_frame`).

    Args:
        path: Output file; frames are appended when it exists.
        traj_format: ``"extxyz"`` or ``"traj"``.
    """

    def __init__(self, path: str | Path, traj_format: str = "extxyz") -> None:
        if traj_format not in TRAJECTORY_FORMATS:
            raise ValueError(
                f"unknown trajectory format {traj_format!r}; "
                f"choose one of {list(TRAJECTORY_FORMATS)}"
            )
        self.path = Path(path)
        self.traj_format = traj_format
        self.last_step: int | None = None

    def write(self, atoms: Atoms, step: int, time_ps: float) -> None:
        """Append ``atoms`` (with its calculator results) as the frame of ``step``."""
        atoms.info["step"] = int(step)
        atoms.info["time_ps"] = float(time_ps)
        if self.traj_format == "traj":
            # Opening per frame closes (and so completes) the file after every write.
            with Trajectory(self.path, "a") as trajectory:
                trajectory.write(atoms)
        else:
            with self.path.open("a", encoding="utf-8") as file:
                write(file, atoms, format="extxyz")
                file.flush()
        self.last_step = int(step)


def read_last_frame(path: str | Path) -> tuple[Atoms, int, float]:
    """Read the last frame of a trajectory written by :class:`TrajectoryWriter`.

    Args:
        path: ``trajectory.extxyz`` or ``trajectory.traj``.

    Returns:
        ``(atoms, step, time_ps)`` with positions, momenta and cell of that frame.

    Raises:
        FileNotFoundError: If the trajectory does not exist.
        ValueError: If it is empty, unreadable or lacks the ``step`` record.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cannot restart: no trajectory {str(path)!r}")
    try:
        atoms = cast(Atoms, read(path, index=-1))
    except Exception as error:
        raise ValueError(f"cannot restart: {str(path)!r} is unreadable: {error}") from error
    if "step" not in atoms.info or "time_ps" not in atoms.info:
        raise ValueError(f"cannot restart: {str(path)!r} was not written by nanomlip md")
    atoms.calc = None
    return atoms, int(atoms.info["step"]), float(atoms.info["time_ps"])
