#!/bin/bash
# nano-5.4 (issue #11, session 7): nano-5.3 fine-tuned on distill-v7's chunks 133-233 (the
# 14,499 frames nano-5.3 never saw, nano-5.1's held-out compositions excluded), replaying the
# pool of everything it learned from (nano-5.2's mix + distill-v9 + distill-v4's training split).
set -e
wt=/work/wt/train8
cd $wt; export PYTHONPATH=$wt/src OMP_NUM_THREADS=1; . /work/main/.venv/bin/activate
D=/work/data/s8
/usr/bin/time -v nanomlip finetune --data $D/new --model nano-5.3 --replay 0.6 --replay-data $D/pool --holdout 0 --keep-references --config configs/finetune-nano-5.1.yaml --set max_epochs=5 --set max_minutes=35 --set lr=0.0005 --set warmup_steps=100 --no-progress --out $D/nano-5.4 > $D/nano-5.4.log 2>&1
nanomlip eval --model $D/nano-5.4/model.safetensors --data /work/data/s5/ft/v5-heldout --split all --out $D/eval-nano-5.4 > $D/eval-nano-5.4.log 2>&1
nanomlip eval --model $D/nano-5.4/model.safetensors --data /work/main/datasets/distill-v4 --split val --split-of nano-5.0 --out $D/eval-v4-nano-5.4 > $D/eval-v4-nano-5.4.log 2>&1
nanomlip bench lattice --models nano-5.4=student:$D/nano-5.4/model.safetensors,nano-5.3=student:nano-5.3,teacher:sevennet:7net-mf-0@PBE --threads 1 --out $D/lattice-5.4 > $D/lattice-5.4.log 2>&1
nanomlip bench eos --models nano-5.4=student:$D/nano-5.4/model.safetensors,nano-5.3=student:nano-5.3,teacher:sevennet:7net-mf-0@PBE --threads 1 --out $D/eos-5.4 > $D/eos-5.4.log 2>&1
python benchmarks/fidelity/structures_check.py --model $D/nano-5.4/model.safetensors --out $D/structures-5.4.md > $D/structures-5.4.log 2>&1
