#!/usr/bin/env bash
# nano-5.5 candidates (issue #11, session 8): nano-5.4 fine-tuned on all real-structure data
# (108,679 frames: v5 + v7 chunks 0-329 + v6 without nano-5.1's 114 held-out compositions,
# v9, v4's training split), 4 epochs, one thread. $1 = pair (grown with species-pair radial
# weights) or ctrl (the same without growth).
set -e
wt=/work/data/wt-train
cd $wt; export PYTHONPATH=$wt/src OMP_NUM_THREADS=1; . /work/main/.venv/bin/activate
extra=()
[ "$1" = pair ] && extra=(--set model.species_pair_radial=true)
/usr/bin/time -v nanomlip finetune --data /work/data/mix/all --model nano-5.4 --replay 0 --holdout 0 \
  --keep-references --config configs/finetune-nano-5.1.yaml --set max_epochs=4 --set max_minutes=85 \
  --set lr=0.001 --set warmup_steps=200 "${extra[@]}" ${MAX_STEPS:+--set max_steps=$MAX_STEPS} --no-progress --out /work/data/runs/$1
