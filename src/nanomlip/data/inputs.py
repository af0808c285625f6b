"""Reading and checking user structure files: one path for every command.

``calc``, ``relax``, ``md`` and any later command that takes structure files from a user
(seed structures for labelling, fine-tuning data) read them through
:func:`read_structures` / :func:`read_structure` and check them with
:func:`check_structure`, so that a bad file gets the same one-line message everywhere,
before any output is written. Every problem is a :class:`StructureInputError`, a
``ValueError`` (the command line turns it into ``error: ...`` and exit status 2).

Problems caught: a missing or empty file, a file ASE cannot read as a structure, an index
that is not an index or lies past the end, a structure with no atoms, non-finite
positions or cell, a degenerate periodic cell, overlapping atoms (closer than
:data:`~nanomlip.data.graph.DEFAULT_MIN_DISTANCE`) and elements a model does not know.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from nanomlip.data.graph import DEFAULT_MIN_DISTANCE, StructureError, neighbor_list

_INTEGER = re.compile(r"^[+-]?\d+$")
_SLICE = re.compile(r"^([+-]?\d+)?:([+-]?\d+)?(:([+-]?\d+)?)?$")

#: The file types named in the message for a file ASE cannot place.
_KNOWN_TYPES = ".cif, .vasp/POSCAR, .extxyz, .xyz, .traj, .pdb, .json"


class StructureInputError(ValueError):
    """A structure file or structure given by the user that cannot be used."""


def parse_index(text: str | int) -> int | slice:
    """An ASE-style frame index from ``"3"``, ``"-1"``, ``":"`` or ``"0:10:2"``.

    Raises:
        StructureInputError: If ``text`` is neither an integer nor a slice.
    """
    if isinstance(text, int):
        return text
    text = str(text).strip()
    if _INTEGER.match(text):
        return int(text)
    match = _SLICE.match(text)
    if not match:
        raise StructureInputError(
            f"index must be an integer (0, -1) or a slice (':', '0:10', '::2'), got {text!r}"
        )
    start, stop, _, step = match.groups()
    if step is not None and int(step) == 0:
        raise StructureInputError(f"the slice step of index {text!r} must not be zero")

    def number(value: str | None) -> int | None:
        return None if value is None else int(value)

    return slice(number(start), number(stop), number(step))


def _read(path: Path, index: int | slice) -> Atoms | list[Atoms]:
    from ase.io import read
    from ase.io.formats import UnknownFileTypeError

    try:
        return read(path, index=index)
    except UnknownFileTypeError as error:
        raise StructureInputError(
            f"{str(path)!r} is not a structure file ASE recognises ({error}); "
            f"use a file type such as {_KNOWN_TYPES}"
        ) from error
    except (StopIteration, IndexError) as error:
        raise _index_error(path, index) from error
    except Exception as error:  # ASE raises many types (AssertionError, KeyError, ...)
        kind = type(error).__name__
        raise StructureInputError(
            f"cannot read {str(path)!r} as a structure ({kind}: {error}); "
            "the file is damaged or not in the format its name says"
        ) from error


def _index_error(path: Path, index: int | slice) -> StructureInputError:
    from ase.io import read

    text = _index_text(index)
    try:
        count = len(read(path, index=":"))
    except Exception:  # noqa: BLE001 - the count only improves the message
        return StructureInputError(f"index {text} lies past the end of {str(path)!r}")
    if count == 0:
        return StructureInputError(
            f"{str(path)!r} holds no structure ASE can read; the file is damaged or not in "
            "the format its name says"
        )
    return StructureInputError(
        f"index {text} lies past the end of {str(path)!r}, which holds {count} frame(s) "
        f"(valid: 0..{count - 1} or -{count}..-1)"
    )


def _index_text(index: int | slice) -> str:
    if isinstance(index, int):
        return str(index)
    text = ":".join("" if v is None else str(v) for v in (index.start, index.stop))
    return text if index.step is None else f"{text}:{index.step}"


def read_structures(path: str | Path, index: str | int = ":") -> list[Atoms]:
    """Read the frames ``index`` selects from any structure file ASE reads.

    Every frame is checked with :func:`check_structure` (without a species list).

    Args:
        path: Structure file (CIF, POSCAR, extxyz, ASE trajectory, ...).
        index: ASE index: an integer, a slice, or their text form (``"-1"``, ``":"``).

    Returns:
        The frames, without calculators; at least one.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        StructureInputError: For any other problem (see the module docstring).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"structure file {str(path)!r} does not exist")
    if not path.is_file():
        raise StructureInputError(f"{str(path)!r} is a folder, not a structure file")
    if path.stat().st_size == 0:
        raise StructureInputError(f"structure file {str(path)!r} is empty")
    selected = parse_index(index)
    frames = _read(path, selected)
    frames = frames if isinstance(frames, list) else [frames]
    if not frames:
        raise _index_error(path, selected)
    for number, atoms in enumerate(frames):
        atoms.calc = None
        source = str(path) if len(frames) == 1 else f"{path} (frame {number})"
        check_structure(atoms, source)
    return frames


