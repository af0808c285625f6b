"""Training data: labelled frames as precomputed graphs with targets, split and batching.

Targets ride in the graph dictionary next to the inputs, under the keys below, so
that :func:`~nanomlip.data.graph.collate` batches them with the graphs:

==========================  ===========  ==========================================
Key                         Shape        Meaning
==========================  ===========  ==========================================
``target_energy``           (B,)         teacher total energy, eV
``target_forces``           (N, 3)       teacher forces, eV/Å
``target_stress``           (B, 3, 3)    teacher stress, eV/Å^3 (0 where absent)
``stress_mask``             (B,)         1 where the frame has a stress label
``target_atomic_energies``  (N,)         teacher per-atom energies, eV (0 where absent)
``atomic_energies_mask``    (N,)         1 where the atom has a per-atom energy
``hvp_vector``              (N, 3)       direction ``v`` of the Hessian-vector product
``target_hvp``              (N, 3)       teacher ``H v``, eV/Å^2 times the unit of ``v``
``hvp_mask``                (B,)         1 where the frame has a Hessian-vector product
``frame_id``                (B,)         index of the frame in the dataset
``frame_weight``            (B,)         loss weight of the frame (training only,
                                         from ``category_weights``; absent: 1)
==========================  ===========  ==========================================
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import torch
from ase import Atoms

from nanomlip._progress import progress_bar
from nanomlip.data.graph import atoms_to_graph
from nanomlip.data.store import (
    CHUNK_DIR,
    DATASET_FORMAT,
    DATASET_VERSION,
    MANIFEST,
    ChunkWriter,
    LabeledDataset,
    existing_chunks,
    frame_structure,
    write_manifest,
)

TARGET_ENERGY: Final[str] = "target_energy"
TARGET_FORCES: Final[str] = "target_forces"
TARGET_STRESS: Final[str] = "target_stress"
STRESS_MASK: Final[str] = "stress_mask"
TARGET_ATOMIC_ENERGIES: Final[str] = "target_atomic_energies"
ATOMIC_ENERGIES_MASK: Final[str] = "atomic_energies_mask"
HVP_VECTOR: Final[str] = "hvp_vector"
TARGET_HVP: Final[str] = "target_hvp"
HVP_MASK: Final[str] = "hvp_mask"
FRAME_ID: Final[str] = "frame_id"
FRAME_WEIGHT: Final[str] = "frame_weight"

Graph = dict[str, torch.Tensor]


def voigt_to_matrix(voigt: np.ndarray) -> np.ndarray:
    """ASE Voigt order ``(xx, yy, zz, yz, xz, xy)`` (..., 6) to symmetric (..., 3, 3)."""
    xx, yy, zz, yz, xz, xy = np.moveaxis(np.asarray(voigt), -1, 0)
    rows = [[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def matrix_to_voigt(matrix: np.ndarray) -> np.ndarray:
    """(..., 3, 3) to ASE Voigt order (..., 6)."""
    m = np.asarray(matrix)
    return np.stack(
        [m[..., 0, 0], m[..., 1, 1], m[..., 2, 2], m[..., 1, 2], m[..., 0, 2], m[..., 0, 1]], -1
    )


def frame_atoms(dataset: LabeledDataset, index: int) -> Atoms:
    """Frame ``index`` as bare ``Atoms`` (no labels attached)."""
    return frame_structure(dataset.arrays, dataset.atom_offsets, index)


def frame_graph(dataset: LabeledDataset, index: int, cutoff: float, dtype: torch.dtype) -> Graph:
    """Graph of frame ``index`` with its targets (see the module docstring for keys)."""
    a = dataset.arrays
    start, stop = int(dataset.atom_offsets[index]), int(dataset.atom_offsets[index + 1])
    graph = atoms_to_graph(frame_atoms(dataset, index), cutoff, dtype=dtype, min_distance=0.0)

    def tensor(value: npt.ArrayLike) -> torch.Tensor:
        return torch.as_tensor(np.nan_to_num(np.asarray(value, dtype=float)), dtype=dtype)

    stress = a["stress"][index]
    has_stress = bool(np.all(np.isfinite(stress)) and a["pbc"][index].all())
    energies = a["energies"][start:stop]
    graph[TARGET_ENERGY] = tensor([a["energy"][index]])
    graph[TARGET_FORCES] = tensor(a["forces"][start:stop])
    graph[TARGET_STRESS] = tensor(
        voigt_to_matrix(stress)[None] if has_stress else np.zeros((1, 3, 3))
    )
    graph[STRESS_MASK] = tensor([float(has_stress)])
    graph[TARGET_ATOMIC_ENERGIES] = tensor(energies)
    graph[ATOMIC_ENERGIES_MASK] = tensor(np.isfinite(energies).astype(float))
    graph[FRAME_ID] = torch.tensor([index], dtype=torch.long)
    if "hvp" in a and "hvp_vector" in a:
        hvp, vector = a["hvp"][start:stop], a["hvp_vector"][start:stop]
        has_hvp = bool(np.all(np.isfinite(hvp)) and np.all(np.isfinite(vector)))
        graph[TARGET_HVP] = tensor(hvp)
        graph[HVP_VECTOR] = tensor(vector)
        graph[HVP_MASK] = tensor([float(has_hvp)])
    return graph


def set_category_weights(
    graphs: Sequence[Graph], categories: Sequence[str], weights: dict[str, float]
) -> None:
    """Give each graph its ``frame_weight`` from its frame's category (1 if not named).

    Args:
        graphs: Graphs of frames, in the order of ``categories``.
        categories: Category of each frame.
        weights: Weight per category name.

    Raises:
        ValueError: A named category has no frame here.
    """
    unknown = sorted(set(weights) - set(categories))
    if unknown:
        raise ValueError(
            f"category_weights names {unknown}, which no training frame has; "
            f"the categories are {sorted(set(categories))}"
        )
    for graph, category in zip(graphs, categories, strict=True):
        weight = float(weights.get(category, 1.0))
        graph[FRAME_WEIGHT] = torch.full((1,), weight, dtype=graph[TARGET_ENERGY].dtype)


def build_graphs(
    dataset: LabeledDataset,
    indices: Sequence[int] | np.ndarray,
    cutoff: float,
    dtype: torch.dtype,
    progress: bool = False,
) -> list[Graph]:
    """Graphs of the frames ``indices`` (neighbour lists computed once, here)."""
    bar = progress_bar(len(indices), desc="graphs", unit="frame", enabled=progress, leave=False)
    graphs = []
    for i in indices:
        graphs.append(frame_graph(dataset, int(i), cutoff, dtype))
        bar.update(1)
    bar.close()
    return graphs


def split_keys(arrays: dict[str, np.ndarray], split_by: str) -> list[str]:
    """What each frame's validation split keeps whole: its group or its reduced formula.

    Args:
        arrays: Dataset arrays with ``group``, ``numbers`` and ``num_atoms``.
        split_by: ``"group"`` or ``"composition"``.

    Returns:
        One key per frame; a composition key reads like ``"8:1,12:1"`` (Z:count of the
        smallest formula unit, by Z).
    """
    if split_by == "group":
        return arrays["group"].tolist()
    if split_by != "composition":
        raise ValueError(f"split_by must be 'group' or 'composition', got {split_by!r}")
    offsets = np.concatenate([[0], np.cumsum(arrays["num_atoms"])])
    keys = []
    for start, stop in zip(offsets[:-1], offsets[1:], strict=True):
        numbers, counts = np.unique(arrays["numbers"][start:stop], return_counts=True)
        divisor = int(np.gcd.reduce(counts)) if len(counts) else 1
        keys.append(",".join(f"{z}:{n // divisor}" for z, n in zip(numbers, counts, strict=True)))
    return keys


def group_split(
    groups: Sequence[str], val_fraction: float, seed: int, base_frames: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Split frames into training and validation by whole groups.

    Groups are shuffled with ``seed`` and moved to validation until it holds at
    least ``val_fraction`` of the frames; at least one group stays in training.
    Frames without a group (empty string) form one group each.

    With ``base_frames``, only the first ``base_frames`` frames are split that way; every
    later frame joins the side of its group, and a group absent from the base frames goes
    to validation when a hash of ``(seed, group)`` falls below ``val_fraction``. Appending
    frames to a dataset therefore never moves a base frame across the split.

    Args:
        groups: Group name of every frame, length F.
        val_fraction: Target fraction of validation frames, in [0, 1).
        seed: Seed of the group shuffle.
        base_frames: Number of leading frames that define the split (``None``: all).

    Returns:
        ``(train, val)``: sorted frame indices.
    """
    names = [g if g else f"\x00frame-{i}" for i, g in enumerate(groups)]
    base = len(names) if base_frames is None else min(int(base_frames), len(names))
    unique, inverse = np.unique(np.asarray(names[:base], dtype=str), return_inverse=True)
    counts = np.bincount(inverse, minlength=len(unique))
    order = np.random.default_rng(seed).permutation(len(unique))
    target = val_fraction * base
    chosen: list[int] = []
    taken = 0
    for group in order[:-1]:
        if taken >= target:
            break
        chosen.append(int(group))
        taken += int(counts[group])
    is_val = np.isin(inverse, chosen) if val_fraction > 0 else np.zeros(base, bool)
    val_groups = {str(unique[g]) for g in chosen} if val_fraction > 0 else set()
    base_groups = set(unique.tolist())
    later = [
        name in val_groups if name in base_groups else _hashed_to_val(name, seed, val_fraction)
        for name in names[base:]
    ]
    is_val = np.concatenate([is_val, np.asarray(later, dtype=bool)])
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def _hashed_to_val(group: str, seed: int, val_fraction: float) -> bool:
    """Whether a group goes to validation, from a hash of ``(seed, group)`` (stable)."""
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < val_fraction


