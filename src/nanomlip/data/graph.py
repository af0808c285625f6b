"""ASE ``Atoms`` to atomic graphs, and batching of many graphs into one.

The neighbour list comes from `vesin <https://github.com/Luthaf/vesin>`_, which
handles triclinic cells of any size (including cells smaller than the cutoff,
where an atom sees many periodic images of itself), molecules without
periodicity and slabs with mixed periodic boundary conditions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import vesin
from ase import Atoms

from nanomlip import _keys as K

#: Two atoms closer than this (Å) are treated as a mistake in the input.
DEFAULT_MIN_DISTANCE = 0.1


class StructureError(ValueError):
    """An input structure that cannot be turned into a graph."""


def _check_structure(atoms: Atoms) -> None:
    positions = atoms.get_positions()
    if not np.all(np.isfinite(positions)):
        raise StructureError(
            "positions contain NaN or inf; check the input file or the simulation that made it"
        )
    pbc = atoms.get_pbc()
    if pbc.any():
        cell = atoms.get_cell().array
        periodic_vectors = cell[pbc]
        if np.any(np.linalg.norm(periodic_vectors, axis=1) < 1e-6):
            raise StructureError(
                f"pbc={pbc.tolist()} but the cell has a zero-length lattice vector in a periodic "
                "direction; set the cell (Å) or turn periodicity off in that direction"
            )
        if pbc.all() and abs(np.linalg.det(cell)) < 1e-6:
            raise StructureError(
                "the periodic cell has zero volume; check that the cell is given in Å"
            )


def neighbor_list(
    atoms: Atoms, cutoff: float, min_distance: float = DEFAULT_MIN_DISTANCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full (both directions) neighbour list of one structure.

    Args:
        atoms: The structure. Cell and pbc are honoured per direction.
        cutoff: Radial cutoff in Å.
        min_distance: Raise if any pair is closer than this (Å). Use 0 to disable.

    Returns:
        ``(i, j, shifts)`` with ``i`` and ``j`` of shape (E,) (int64) and integer
        cell shifts ``shifts`` of shape (E, 3) such that
        ``r_ij = pos[j] - pos[i] + shifts @ cell``.

    Raises:
        StructureError: non-finite positions, a degenerate cell, or overlapping atoms.
    """
    _check_structure(atoms)
    calculator = vesin.NeighborList(cutoff=float(cutoff), full_list=True)
    i, j, shifts, distances = calculator.compute(
        points=atoms.get_positions(),
        box=atoms.get_cell().array,
        periodic=[bool(p) for p in atoms.get_pbc()],
        quantities="ijSd",
    )
    if min_distance > 0 and len(distances) and distances.min() < min_distance:
        k = int(np.argmin(distances))
        raise StructureError(
            f"atoms {int(i[k])} and {int(j[k])} are {distances[k]:.4f} Å apart "
            f"(less than {min_distance} Å): overlapping atoms. Check the structure and that "
            "positions are in Å"
        )
    return i.astype(np.int64), j.astype(np.int64), shifts.astype(np.int64)


def atoms_to_graph(
    atoms: Atoms,
    cutoff: float,
    dtype: torch.dtype | None = None,
    min_distance: float = DEFAULT_MIN_DISTANCE,
) -> dict[str, torch.Tensor]:
    """Build the graph dictionary of one structure (a batch of size one).

    Args:
        atoms: The structure.
        cutoff: Radial cutoff in Å.
        dtype: Float dtype of positions, cell and shifts (default: torch default dtype).
        min_distance: Overlap threshold in Å (see :func:`neighbor_list`).

    Returns:
        A dictionary with the keys of :mod:`nanomlip._keys` for inputs.
    """
    dtype = dtype or torch.get_default_dtype()
    i, j, shifts = neighbor_list(atoms, cutoff, min_distance)
    n_atoms = len(atoms)
    return {
        K.POSITIONS: torch.tensor(atoms.get_positions(), dtype=dtype),
        K.ATOMIC_NUMBERS: torch.tensor(atoms.get_atomic_numbers(), dtype=torch.long),
        K.BATCH: torch.zeros(n_atoms, dtype=torch.long),
        K.EDGE_INDEX: torch.from_numpy(np.stack([i, j])),
        K.EDGE_CELL_SHIFT: torch.from_numpy(shifts).to(dtype),
        K.CELL: torch.tensor(atoms.get_cell().array, dtype=dtype).unsqueeze(0),
        K.PBC: torch.tensor(atoms.get_pbc(), dtype=torch.bool).unsqueeze(0),
        K.NUM_ATOMS: torch.tensor([n_atoms], dtype=torch.long),
    }