def read_structure(path: str | Path, index: str | int = -1) -> Atoms:
    """Read and check one frame (default: the last) of a structure file.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        StructureInputError: As :func:`read_structures`, or when ``index`` selects several
            frames.
    """
    if isinstance(parse_index(index), slice):
        raise StructureInputError(f"{str(path)!r}: index {index!r} selects several frames")
    return read_structures(path, index)[0]


def read_structure_files(
    files: Sequence[str | Path],
    index: str | int = ":",
    species: Sequence[int] | None = None,
    who: str = "the model",
) -> list[tuple[Path, int, Atoms]]:
    """Read and check the frames of several files (seed structures, fine-tuning data).

    Args:
        files: Structure files.
        index: ASE index applied to each file.
        species: Atomic numbers that must cover every frame (``None``: any element).
        who: What knows ``species``, for the message.

    Returns:
        ``(file, frame_number, atoms)`` per frame.
    """
    frames = []
    for file in files:
        for number, atoms in enumerate(read_structures(file, index)):
            source = f"{file} (frame {number})"
            check_species(atoms.get_atomic_numbers(), species, source, who=who)
            frames.append((Path(file), number, atoms))
    return frames


def output_format(path: str | Path) -> str:
    """The ASE format a structure written to ``path`` gets, from its name.

    Raises:
        StructureInputError: If ASE cannot tell a writable format from the name.
    """
    from ase.io.formats import UnknownFileTypeError, filetype, ioformats

    try:
        name = filetype(str(path), read=False)
        writable = ioformats[name].can_write
    except (UnknownFileTypeError, KeyError):
        name, writable = None, False
    if not writable or name is None:
        raise StructureInputError(
            f"cannot tell a structure format ASE writes from the name {str(path)!r}; "
            f"end it in one of {_KNOWN_TYPES}"
        )
    return name


def check_structure(atoms: Atoms, source: str, species: Sequence[int] | None = None) -> None:
    """Raise :class:`StructureInputError` when ``atoms`` cannot be simulated.

    Args:
        atoms: The structure.
        source: Where it came from (a file name), for the message.
        species: Atomic numbers a model knows; ``None`` checks only for real elements.
    """
    if len(atoms) == 0:
        raise StructureInputError(f"{source!r} contains no atoms")
    if not np.all(np.isfinite(atoms.get_cell().array)):
        raise StructureInputError(f"{source!r}: the cell contains NaN or inf")
    check_species(atoms.get_atomic_numbers(), species, source)
    try:
        neighbor_list(atoms, cutoff=2 * DEFAULT_MIN_DISTANCE, min_distance=DEFAULT_MIN_DISTANCE)
    except StructureError as error:
        raise StructureInputError(f"{source!r}: {error}") from None


def _symbol(number: int) -> str:
    if 0 < number < len(chemical_symbols):
        return chemical_symbols[number]
    return "X (Z=0, a placeholder)" if number == 0 else f"Z={number}"


def check_species(
    numbers: np.ndarray,
    supported: Sequence[int] | None,
    source: str | None = None,
    who: str = "the model",
) -> None:
    """Raise :class:`StructureInputError` naming elements outside ``supported``.

    Args:
        numbers: Atomic numbers of a structure, shape (N,).
        supported: Atomic numbers a model knows; ``None`` accepts every real element
            (Z = 1..118) and refuses only placeholders such as ``X`` (Z = 0).
        source: Where the structure came from, for the message.
        who: What knows ``supported``, for the message.
    """
    present = {int(z) for z in numbers}
    where = f"{source!r}: " if source else ""
    if supported is None:
        unknown = sorted(z for z in present if not 0 < z < len(chemical_symbols))
        if unknown:
            raise StructureInputError(
                f"{where}unknown element(s) {', '.join(_symbol(z) for z in unknown)} "
                "(not a chemical element)"
            )
        return
    unknown = sorted(present - {int(z) for z in supported})
    if unknown:
        known = " ".join(_symbol(int(z)) for z in sorted(supported))
        raise StructureInputError(
            f"{where}{who} does not know element(s) "
            f"{', '.join(_symbol(z) for z in unknown)}; it supports: {known}"
        )
