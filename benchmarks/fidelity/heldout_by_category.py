r"""The original frames (with their sampler categories) of a fine-tune's held-out compositions.

``nanomlip finetune`` writes its held-out frames as category ``user``; this script takes the
held-out groups of a run and writes the same frames from the source dataset, categories kept,
so that ``nanomlip eval`` can report near-equilibrium categories (relaxation, strain, rattle)
apart from defects, surfaces and MD.

    python benchmarks/fidelity/heldout_by_category.py --data datasets/distill-v5 \\
        --run runs/nano-5.1 --out /tmp/v5-heldout
    nanomlip eval --model nano-5.1 --data /tmp/v5-heldout --split all --out DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nanomlip.data.store import read_manifest
from nanomlip.distill.data import write_labelled_frames
from nanomlip.distill.user_data import read_labelled_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the fine-tune's dataset")
    parser.add_argument("--run", type=Path, required=True, help="the fine-tune's run folder")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    held = {str(a.info.get("group", "")) for a in read_labelled_frames(args.run / "heldout")}
    groups = {g.split(":", 1)[1] for g in held if ":" in g}  # "user:corpus:X" -> "corpus:X"
    # Every frame of a held-out composition is unseen by the fine-tune, also frames labelled
    # after it started (the dataset may have grown since).
    frames = read_labelled_frames(args.data)
    kept = [a for a in frames if str(a.info.get("group", "")) in groups]
    teacher = read_manifest(args.data)["teacher"]
    write_labelled_frames(args.out, kept, teacher)
    print(f"{len(kept)} frames of {len(groups)} held-out groups -> {args.out}")


if __name__ == "__main__":
    main()
