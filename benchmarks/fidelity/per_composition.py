r"""Energy error per unseen composition: an offset per formula, and does it track rare elements?

For every reduced formula of the held-out frames: the mean and spread of the student's signed
energy error against the teacher labels (meV/atom), and the frame count in the training data
of the formula's rarest element. Prints the worst compositions and two summary figures.

    python benchmarks/fidelity/per_composition.py --model nano-5.4 --heldout /tmp/v5-heldout \
        --train datasets/distill-v5 --train datasets/distill-v7 --train datasets/distill-v9 \
        --out benchmarks/fidelity/nano-5.4/per_composition.md
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import numpy as np
from ase.data import atomic_numbers
from ase.formula import Formula

from nanomlip.data.store import LabeledDataset
from nanomlip.distill.user_data import read_labelled_frames


def element_frame_counts(roots: list[Path]) -> collections.Counter:
    """Number of training frames that hold each atomic number."""
    count: collections.Counter = collections.Counter()
    for root in roots:
        dataset = LabeledDataset(root)
        numbers, offsets = dataset.arrays["numbers"], dataset.atom_offsets
        for i in range(len(dataset)):
            count.update(set(numbers[offsets[i] : offsets[i + 1]].tolist()))
    return count


def signed_errors(model: str, heldout: Path) -> dict[str, list[float]]:
    """Student minus teacher energy per atom (meV), grouped by reduced formula."""
    from nanomlip.integrations.ase_calculator import NanoCalculator

    calculator = NanoCalculator(model=model)
    errors: dict[str, list[float]] = collections.defaultdict(list)
    for atoms in read_labelled_frames(heldout):
        teacher = atoms.get_potential_energy() / len(atoms)
        copy = atoms.copy()
        copy.calc = calculator
        student = copy.get_potential_energy() / len(atoms)
        formula = atoms.get_chemical_formula(empirical=True)
        errors[formula].append(1000.0 * (student - teacher))
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--heldout", type=Path, required=True)
    parser.add_argument("--train", type=Path, action="append", required=True)
    parser.add_argument("--worst", type=int, default=15)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    counts = element_frame_counts(args.train)
    rows = []
    for formula, errs in signed_errors(args.model, args.heldout).items():
        rarest = min(counts[atomic_numbers[s]] for s in Formula(formula).count())
        rows.append((float(np.mean(errs)), float(np.std(errs)), formula, rarest, len(errs)))
    rows.sort(key=lambda r: -abs(r[0]))
    train = " ".join(f"--train {t}" for t in args.train)
    offsets = np.array([abs(r[0]) for r in rows])
    rarity = np.log(np.array([r[3] for r in rows]) + 1.0)
    lines = [
        f"# Energy error per held-out composition: {args.model}",
        "",
        f"Command: `python benchmarks/fidelity/per_composition.py --model {args.model} "
        f"--heldout {args.heldout} {train} --out {args.out}`",
        "",
        f"- {len(rows)} compositions (empirical formulas of the frames); mean |offset| "
        f"{offsets.mean():.1f} meV/atom, mean spread within a composition "
        f"{np.mean([r[1] for r in rows]):.1f} meV/atom",
        f"- correlation of |offset| with log(frames of the rarest element): "
        f"{np.corrcoef(offsets, rarity)[0, 1]:+.2f}",
        "",
        "| composition | frames | E error (meV/atom) | spread | frames of rarest element |",
        "|---|---|---|---|---|",
    ]
    worst = rows[: args.worst]
    lines += [f"| {r[2]} | {r[4]} | {r[0]:+.1f} | {r[1]:.1f} | {r[3]} |" for r in worst]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:7]))


if __name__ == "__main__":
    main()
