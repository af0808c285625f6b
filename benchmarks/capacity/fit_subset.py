r"""How well can a student architecture fit a small set of teacher-labelled frames?

Trains a fresh student on 128 frames of one category of a dataset (the same frames for
every architecture) and prints the training-set energy and force MAE every 500 steps.
A model that cannot fit 128 frames is capacity-limited; one that fits them but not the
held-out frames of a full run is limited by data and training time.

The loop is nanomlip's :class:`~nanomlip.distill.trainer.Trainer`, validating on the
training frames themselves: float64, constant learning rate 5e-3 without warm-up, no EMA,
no weight decay, gradient clipping at 10, Huber 0.01 on energy (weight 1) and forces
(weight 10) only, per-element reference energies fitted, no force-RMS energy scale.

Example (capacity.md's figures came from the script's earlier hand-written loop, which
took batches in order instead of the trainer's shuffled ones; see git history):
    python benchmarks/capacity/fit_subset.py --data datasets/distill-v4 --steps 2000
    python benchmarks/capacity/fit_subset.py --data datasets/distill-v4 \
        --set species_self_connection=true
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from nanomlip.data.store import LabeledDataset
from nanomlip.distill.config import apply_values
from nanomlip.distill.setup import resolve_student, student_cutoff, training_data
from nanomlip.distill.trainer import Trainer

#: Steps between the printed training errors.
REPORT_EVERY = 500


def subset_config(preset: str, overrides: dict, steps: int):
    """The training configuration of the fit (see the module docstring)."""
    return apply_values(
        {
            "preset": preset,
            "model": overrides,
            "dtype": "float64",
            "batch_size": 16,
            "max_epochs": 10**6,
            "max_steps": steps,
            "lr": 5e-3,
            "warmup_steps": 0,
            "schedule": "constant",
            "weight_decay": 0.0,
            "ema_decay": 0.0,
            "grad_clip": 10.0,
            "huber_delta": 0.01,
            "energy_weight": 1.0,
            "forces_weight": 10.0,
            "stress_weight": 0.0,
            "hvp_weight": 0.0,
            "energy_scale": "none",
            "eval_every": REPORT_EVERY,
            "checkpoint_every": 10**9,
            "progress": False,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--category", default="bulk")
    parser.add_argument("--frames", type=int, default=128)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--preset", default="nano-5.0")
    parser.add_argument("--set", action="append", default=[], help="model field=value")
    parser.add_argument("--out", type=Path, help="run folder (default: a temporary one)")
    args = parser.parse_args()
    overrides = {}
    for item in args.set:
        key, value = item.split("=", 1)
        overrides[key] = yaml.safe_load(value)
    config = subset_config(args.preset, overrides, args.steps)
    dataset = LabeledDataset(args.data)
    categories = np.asarray(dataset.arrays["category"])
    chosen = np.sort(
        np.random.default_rng(0).choice(
            np.where(categories == args.category)[0], args.frames, replace=False
        )
    )
    data = training_data(dataset, chosen, chosen, student_cutoff(config), config)
    started = time.perf_counter()

    def report(trainer: Trainer) -> None:
        if trainer.state.step % REPORT_EVERY == 0:
            row = trainer.state.history[-1]["report"]["overall"]
            print(
                f"step {trainer.state.step}: training E MAE "
                f"{row['energy_mae_meV_per_atom']:.1f} meV/atom, F MAE "
                f"{row['forces_mae_meV_per_A']:.1f} meV/Å "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )

    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        trainer = Trainer(data, resolve_student(config, data), out, config, [report])
        forces = dataset.arrays["forces"][
            np.concatenate(
                [np.arange(dataset.atom_offsets[i], dataset.atom_offsets[i + 1]) for i in chosen]
            )
        ]
        print(
            f"{args.frames} {args.category} frames, mean |F component| "
            f"{np.abs(forces).mean() * 1000:.0f} meV/Å, model {overrides or args.preset}, "
            f"{trainer.model.num_parameters()} parameters"
        )
        torch.set_num_threads(1)
        trainer.fit()


if __name__ == "__main__":
    main()
