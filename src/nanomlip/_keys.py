"""Names of the tensors that travel through nanomlip as one batch dictionary.

A batch is a plain ``dict[str, torch.Tensor]``. Every stage (graph building,
model, losses, calculators) reads and writes it through these constants so that
a typo fails loudly at import time instead of silently at run time.

Shapes use ``N`` for atoms in the batch, ``E`` for directed edges and ``B`` for
structures (graphs) in the batch.

The arrays of the labelled dataset store on disk, with their dtypes and units, are listed
in :mod:`nanomlip.data.schema` in the same way.
"""

from typing import Final

# --- per atom -------------------------------------------------------------
POSITIONS: Final[str] = "positions"  # (N, 3) float, Å
ATOMIC_NUMBERS: Final[str] = "atomic_numbers"  # (N,) int64
BATCH: Final[str] = "batch"  # (N,) int64, index of the structure each atom belongs to
# Optional. Hops from the atoms whose energies are wanted (0 for them). With it, block l of
# L computes messages only to atoms of depth <= L - 1 - l: exact for depth-0 energies (and
# their gradients), meaningless for the others. Domain decomposition uses it for ghosts.
ATOM_DEPTH: Final[str] = "atom_depth"  # (N,) int64

# --- per edge (directed, i <- j) ---------------------------------------------
EDGE_INDEX: Final[str] = "edge_index"  # (2, E) int64; row 0 = centre i, row 1 = neighbour j
EDGE_CELL_SHIFT: Final[str] = "edge_cell_shift"  # (E, 3) float, integer lattice shifts S
# edge vector r_ij = pos[j] - pos[i] + S @ cell[batch[i]]  (Å)

# --- per structure -----------------------------------------------------------
CELL: Final[str] = "cell"  # (B, 3, 3) float, rows are lattice vectors, Å
PBC: Final[str] = "pbc"  # (B, 3) bool
NUM_ATOMS: Final[str] = "num_atoms"  # (B,) int64

# --- model outputs -------------------------------------------------------------
ENERGY: Final[str] = "energy"  # (B,) float, eV
ATOMIC_ENERGIES: Final[str] = "atomic_energies"  # (N,) float, eV
FORCES: Final[str] = "forces"  # (N, 3) float, eV/Å
STRESS: Final[str] = "stress"  # (B, 3, 3) float, eV/Å^3, ASE sign convention (dE/dε / V)
VIRIAL: Final[str] = "virial"  # (B, 3, 3) float, eV, -dE/dε
