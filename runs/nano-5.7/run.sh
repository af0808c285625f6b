#!/usr/bin/env bash
# nano-5.7 (issue #11, session 10), as run from a worktree pinned at a438f5b, one thread each;
# the control (runs/nano-5.7/control) is the same command without category_weights, side by side.
# The mix (121,454 frames), from committed data:
python benchmarks/fidelity/training_mix.py --data datasets/distill-v5 --data datasets/distill-v7 \
  --chunks datasets/distill-v7=:382 --data datasets/distill-v6 --exclude-run runs/nano-5.1 --out REAL2
python benchmarks/fidelity/training_mix.py --data REAL2 --data datasets/distill-v9 --data datasets/distill-v9 \
  --data datasets/distill-v4 --train-split-of datasets/distill-v4=nano-5.0 --out ALL2
# `distill` with init_from, not `finetune`: a fine-tune trains every frame as category 'user',
# so the data's own categories can only be weighted here.
nanomlip distill --data ALL2 --config configs/finetune-nano-5.1.yaml \
  --set init_from=src/nanomlip/pretrained/nano-5.6.safetensors --set val_fraction=0 \
  --set max_epochs=3 --set max_minutes=80 --set lr=0.0007 --set warmup_steps=200 \
  --set 'category_weights={bulk: 0.3, equilibrium: 0.3, rattled: 0.3, strained: 0.3, random_crystal: 0.3, substitution: 0.3, surface: 0.3, close_contact: 0.3, vacancy: 0.3, amorphous: 0.3}' \
  --no-progress --out RUN
