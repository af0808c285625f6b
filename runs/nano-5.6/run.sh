#!/usr/bin/env bash
# nano-5.6 (issue #11, session 9), as run: two steps from worktrees pinned at 1b4347d, one thread each.
# Step 1: nano-5.5's run (runs/nano-5.5/run.sh pair: nano-5.4 grown with species-pair radial
# weights, 4 epochs over the 108,679-frame mix ALL) resumed from its checkpoint at step 14,000 by
# rerunning its command without max_steps, to the end of its 4-epoch cosine (step 27,172).
nanomlip finetune --data ALL --model nano-5.4 --replay 0 --holdout 0 --keep-references \
  --config configs/finetune-nano-5.1.yaml --set max_epochs=4 --set max_minutes=85 --set lr=0.001 \
  --set warmup_steps=200 --set model.species_pair_radial=true --no-progress --out STEP1
# Step 2: the elemental solids of distill-v9 with the mix replayed (as nano-5.4's second step).
nanomlip finetune --data datasets/distill-v9 --model STEP1/model.safetensors --replay 0.75 \
  --replay-data ALL --holdout 0 --keep-references --config configs/finetune-nano-5.1.yaml \
  --set max_epochs=6 --set max_minutes=25 --set lr=0.0005 --set warmup_steps=100 --no-progress --out RUN