def hop_depth(edge_index: torch.Tensor, num_atoms: int, wanted: int, hops: int) -> torch.Tensor:
    """Graph distance (in edges, at most ``hops``) of every atom from the first ``wanted``.

    It is the ``atom_depth`` input (:mod:`nanomlip._keys`) with which a model of ``hops + 1``
    blocks computes only the messages that the first ``wanted`` atoms' energies need, e.g.
    for the owned atoms of a rank among its ghosts.

    Args:
        edge_index: (2, E) int64, row 0 the centre, row 1 the neighbour.
        num_atoms: N, atoms in the graph.
        wanted: The atoms ``0 .. wanted - 1`` get depth 0.
        hops: Largest depth counted; atoms farther away (or unreached) get ``hops + 1``.

    Returns:
        (N,) int64 depths.
    """
    depth = torch.full((num_atoms,), hops + 1, dtype=torch.long)
    depth[:wanted] = 0
    centre, neighbor = edge_index[0], edge_index[1]
    for hop in range(1, hops + 1):
        reached = neighbor[depth[centre] == hop - 1]
        depth[reached] = torch.clamp(depth[reached], max=hop)
    return depth


def collate(graphs: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Join graphs of different sizes into one disconnected batch graph.

    Atom indices in ``edge_index`` are offset and ``batch`` is renumbered, so a
    model sees one graph whose connected components are the input structures.
    Keys other than the graph keys are concatenated along the first dimension.

    Args:
        graphs: Graph dictionaries, each as returned by :func:`atoms_to_graph`
            (possibly already batches themselves).

    Returns:
        The batched dictionary.
    """
    if not graphs:
        raise ValueError("cannot collate an empty list of graphs")
    atom_offset = 0
    graph_offset = 0
    edge_indices, batches = [], []
    for graph in graphs:
        edge_indices.append(graph[K.EDGE_INDEX] + atom_offset)
        batches.append(graph[K.BATCH] + graph_offset)
        atom_offset += graph[K.POSITIONS].shape[0]
        graph_offset += graph[K.NUM_ATOMS].shape[0]
    out = {K.EDGE_INDEX: torch.cat(edge_indices, dim=1), K.BATCH: torch.cat(batches)}
    for key in graphs[0]:
        if key not in out:
            out[key] = torch.cat([graph[key] for graph in graphs], dim=0)
    return out


def batch_atoms(
    structures: Sequence[Atoms],
    cutoff: float,
    dtype: torch.dtype | None = None,
    min_distance: float = DEFAULT_MIN_DISTANCE,
) -> dict[str, torch.Tensor]:
    """Graphs of many structures, batched (see :func:`collate`)."""
    return collate([atoms_to_graph(a, cutoff, dtype, min_distance) for a in structures])


def to_device(
    graph: dict[str, torch.Tensor], device: torch.device | str, dtype: torch.dtype | None = None
) -> dict[str, torch.Tensor]:
    """Move a graph to ``device``, casting floating tensors to ``dtype`` if given."""
    out = {}
    for key, value in graph.items():
        if dtype is not None and value.is_floating_point():
            out[key] = value.to(device=device, dtype=dtype)
        else:
            out[key] = value.to(device=device)
    return out
