"""The labelled dataset on disk: a folder of compressed NumPy chunks plus a manifest.

Why this format:

* **fast to train from** — a chunk is a handful of contiguous arrays
  (positions, numbers, forces, ...) that load with one ``np.load`` each and
  concatenate without per-frame Python objects;
* **easy to inspect** — ``np.load("chunk-000000.npz")`` in any Python, no
  nanomlip needed, and ``nanomlip data info`` / ``nanomlip data export`` (extxyz);
* **safe** — ``allow_pickle=False`` everywhere, strings are fixed-width Unicode
  arrays, so reading a dataset never runs code;
* **crash-proof and resumable** — chunk ``k`` always holds the frames
  ``[k * chunk_size, (k + 1) * chunk_size)`` of the recipe and is written to a
  temporary file and renamed, so it either exists complete or not at all, and a
  rerun simply labels the chunks that are missing: no duplicates, nothing lost;
* **compact in git** — ``savez_compressed`` (zip/deflate).

Layout::

    DIR/manifest.json              teacher provenance, recipe, chunk size
    DIR/chunks/chunk-000000.npz    frames 0 .. chunk_size-1 (accepted + rejected records)

The arrays of a chunk (names, dtypes, shapes, units) are listed once, in
:mod:`nanomlip.data.schema`; the writer below follows that list.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.data import chemical_symbols

from nanomlip._files import temporary_file
from nanomlip.data.schema import CHUNK_ARRAYS, PER_ATOM, TEXT_FIELDS, ArraySpec

DATASET_FORMAT = "nanomlip-dataset"
DATASET_VERSION = 1
MANIFEST = "manifest.json"
CHUNK_DIR = "chunks"


class DatasetError(ValueError):
    """A dataset folder that is missing, damaged or inconsistent."""


def chunk_path(root: Path, chunk_id: int) -> Path:
    return Path(root) / CHUNK_DIR / f"chunk-{chunk_id:06d}.npz"


def existing_chunks(root: Path) -> list[int]:
    """Ids of the complete chunk files in ``root`` (temporary files are ignored)."""
    folder = Path(root) / CHUNK_DIR
    if not folder.is_dir():
        return []
    ids = []
    for path in folder.glob("chunk-*.npz"):
        try:
            ids.append(int(path.stem.split("-")[1]))
        except (IndexError, ValueError):
            continue
    return sorted(ids)


@dataclass
class ChunkWriter:
    """Collects the labelled and rejected frames of one chunk, then writes it atomically."""

    chunk_id: int
    frames: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    labeling_seconds: float = 0.0

    def add(
        self,
        atoms: Atoms,
        frame_index: int,
        energy: float,
        forces: np.ndarray,
        stress: np.ndarray | None,
        energies: np.ndarray | None,
    ) -> None:
        """Add one accepted frame. ``stress`` is Voigt (6,), eV/Å^3."""
        self.frames.append(
            {
                "frame_index": frame_index,
                "numbers": atoms.get_atomic_numbers().astype(np.uint8),
                "positions": atoms.get_positions(),
                "cell": atoms.get_cell().array,
                "pbc": atoms.get_pbc(),
                "energy": float(energy),
                "forces": np.asarray(forces, dtype=np.float32),
                "stress": np.full(6, np.nan) if stress is None else np.asarray(stress, float),
                "energies": np.full(len(atoms), np.nan, np.float32)
                if energies is None
                else np.asarray(energies, np.float32),
                **{key: str(atoms.info.get(key, "")) for key in TEXT_FIELDS},
            }
        )

    def reject(self, frame_index: int, reason: str) -> None:
        self.rejected.append((frame_index, reason))

    def arrays(self) -> dict[str, np.ndarray]:
        """The chunk's arrays, as :data:`nanomlip.data.schema.CHUNK_ARRAYS` lists them."""
        return {spec.name: self._array(spec) for spec in CHUNK_ARRAYS}

    def _array(self, spec: ArraySpec) -> np.ndarray:
        frames, dtype = self.frames, spec.numpy_dtype
        if spec.name == "num_atoms":
            return np.asarray([len(f["numbers"]) for f in frames], dtype=dtype)
        if spec.per == "rejected":
            column = 0 if spec.name == "rejected_frame_index" else 1
            return np.asarray([r[column] for r in self.rejected], dtype=dtype)
        if spec.per == "chunk":
            return np.asarray(self.labeling_seconds)
        if spec.dtype == "U":
            return np.asarray([f[spec.name] for f in frames], dtype=str)
        if not frames:
            return spec.empty()
        if spec.per == "atom":
            return np.concatenate([f[spec.name] for f in frames]).astype(dtype)
        return np.asarray([f[spec.name] for f in frames], dtype=dtype)

    def write(self, root: Path) -> Path:
        """Write ``chunks/chunk-XXXXXX.npz`` atomically (temporary file + rename)."""
        return write_chunk(root, self.chunk_id, self.arrays())