def make_batches(
    num_atoms: Sequence[int] | np.ndarray,
    order: Sequence[int] | np.ndarray,
    batch_size: int,
    max_atoms: int = 0,
) -> list[list[int]]:
    """Greedy batches of positions in ``order`` limited in frames and atoms.

    Args:
        num_atoms: Atoms of each item.
        order: Item indices in the order to batch them.
        batch_size: Largest number of items per batch.
        max_atoms: Largest number of atoms per batch (0: no limit).

    Returns:
        Batches as lists of item indices.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    atoms = 0
    for item in order:
        n = int(num_atoms[item])
        too_many_atoms = max_atoms > 0 and current and atoms + n > max_atoms
        if len(current) == batch_size or too_many_atoms:
            batches.append(current)
            current, atoms = [], 0
        current.append(int(item))
        atoms += n
    if current:
        batches.append(current)
    return batches


def epoch_order(num_items: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled item order of ``epoch``: a pure function of ``(seed, epoch)``."""
    return np.random.default_rng([seed, epoch]).permutation(num_items)


def iterate_epoch(
    num_atoms: Sequence[int] | np.ndarray, seed: int, epoch: int, batch_size: int, max_atoms: int
) -> Iterator[list[int]]:
    """Batches of one training epoch (reproducible, so a run can resume mid-epoch)."""
    order = epoch_order(len(num_atoms), seed, epoch)
    yield from make_batches(num_atoms, order, batch_size, max_atoms)


