import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk, fcc111, molecule
from ase.neighborlist import neighbor_list as ase_neighbor_list

from nanomlip import _keys as K
from nanomlip.data import StructureError, atoms_to_graph, batch_atoms, collate


def _pairs(i, j, shifts):
    return sorted(zip(i.tolist(), j.tolist(), map(tuple, np.asarray(shifts).tolist()), strict=True))


def _edge_vectors(graph):
    i, j = graph[K.EDGE_INDEX]
    cell = graph[K.CELL][graph[K.BATCH][i]]
    shift = torch.einsum("ek,ekl->el", graph[K.EDGE_CELL_SHIFT], cell)
    return graph[K.POSITIONS][j] - graph[K.POSITIONS][i] + shift


@pytest.mark.parametrize(
    "atoms",
    [
        Atoms("Si", cell=[[2.0, 0, 0], [0.6, 1.9, 0], [0.3, 0.4, 2.1]], pbc=True),  # cell << cutoff
        bulk("NaCl", "rocksalt", a=5.64),
        molecule("C6H6"),
        fcc111("Cu", size=(2, 2, 3), vacuum=5.0),  # slab: pbc = T, T, F
    ],
    ids=["tiny-triclinic", "primitive-rocksalt", "molecule", "slab"],
)
def test_neighbor_list_matches_ase(atoms):
    cutoff = 5.0
    graph = atoms_to_graph(atoms, cutoff, dtype=torch.float64)
    ours = _pairs(*graph[K.EDGE_INDEX].numpy(), graph[K.EDGE_CELL_SHIFT].numpy().astype(int))
    reference = _pairs(*ase_neighbor_list("ijS", atoms, cutoff))
    assert ours == reference
    lengths = _edge_vectors(graph).norm(dim=1)
    assert lengths.max() <= cutoff and lengths.min() > 0


def test_slab_has_no_images_along_the_vacuum_direction():
    slab = fcc111("Cu", size=(2, 2, 3), vacuum=5.0)
    graph = atoms_to_graph(slab, 5.0)
    assert torch.all(graph[K.EDGE_CELL_SHIFT][:, 2] == 0)


def test_collate_offsets_indices_and_batches():
    a, b = molecule("H2O"), bulk("Si", "diamond", a=5.43)
    ga, gb = atoms_to_graph(a, 4.0), atoms_to_graph(b, 4.0)
    batch = collate([ga, gb])
    assert batch[K.POSITIONS].shape == (len(a) + len(b), 3)
    assert batch[K.NUM_ATOMS].tolist() == [len(a), len(b)]
    assert batch[K.BATCH].tolist() == [0] * len(a) + [1] * len(b)
    n_edges_a = ga[K.EDGE_INDEX].shape[1]
    assert torch.equal(batch[K.EDGE_INDEX][:, n_edges_a:], gb[K.EDGE_INDEX] + len(a))
    assert batch[K.CELL].shape == (2, 3, 3)
    # collating batches again keeps structures apart
    again = collate([batch, ga])
    assert again[K.BATCH].max().item() == 2


def test_batch_atoms_equals_collate():
    structures = [molecule("CH4"), bulk("Cu", "fcc", a=3.6)]
    direct = batch_atoms(structures, 4.0)
    manual = collate([atoms_to_graph(s, 4.0) for s in structures])
    for key in direct:
        assert torch.equal(direct[key], manual[key])


def test_isolated_atom_has_no_edges():
    graph = atoms_to_graph(Atoms("Ar"), 5.0)
    assert graph[K.EDGE_INDEX].shape == (2, 0)


def test_overlapping_atoms_are_rejected_with_their_indices():
    atoms = Atoms("H3", positions=[[0, 0, 0], [1.0, 0, 0], [1.01, 0, 0]])
    with pytest.raises(StructureError, match=r"atoms \d and \d are 0\.0100 Å apart"):
        atoms_to_graph(atoms, 5.0)


def test_non_finite_positions_are_rejected():
    atoms = Atoms("H2", positions=[[0, 0, 0], [np.nan, 0, 0]])
    with pytest.raises(StructureError, match="NaN"):
        atoms_to_graph(atoms, 5.0)


def test_periodic_direction_without_a_cell_is_rejected():
    atoms = Atoms("H2", positions=[[0, 0, 0], [1, 0, 0]], pbc=True)
    with pytest.raises(StructureError, match="zero-length lattice vector"):
        atoms_to_graph(atoms, 5.0)


def test_cell_in_wrong_units_gives_a_hint():
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.set_cell(atoms.cell * 1e-3, scale_atoms=True)  # e.g. a cell given in nm*1e-? mistake
    with pytest.raises(StructureError, match="Å"):
        atoms_to_graph(atoms, 5.0)


def test_hop_depth_counts_edges_from_the_wanted_atoms_and_caps_the_rest():
    from nanomlip.data.graph import hop_depth

    chain = Atoms("H6", positions=[[1.5 * k, 0, 0] for k in range(6)], pbc=False)
    graph = atoms_to_graph(chain, cutoff=2.0)  # neighbours: next in the chain only
    depth = hop_depth(graph[K.EDGE_INDEX], 6, wanted=2, hops=2)
    assert depth.tolist() == [0, 0, 1, 2, 3, 3]
