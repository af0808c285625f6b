r"""One labelled dataset from several, without the compositions an earlier run held out.

A model fine-tuned further (nano-5.1 -> its successor) is compared with its parent on the
parent's held-out compositions; those must stay unseen by the successor too, in every
dataset it trains on (distill-v7 continues v5's corpus and meets the same formulas again).

    python benchmarks/fidelity/training_mix.py --data datasets/distill-v5 \
        --data datasets/distill-v7 --data datasets/distill-v6 \
        --exclude-run runs/nano-5.1 --out /tmp/mix
    nanomlip finetune --data /tmp/mix --model nano-5.1 --replay-data datasets/distill-v4 ...

Two filters per dataset keep a later fine-tune's data apart from an earlier one's:
``--chunks datasets/distill-v7=133:`` keeps chunks 133 onwards (Python slice, chunk numbers),
and ``--train-split-of datasets/distill-v4=nano-5.0`` keeps only the frames outside that
model's validation split (so its held-out figures stay held out).

The teacher must be the same in every dataset (the labels are mixed as one level of theory).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np
from ase import Atoms

from nanomlip.data.store import LabeledDataset, read_manifest
from nanomlip.distill.data import write_labelled_frames
from nanomlip.distill.evaluate import split_indices, split_source_metadata
from nanomlip.distill.user_data import read_labelled_frames


def held_out_groups(run: Path) -> set[str]:
    """Groups of a fine-tune's held-out frames (``user:corpus:X`` -> ``corpus:X``)."""
    held = {str(a.info.get("group", "")) for a in read_labelled_frames(run / "heldout")}
    return {g.split(":", 1)[1] if g.startswith("user:") else g for g in held}


def keyed_options(pairs: list[str], flag: str) -> dict[str, str]:
    """``["PATH=VALUE", ...]`` -> ``{PATH: VALUE}``; raises on a pair without ``=``."""
    out = {}
    for pair in pairs:
        path, sep, value = pair.rpartition("=")
        if not sep or not path or not value:
            raise SystemExit(f"{flag} takes DATASET=VALUE, got {pair!r}")
        out[str(Path(path))] = value
    return out


def chunk_slice(text: str) -> slice:
    """``"133:"`` / ``":100"`` / ``"10:20"`` -> a slice of chunk numbers."""
    start, sep, stop = text.partition(":")
    if not sep:
        raise SystemExit(f"--chunks takes START:STOP (either may be empty), got {text!r}")
    return slice(int(start) if start else None, int(stop) if stop else None)


def selected_frames(path: Path, chunks: str | None, train_of: str | None) -> list[Atoms]:
    """The frames of dataset ``path`` in the chunk range and outside a model's validation split."""
    if chunks is None and train_of is None:
        return read_labelled_frames(path)
    dataset = LabeledDataset(path)
    indices = np.arange(len(dataset))
    if chunks is not None:
        window = chunk_slice(chunks)
        chunk_of = dataset.arrays["frame_index"] // int(read_manifest(path)["chunk_size"])
        lo = window.start if window.start is not None else 0
        hi = window.stop if window.stop is not None else int(chunk_of.max()) + 1
        indices = indices[(chunk_of >= lo) & (chunk_of < hi)]
    if train_of is not None:
        val = split_indices(dataset, "val", split_source_metadata(train_of))
        indices = np.setdiff1d(indices, val)
    return [dataset.atoms(int(i)) for i in indices]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append", required=True)
    parser.add_argument("--exclude-run", type=Path, action="append", default=[])
    parser.add_argument("--chunks", action="append", default=[], metavar="DATASET=START:STOP")
    parser.add_argument("--train-split-of", action="append", default=[], metavar="DATASET=MODEL")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    teachers = {read_manifest(path)["teacher"]["spec"] for path in args.data}
    if len(teachers) != 1:
        raise SystemExit(f"the datasets were labelled by different teachers: {sorted(teachers)}")
    chunks = keyed_options(args.chunks, "--chunks")
    train_of = keyed_options(args.train_split_of, "--train-split-of")
    unknown = (set(chunks) | set(train_of)) - {str(p) for p in args.data}
    if unknown:
        raise SystemExit(f"--chunks/--train-split-of name datasets not given as --data: {unknown}")
    excluded = set().union(*(held_out_groups(run) for run in args.exclude_run))
    kept, dropped, taken = [], Counter(), Counter()
    for path in args.data:
        for atoms in selected_frames(path, chunks.get(str(path)), train_of.get(str(path))):
            if str(atoms.info.get("group", "")) in excluded:
                dropped[path.name] += 1
            else:
                kept.append(atoms)
                taken[path.name] += 1
    write_labelled_frames(args.out, kept, read_manifest(args.data[0])["teacher"])
    print(
        f"{len(kept)} frames -> {args.out} ({dict(taken)}); dropped {sum(dropped.values())} "
        f"frames of {len(excluded)} held-out groups ({dict(dropped)})"
    )


if __name__ == "__main__":
    main()
