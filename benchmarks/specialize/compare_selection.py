"""Which selection picks better frames: spot checks, a committee or chance (EMT world).

A nano-xs student is distilled briefly from EMT on 32 rattled fcc Cu and Al cells (the
"universal" model), then specialised to 16-atom Cu at 300 and 1200 K and strains of
-3/0/+3 % against EMT with each selection method, same seed and budget (3 rounds, 4 fresh
and 6 selected frames per round). Written: ``selection/compare_selection.json`` and ``.md``.

    python benchmarks/specialize/compare_selection.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import torch
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from nanomlip.distill.config import TrainConfig
from nanomlip.distill.data import write_labelled_frames
from nanomlip.distill.specialize import SpecializeOptions, specialize
from nanomlip.distill.trainer import train

EMT_SPEC = "ase:ase.calculators.emt:EMT"
HERE = Path(__file__).parent / "selection"


def emt_frames(symbol: str, count: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    frames = []
    for index in range(count):
        atoms = bulk(symbol, "fcc", cubic=True)
        atoms.set_cell(atoms.cell * (1 + rng.uniform(-0.03, 0.03)), scale_atoms=True)
        atoms.positions += rng.normal(0, 0.08, atoms.positions.shape)
        atoms.calc = EMT()
        atoms.calc = SinglePointCalculator(
            atoms,
            energy=atoms.get_potential_energy(),
            forces=atoms.get_forces(),
            stress=atoms.get_stress(),
        )
        atoms.info["group"] = f"{symbol}-{index}"
        frames.append(atoms)
    return frames


def main() -> None:
    torch.set_num_threads(1)
    root = Path(tempfile.mkdtemp(prefix="compare-selection-"))
    frames = emt_frames("Cu", 16, seed=1) + emt_frames("Al", 16, seed=2)
    data = write_labelled_frames(root / "distill", frames, {"spec": EMT_SPEC, "version": "x"})
    config = TrainConfig(
        preset="nano-xs", max_epochs=6, batch_size=4, val_fraction=0.2, lr=1e-2, progress=False
    )
    train(data, root / "universal", config)
    structure = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 2, 1))
    results = {}
    for method in ("spot", "committee", "random"):
        options = SpecializeOptions(
            teacher=EMT_SPEC,
            model=str(root / "universal" / "model.safetensors"),
            temperatures_K=[300.0, 1200.0],
            strains=[-0.03, 0.0, 0.03],
            md_steps=40,
            sample_every=5,
            test_frames=4,
            select_frames=6,
            method=method,
            committee_size=3,
            max_rounds=3,
            threshold_meV_A=1.0,
            replay_data=str(data),
            forget_frames=6,
            train_steps=60,
        )
        result = specialize([structure], root / method, options)
        results[method] = {
            "fresh_force_mae_meV_A": [r["fresh_force_mae_meV_A"] for r in result["rounds"]],
            "selection_gain": [r.get("selection_gain") for r in result["rounds"]],
            "selected_by": [r.get("selected_by") for r in result["rounds"]],
            "teacher_calls": result["teacher_calls"],
            "cpu_minutes": result["cpu_minutes"],
        }
    (HERE / "compare_selection.json").write_text(json.dumps(results, indent=2))
    lines = [
        "| method | fresh F MAE per round (meV/Å) | selection gain per round | teacher calls "
        "| CPU min |",
        "|---|---|---|---|---|",
    ]
    for method, r in results.items():
        gains = ", ".join("-" if g is None else f"{g:.2f}" for g in r["selection_gain"])
        errors = ", ".join(f"{e:.1f}" for e in r["fresh_force_mae_meV_A"])
        lines.append(
            f"| {method} | {errors} | {gains} | {r['teacher_calls']} | {r['cpu_minutes']:.2f} |"
        )
    (HERE / "compare_selection.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
