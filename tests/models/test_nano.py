"""The student's forward pass: the optional ``atom_depth`` input keeps wanted energies exact."""

import numpy as np
import pytest
import torch
from ase import Atoms

from nanomlip import _keys as K
from nanomlip import build_model
from nanomlip.data import atoms_to_graph
from nanomlip.data.graph import hop_depth


def _cluster(count: int = 40, seed: int = 0) -> Atoms:
    """A 30 x 6 x 6 Å rod, atoms sorted along it: the first ones are its left end."""
    rng = np.random.default_rng(seed)
    positions = rng.uniform(0.0, 1.0, (count, 3)) * [30.0, 6.0, 6.0]
    positions = positions[np.argsort(positions[:, 0])]
    return Atoms(numbers=rng.choice([8, 14], count), positions=positions, pbc=False)


def _wanted_energy_and_gradient(model, graph, wanted):
    graph = {k: v.clone() for k, v in graph.items()}
    graph[K.POSITIONS].requires_grad_(True)
    model.compute_forces = False
    energy = model(graph)[K.ATOMIC_ENERGIES][:wanted].sum()
    (gradient,) = torch.autograd.grad([energy], [graph[K.POSITIONS]])
    return energy.detach(), gradient


@pytest.mark.parametrize("preset", ["nano-xs", "nano-3b"])
def test_depth_pruned_messages_give_the_same_wanted_energy_and_forces(preset):
    torch.manual_seed(0)
    model = build_model(preset).double().eval()
    graph = atoms_to_graph(_cluster(), model.cutoff, dtype=torch.float64)
    wanted = 10
    full = _wanted_energy_and_gradient(model, graph, wanted)
    depth = hop_depth(graph[K.EDGE_INDEX], 40, wanted, len(model.layers) - 1)
    assert (depth > 0).any() and (depth == len(model.layers)).any()  # a real pruning
    pruned = _wanted_energy_and_gradient(model, {**graph, K.ATOM_DEPTH: depth}, wanted)
    torch.testing.assert_close(pruned[0], full[0], rtol=0, atol=1e-10)
    torch.testing.assert_close(pruned[1], full[1], rtol=0, atol=1e-10)
    # pruning too far (treating all as unwanted except atom 0) changes the others' energies
    other = hop_depth(graph[K.EDGE_INDEX], 40, 1, len(model.layers) - 1)
    assert not torch.allclose(
        _wanted_energy_and_gradient(model, {**graph, K.ATOM_DEPTH: other}, wanted)[0], full[0]
    )
