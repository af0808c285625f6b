"""Atoms to graphs, batching, and (later) labelled dataset storage."""

from nanomlip.data.graph import (
    StructureError,
    atoms_to_graph,
    batch_atoms,
    collate,
    neighbor_list,
    to_device,
)

__all__ = [
    "StructureError",
    "atoms_to_graph",
    "batch_atoms",
    "collate",
    "neighbor_list",
    "to_device",
]
