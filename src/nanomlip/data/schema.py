"""The arrays of a dataset chunk, written once: name, dtype, what they are per, shape and unit.

A chunk (``chunks/chunk-XXXXXX.npz``, see :mod:`nanomlip.data.store`) holds the accepted
frames of a range of recipe frames as contiguous arrays, plus the frames that were
rejected and why. Shapes use ``F`` for accepted frames, ``A`` for their atoms (the sum
of ``num_atoms``) and ``R`` for rejected frames, as ``_keys.py`` does for batches. Units
follow ASE (eV, Å, eV/Å³ with ASE's stress sign). Text arrays are fixed-width Unicode
(``<U``), never objects, so that ``np.load(..., allow_pickle=False)`` reads every chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

#: What one entry of an array belongs to.
Per = Literal["frame", "atom", "rejected", "chunk"]


@dataclass(frozen=True)
class ArraySpec:
    """One array of a chunk.

    Attributes:
        name: Key in the ``.npz`` file.
        dtype: NumPy dtype; ``"U"`` means fixed-width Unicode of any width.
        per: ``frame`` (first axis ``F``), ``atom`` (``A``), ``rejected`` (``R``) or
            ``chunk`` (a scalar).
        trailing: Shape after the first axis.
        unit: Physical unit, ``""`` when there is none.
        meaning: What the values are.
    """

    name: str
    dtype: str
    per: Per
    trailing: tuple[int, ...]
    unit: str
    meaning: str

    def empty(self) -> np.ndarray:
        """The array of a chunk without entries: shape ``(0, *trailing)``."""
        return np.zeros((0, *self.trailing), dtype=self.numpy_dtype)

    @property
    def numpy_dtype(self) -> np.dtype:
        return np.dtype(str) if self.dtype == "U" else np.dtype(self.dtype)


#: Every array a labelled chunk holds, in the order they are written.
CHUNK_ARRAYS: tuple[ArraySpec, ...] = (
    ArraySpec("frame_index", "int64", "frame", (), "", "global index of the frame in the recipe"),
    ArraySpec("num_atoms", "int32", "frame", (), "", "atoms of each frame"),
    ArraySpec("numbers", "uint8", "atom", (), "", "atomic numbers"),
    ArraySpec("positions", "float32", "atom", (3,), "Å", "Cartesian positions (1e-6 Å)"),
    ArraySpec("forces", "float32", "atom", (3,), "eV/Å", "teacher forces"),
    ArraySpec("energies", "float32", "atom", (), "eV", "teacher per-atom energies; NaN: none"),
    ArraySpec("cell", "float64", "frame", (3, 3), "Å", "lattice vectors as rows"),
    ArraySpec("pbc", "bool", "frame", (3,), "", "periodic along each cell vector"),
    ArraySpec("energy", "float64", "frame", (), "eV", "teacher total energy"),
    ArraySpec(
        "stress",
        "float64",
        "frame",
        (6,),
        "eV/Å^3",
        "teacher Voigt stress (xx, yy, zz, yz, xz, xy), ASE sign; NaN: not 3D-periodic",
    ),
    ArraySpec("rejected_frame_index", "int64", "rejected", (), "", "recipe index of a rejection"),
    ArraySpec("rejected_reason", "U", "rejected", (), "", '"kind: detail" of each rejection'),
    ArraySpec("labeling_seconds", "float64", "chunk", (), "s", "wall time of the chunk"),
    ArraySpec("category", "U", "frame", (), "", "sampler category (bulk, molecule, ...)"),
    ArraySpec("group", "U", "frame", (), "", "structure group (kept on one side of a split)"),
    ArraySpec("sampler", "U", "frame", (), "", "registered sampler name"),
    ArraySpec("seed", "U", "frame", (), "", '"recipe_seed/sampler_position/frame_in_sampler"'),
)

#: Arrays that ``nanomlip label-hvp`` adds (NaN on the frames without an HVP).
HVP_ARRAYS: tuple[ArraySpec, ...] = (
    ArraySpec("hvp_vector", "float32", "atom", (3,), "", "direction v, unit variance per entry"),
    ArraySpec("hvp", "float32", "atom", (3,), "eV/Å^2", "teacher Hessian-vector product H v"),
)

#: Every known array by name.
ARRAYS: dict[str, ArraySpec] = {spec.name: spec for spec in (*CHUNK_ARRAYS, *HVP_ARRAYS)}
#: Names of the per-frame text arrays, copied from ``atoms.info``.
TEXT_FIELDS: tuple[str, ...] = tuple(
    spec.name for spec in CHUNK_ARRAYS if spec.dtype == "U" and spec.per == "frame"
)
#: Names of the arrays with one entry per atom.
PER_ATOM: frozenset[str] = frozenset(name for name, spec in ARRAYS.items() if spec.per == "atom")


def chunk_problems(arrays: dict[str, np.ndarray]) -> list[str]:
    """Where a chunk's arrays break the schema (missing, unknown, wrong dtype or shape).

    Args:
        arrays: The arrays of one chunk, as :func:`nanomlip.data.store.load_chunk` returns.

    Returns:
        One line per problem; empty for a chunk that follows the schema.
    """
    problems = [f"missing array {spec.name!r}" for spec in CHUNK_ARRAYS if spec.name not in arrays]
    problems += [f"unknown array {name!r}" for name in arrays if name not in ARRAYS]
    if problems:
        return problems
    lengths = {
        "frame": len(arrays["num_atoms"]),
        "atom": int(arrays["num_atoms"].sum()),
        "rejected": len(arrays["rejected_frame_index"]),
    }
    for name, value in arrays.items():
        spec = ARRAYS[name]
        if spec.dtype == "U" and value.dtype.kind != "U":
            problems.append(f"{name}: dtype {value.dtype}, expected fixed-width Unicode")
        elif spec.dtype != "U" and value.dtype != spec.numpy_dtype:
            problems.append(f"{name}: dtype {value.dtype}, expected {spec.dtype}")
        shape = () if spec.per == "chunk" else (lengths[spec.per], *spec.trailing)
        if value.shape != shape:
            problems.append(f"{name}: shape {value.shape}, expected {shape}")
    return problems