def write_chunk(root: Path, chunk_id: int, arrays: dict[str, np.ndarray]) -> Path:
    """Write the arrays of chunk ``chunk_id`` atomically (temporary file + rename)."""
    target = chunk_path(root, chunk_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_file(target.parent, prefix=".tmp-", suffix=".npz")
    try:
        np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]  # numpy's stub: **kwds
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def remove_stale_temporaries(root: Path) -> None:
    """Delete chunk files a killed worker left half-written (never renamed into place)."""
    for tmp in (Path(root) / CHUNK_DIR).glob(".tmp-*"):
        tmp.unlink(missing_ok=True)


def read_manifest(root: Path) -> dict[str, Any]:
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise DatasetError(f"{str(root)!r} is not a nanomlip dataset (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DatasetError(f"{str(path)!r} is damaged: {error}") from error
    if manifest.get("format") != DATASET_FORMAT:
        raise DatasetError(f"{str(path)!r} is not a nanomlip dataset manifest")
    return manifest


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, root / MANIFEST)


def load_chunk(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError) as error:
        raise DatasetError(
            f"chunk {str(path)!r} is damaged ({error}); delete it and rerun"
        ) from error


def frame_structure(arrays: dict[str, np.ndarray], atom_offsets: np.ndarray, index: int) -> Atoms:
    """Frame ``index`` of chunk or dataset ``arrays`` as bare ``Atoms`` (no labels).

    Args:
        arrays: ``numbers``, ``positions`` (per atom), ``cell``, ``pbc`` (per frame).
        atom_offsets: (F + 1,) first atom of each frame, then the atom count.
        index: Frame position in ``arrays``.
    """
    start, stop = atom_offsets[index], atom_offsets[index + 1]
    return Atoms(
        numbers=arrays["numbers"][start:stop].astype(int),
        positions=arrays["positions"][start:stop].astype(float),
        cell=arrays["cell"][index],
        pbc=arrays["pbc"][index],
    )