def dataset_sha256(root: str | Path) -> str:
    """SHA-256 over the manifest and the SHA-256 of every chunk file, in chunk order."""
    root = Path(root)
    digest = hashlib.sha256((root / MANIFEST).read_bytes())
    for chunk_id in existing_chunks(root):
        path = root / CHUNK_DIR / f"chunk-{chunk_id:06d}.npz"
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).hexdigest().encode())
    return digest.hexdigest()


def frame_elements(dataset: LabeledDataset) -> list[np.ndarray]:
    """Sorted unique atomic numbers of every frame."""
    numbers = dataset.arrays["numbers"].astype(np.int64)
    offsets = dataset.atom_offsets
    return [np.unique(numbers[offsets[i] : offsets[i + 1]]) for i in range(len(dataset))]


def write_labelled_frames(
    root: str | Path,
    frames: Sequence[Atoms],
    teacher: dict[str, object],
    chunk_size: int = 50,
) -> Path:
    """Write structures that carry their labels as a dataset folder (e.g. an imported extxyz).

    Every frame needs a calculator with ``energy`` and ``forces`` results (a
    ``SinglePointCalculator`` is fine); ``stress`` (periodic frames) and ``energies``
    are used when present. ``info["category"]`` and ``info["group"]`` are kept.

    Args:
        root: Dataset folder to create.
        frames: The labelled structures.
        teacher: Provenance for the manifest (``spec``, ``version``, ``task``, ...).
        chunk_size: Frames per chunk file.

    Returns:
        ``root``.
    """
    root = Path(root)
    for chunk_id, start in enumerate(range(0, len(frames), chunk_size)):
        writer = ChunkWriter(chunk_id)
        for index in range(start, min(start + chunk_size, len(frames))):
            atoms = frames[index]
            results = atoms.calc.results if atoms.calc is not None else {}
            if "energy" not in results or "forces" not in results:
                raise ValueError(f"frame {index} has no energy and forces results")
            stress = results.get("stress") if atoms.pbc.all() else None
            energies = results.get("energies")
            writer.add(atoms, index, results["energy"], results["forces"], stress, energies)
        writer.write(root)
    manifest = {
        "format": DATASET_FORMAT,
        "format_version": DATASET_VERSION,
        "teacher": dict(teacher),
        "chunk_size": chunk_size,
        "num_frames": len(frames),
    }
    write_manifest(root, manifest)
    return root
