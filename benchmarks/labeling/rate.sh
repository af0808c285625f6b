#!/usr/bin/env bash
# Labelling rate of distill-v5's next chunks: one worker, one thread, before and after the
# batched teacher (one forward pass for many small cells, seeds relaxed in lockstep).
#     bash benchmarks/labeling/rate.sh OLD_SRC NEW_SRC DATASET WORK [CHUNKS]
# OLD_SRC / NEW_SRC: the src/ folders of two checkouts (e.g. git worktrees at two commits);
# DATASET: a distill-v5 folder (its manifest and chunks are copied; the next CHUNKS chunks,
# default 2, are labelled in each copy). Prints seconds, frames and atoms per second.
set -euo pipefail
old="$1"; new="$2"; dataset="$3"; work="$4"; chunks="${5:-2}"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
for side in old new; do
    src="$old"; [[ "$side" == new ]] && src="$new"
    rm -rf "$work/$side" && mkdir -p "$work/$side"
    cp -r "$dataset/manifest.json" "$dataset/chunks" "$work/$side/"
    before=$(ls "$work/$side/chunks" | wc -l)
    start=$(date +%s.%N)
    PYTHONPATH="$src" nanomlip label --teacher sevennet:7net-mf-0@PBE \
        --recipe datasets/recipes/distill-v5.yaml --out "$work/$side" --chunk-size 96 \
        --fast-driver nanomlip:nano-5.0 --workers 1 --max-chunks "$chunks" --no-progress \
        > "$work/$side.log" 2>&1
    seconds=$(python -c "import time; print(round(time.time() - $start, 1))")
    python - "$work/$side" "$before" "$seconds" "$side" <<'PY'
import sys
from pathlib import Path
import numpy as np
root, before, seconds, side = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
new = sorted((root / "chunks").iterdir())[before:]
frames = atoms = 0
for path in new:
    with np.load(path, allow_pickle=False) as chunk:
        frames += len(chunk["energy"])
        atoms += int(chunk["numbers"].shape[0])
print(f"{side}: {len(new)} chunks, {frames} frames, {atoms} atoms in {seconds} s: "
      f"{frames / seconds:.3f} frames/s, {atoms / seconds:.1f} atoms/s")
PY
done