class LabeledDataset:
    """All accepted frames of a dataset folder, as contiguous arrays.

    Attributes:
        manifest: The dataset manifest (teacher, recipe, ...).
        arrays: Concatenated per-frame (``energy``, ``stress``, ``cell``, ``pbc``,
            ``num_atoms``, text fields) and per-atom (``numbers``, ``positions``,
            ``forces``, ``energies``, and ``hvp``/``hvp_vector`` where teacher
            Hessian-vector products were added) arrays; ``atom_offsets`` (F + 1,)
            indexes atoms.
        rejected: ``(frame_index, reason)`` of every rejected frame.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        if not self.root.exists():
            raise FileNotFoundError(f"dataset {str(self.root)!r} does not exist")
        self.manifest = read_manifest(self.root)
        chunks = [load_chunk(chunk_path(self.root, k)) for k in existing_chunks(self.root)]
        if not chunks:
            raise DatasetError(f"dataset {str(self.root)!r} has no labelled chunks yet")
        keys = [k for k in chunks[0] if k not in ("labeling_seconds",)]
        self.arrays = {key: np.concatenate([c[key] for c in chunks]) for key in keys}
        self.labeling_seconds = float(sum(float(c["labeling_seconds"]) for c in chunks))
        self.rejected = list(
            zip(
                self.arrays.pop("rejected_frame_index").tolist(),
                self.arrays.pop("rejected_reason").tolist(),
                strict=True,
            )
        )
        order = np.argsort(self.arrays["frame_index"], kind="stable")
        if not np.all(order == np.arange(len(order))):
            self._reorder(order)
        self.atom_offsets = np.concatenate([[0], np.cumsum(self.arrays["num_atoms"])])

    def _reorder(self, order: np.ndarray) -> None:
        offsets = np.concatenate([[0], np.cumsum(self.arrays["num_atoms"])])
        atom_index = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in order])
        for key, value in self.arrays.items():
            self.arrays[key] = value[atom_index] if key in PER_ATOM else value[order]

    def __len__(self) -> int:
        return len(self.arrays["energy"])

    def atoms(self, index: int) -> Atoms:
        """Frame ``index`` as ASE ``Atoms`` with its labels on a SinglePointCalculator."""
        a = self.arrays
        start, stop = self.atom_offsets[index], self.atom_offsets[index + 1]
        atoms = frame_structure(a, self.atom_offsets, index)
        results: dict[str, Any] = {
            "energy": float(a["energy"][index]),
            "free_energy": float(a["energy"][index]),
            "forces": a["forces"][start:stop].astype(float),
        }
        if not np.isnan(a["stress"][index]).any():
            results["stress"] = a["stress"][index]
        energies = a["energies"][start:stop]
        if not np.isnan(energies).any():
            results["energies"] = energies.astype(float)
        atoms.calc = SinglePointCalculator(atoms, **results)
        for key in TEXT_FIELDS:
            atoms.info[key] = str(a[key][index])
        atoms.info["frame_index"] = int(a["frame_index"][index])
        return atoms

    def __iter__(self) -> Iterator[Atoms]:
        for index in range(len(self)):
            yield self.atoms(index)

    def summary(self) -> dict[str, Any]:
        """Counts for ``nanomlip data info``."""
        a = self.arrays
        frame_of_atom = np.repeat(np.arange(len(self)), a["num_atoms"])
        pairs = np.unique(np.stack([frame_of_atom, a["numbers"].astype(np.int64)]), axis=1)
        element_frames = Counter(chemical_symbols[int(z)] for z in pairs[1])
        teacher = self.manifest.get("teacher", {})
        size = sum(p.stat().st_size for p in (self.root / CHUNK_DIR).glob("chunk-*.npz"))
        return {
            "n_frames": len(self),
            "n_atoms": int(a["num_atoms"].sum()),
            "elements": dict(sorted(element_frames.items(), key=lambda kv: -kv[1])),
            "n_elements": len(element_frames),
            "teacher": teacher.get("spec"),
            "teacher_provenance": teacher,
            "categories": dict(Counter(a["category"].tolist()).most_common()),
            "samplers": dict(Counter(a["sampler"].tolist()).most_common()),
            "n_groups": int(len(np.unique(a["group"]))),
            "atoms_per_frame": {
                "min": int(a["num_atoms"].min()),
                "mean": float(a["num_atoms"].mean()),
                "max": int(a["num_atoms"].max()),
            },
            "rejected": dict(Counter(reason.split(":")[0] for _, reason in self.rejected)),
            "n_rejected": len(self.rejected),
            "labeling_seconds": self.labeling_seconds,
            "size_bytes": size,
        }

    def export_extxyz(self, path: str | os.PathLike) -> int:
        """Write every frame to an extended-XYZ file; returns the number written."""
        from ase.io import write

        frames = list(self)
        write(Path(path), frames, format="extxyz")
        return len(frames)
