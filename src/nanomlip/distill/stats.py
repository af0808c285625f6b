r"""Statistics of the training data that initialise the student before training.

=================================================================  ==========================
Equation                                                           Variable
=================================================================  ==========================
:math:`\min_\mu \sum_f (E_f - \sum_Z n_{fZ}\,\mu_Z)^2`              ``reference_energies``
:math:`\sigma = \sqrt{\langle F_{ia}^2 \rangle}` (all or per Z)     ``force_rms_scale``
:math:`\bar n = E_\text{edges} / N_\text{atoms}`                    ``average_num_neighbors``
=================================================================  ==========================

The reference energies :math:`\mu_Z` go to ``atomic_energy_shift`` so that the
network learns residual energies; the RMS force :math:`\sigma` (eV/Å) goes to
``atomic_energy_scale``, so that an output of order one gives forces of the
right size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from nanomlip import _keys as K
from nanomlip.models.config import MAX_ATOMIC_NUMBER

Graph = dict[str, torch.Tensor]


def composition_matrix(
    numbers: np.ndarray, num_atoms: np.ndarray, elements: Sequence[int]
) -> np.ndarray:
    """Element counts of every frame.

    Args:
        numbers: Atomic numbers of all atoms, frame after frame, (N,).
        num_atoms: Atoms per frame, (F,).
        elements: Atomic numbers of the columns, (S,).

    Returns:
        Counts, (F, S) float.
    """
    column = {int(z): k for k, z in enumerate(elements)}
    frame = np.repeat(np.arange(len(num_atoms)), num_atoms)
    counts = np.zeros((len(num_atoms), len(elements)))
    np.add.at(counts, (frame, np.array([column[int(z)] for z in numbers], dtype=int)), 1.0)
    return counts


def reference_energies(
    numbers: np.ndarray, num_atoms: np.ndarray, energy: np.ndarray
) -> dict[int, float]:
    """Per-element energies that best explain total energies (least squares).

    Elements that always appear in the same proportion cannot be told apart; the
    minimum-norm solution then shares the energy between them.

    Args:
        numbers: Atomic numbers, (N,).
        num_atoms: Atoms per frame, (F,).
        energy: Total energies, (F,), eV.

    Returns:
        ``{Z: mu_Z}`` in eV/atom.
    """
    elements = sorted({int(z) for z in numbers})
    counts = composition_matrix(numbers, num_atoms, elements)
    solution, *_ = np.linalg.lstsq(counts, np.asarray(energy, float), rcond=None)
    return {z: float(mu) for z, mu in zip(elements, solution, strict=True)}


def force_rms_scale(numbers: np.ndarray, forces: np.ndarray, per_element: bool) -> dict[int, float]:
    """RMS force component (eV/Å), over all atoms or per element; 1.0 where forces vanish.

    Args:
        numbers: Atomic numbers, (N,).
        forces: Forces, (N, 3), eV/Å.
        per_element: One value per element instead of one shared value.

    Returns:
        ``{Z: sigma_Z}`` for every element in ``numbers``.
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    forces = np.asarray(forces, dtype=float)

    def rms(selection: np.ndarray) -> float:
        value = float(np.sqrt(np.mean(forces[selection] ** 2))) if selection.any() else 0.0
        return value if value > 1e-6 else 1.0

    elements = sorted({int(z) for z in numbers})
    if per_element:
        return {z: rms(numbers == z) for z in elements}
    shared = rms(np.ones(len(numbers), dtype=bool))
    return {z: shared for z in elements}


def average_num_neighbors(graphs: Sequence[Graph]) -> float:
    """Mean number of neighbours within the cutoff per atom (1.0 if there are no edges)."""
    edges = sum(int(g[K.EDGE_INDEX].shape[1]) for g in graphs)
    atoms = sum(int(g[K.POSITIONS].shape[0]) for g in graphs)
    return edges / atoms if edges and atoms else 1.0


def per_element_table(values: dict[int, float], default: float) -> torch.Tensor:
    """A (MAX_ATOMIC_NUMBER + 1,) table indexed by Z, ``default`` elsewhere."""
    table = torch.full((MAX_ATOMIC_NUMBER + 1,), float(default), dtype=torch.float64)
    for z, value in values.items():
        table[int(z)] = float(value)
    return table
