r"""One labelled dataset from several, without the compositions an earlier run held out.

A model fine-tuned further (nano-5.1 -> its successor) is compared with its parent on the
parent's held-out compositions; those must stay unseen by the successor too, in every
dataset it trains on (distill-v7 continues v5's corpus and meets the same formulas again).

    python benchmarks/fidelity/training_mix.py --data datasets/distill-v5 \
        --data datasets/distill-v7 --data datasets/distill-v6 \
        --exclude-run runs/nano-5.1 --out /tmp/mix
    nanomlip finetune --data /tmp/mix --model nano-5.1 --replay-data datasets/distill-v4 ...

The teacher must be the same in every dataset (the labels are mixed as one level of theory).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from nanomlip.data.store import read_manifest
from nanomlip.distill.data import write_labelled_frames
from nanomlip.distill.user_data import read_labelled_frames


def held_out_groups(run: Path) -> set[str]:
    """Groups of a fine-tune's held-out frames (``user:corpus:X`` -> ``corpus:X``)."""
    held = {str(a.info.get("group", "")) for a in read_labelled_frames(run / "heldout")}
    return {g.split(":", 1)[1] if g.startswith("user:") else g for g in held}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append", required=True)
    parser.add_argument("--exclude-run", type=Path, action="append", default=[])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    teachers = {read_manifest(path)["teacher"]["spec"] for path in args.data}
    if len(teachers) != 1:
        raise SystemExit(f"the datasets were labelled by different teachers: {sorted(teachers)}")
    excluded = set().union(*(held_out_groups(run) for run in args.exclude_run))
    kept, dropped = [], Counter()
    for path in args.data:
        for atoms in read_labelled_frames(path):
            if str(atoms.info.get("group", "")) in excluded:
                dropped[path.name] += 1
            else:
                kept.append(atoms)
    write_labelled_frames(args.out, kept, read_manifest(args.data[0])["teacher"])
    print(
        f"{len(kept)} frames -> {args.out}; dropped {sum(dropped.values())} frames of "
        f"{len(excluded)} held-out groups ({dict(dropped)})"
    )


if __name__ == "__main__":
    main()
