r"""How well can a student architecture fit a small set of teacher-labelled frames?

Trains a fresh student on 128 frames of one category of a dataset (the same frames for
every architecture) and prints the training-set energy and force MAE every 500 steps.
A model that cannot fit 128 frames is capacity-limited; one that fits them but not the
held-out frames of a full run is limited by data and training time.

Example (the figures in benchmarks/capacity/capacity.md):
    python benchmarks/capacity/fit_subset.py --data datasets/distill-v4 --steps 2000
    python benchmarks/capacity/fit_subset.py --data datasets/distill-v4 \
        --set species_self_connection=true
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import yaml

from nanomlip.data.graph import collate
from nanomlip.data.store import LabeledDataset
from nanomlip.distill import data as D
from nanomlip.distill import stats
from nanomlip.distill.losses import LossSettings, distillation_loss
from nanomlip.models import build_model


def labelled_graphs(frames, cutoff: float) -> list[dict]:
    graphs = []
    for atoms in frames:
        graph = D.atoms_to_graph(atoms, cutoff, dtype=torch.float64)
        n = len(atoms)
        graph[D.TARGET_ENERGY] = torch.tensor([atoms.get_potential_energy()], dtype=torch.float64)
        graph[D.TARGET_FORCES] = torch.as_tensor(atoms.get_forces(), dtype=torch.float64)
        graph[D.TARGET_STRESS] = torch.zeros(1, 3, 3, dtype=torch.float64)
        graph[D.STRESS_MASK] = torch.zeros(1, dtype=torch.float64)
        graph[D.TARGET_ATOMIC_ENERGIES] = torch.zeros(n, dtype=torch.float64)
        graph[D.ATOMIC_ENERGIES_MASK] = torch.zeros(n, dtype=torch.float64)
        graphs.append(graph)
    return graphs


def training_error(model, graphs, batch_size: int) -> tuple[float, float]:
    """Energy MAE (meV/atom) and force MAE (meV/Å) over ``graphs``."""
    model.eval()
    energy, forces = [], []
    for start in range(0, len(graphs), batch_size):
        batch = collate(graphs[start : start + batch_size])
        out = model(batch)
        per_atom = (out["energy"] - batch[D.TARGET_ENERGY]) / batch["num_atoms"]
        energy.append(per_atom.abs().detach().numpy())
        forces.append((out["forces"] - batch[D.TARGET_FORCES]).abs().detach().numpy().ravel())
    model.train()
    return 1000 * np.concatenate(energy).mean(), 1000 * np.concatenate(forces).mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--category", default="bulk")
    parser.add_argument("--frames", type=int, default=128)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--preset", default="nano-5.0")
    parser.add_argument("--set", action="append", default=[], help="model field=value")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    overrides = {}
    for item in args.set:
        key, value = item.split("=", 1)
        overrides[key] = yaml.safe_load(value)
    dataset = LabeledDataset(args.data)
    categories = np.asarray(dataset.arrays["category"])
    chosen = np.random.default_rng(0).choice(
        np.where(categories == args.category)[0], args.frames, replace=False
    )
    frames = [dataset.atoms(int(i)) for i in chosen]
    model = build_model(args.preset, **overrides).double()
    numbers = np.concatenate([atoms.numbers for atoms in frames])
    shifts = stats.reference_energies(
        numbers,
        np.array([len(atoms) for atoms in frames]),
        np.array([atoms.get_potential_energy() for atoms in frames]),
    )
    for z, value in shifts.items():
        model.atomic_energy_shift[z] = value
    graphs = labelled_graphs(frames, model.cutoff)
    settings = LossSettings(huber_delta=0.01, energy_weight=1.0, forces_weight=10.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    model.train()
    batch_size, started = 16, time.perf_counter()
    label = np.mean([np.abs(atoms.get_forces()).mean() for atoms in frames]) * 1000
    print(
        f"{args.frames} {args.category} frames, mean |F component| {label:.0f} meV/Å, "
        f"model {overrides or args.preset}, {model.num_parameters()} parameters"
    )
    for step in range(args.steps):
        start = (step * batch_size) % len(graphs)
        batch = collate(graphs[start : start + batch_size])
        loss = distillation_loss(model, batch, model(batch), settings)[0]
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        if (step + 1) % 500 == 0:
            energy, forces = training_error(model, graphs, batch_size)
            elapsed = time.perf_counter() - started
            print(
                f"step {step + 1}: training E MAE {energy:.1f} meV/atom, "
                f"F MAE {forces:.1f} meV/Å ({elapsed:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
