#!/usr/bin/env bash
# nano-5.8 (issue #11, session 11), as run from a worktree pinned at f5c68ef, one thread each.
# The mix (125,054 frames), from committed data (distill-v7 chunks 0-406):
python benchmarks/fidelity/training_mix.py --data datasets/distill-v5 --data datasets/distill-v7 \
  --chunks datasets/distill-v7=:407 --data datasets/distill-v6 --exclude-run runs/nano-5.1 --out REAL3
python benchmarks/fidelity/training_mix.py --data REAL3 --data datasets/distill-v9 --data datasets/distill-v9 \
  --data datasets/distill-v4 --train-split-of datasets/distill-v4=nano-5.0 --out ALL3
# Step 1 (step1/): nano-5.7's recipe again from nano-5.7, on the rebuilt mix.
nanomlip distill --data ALL3 --config configs/finetune-nano-5.1.yaml \
  --set init_from=src/nanomlip/pretrained/nano-5.7.safetensors --set val_fraction=0 \
  --set max_epochs=3 --set max_minutes=85 --set lr=0.0007 --set warmup_steps=200 \
  --set 'category_weights={bulk: 0.3, equilibrium: 0.3, rattled: 0.3, strained: 0.3, random_crystal: 0.3, substitution: 0.3, surface: 0.3, close_contact: 0.3, vacancy: 0.3, amorphous: 0.3}' \
  --no-progress --out STEP1
# Step 2: the elemental solids of distill-v9 with the mix replayed (as nano-5.6's second step).
nanomlip finetune --data datasets/distill-v9 --model STEP1/model.safetensors --replay 0.75 \
  --replay-data ALL3 --holdout 0 --keep-references --config configs/finetune-nano-5.1.yaml \
  --set max_epochs=6 --set max_minutes=25 --set lr=0.0005 --set warmup_steps=100 --no-progress --out RUN
