#!/bin/bash
# Issue #11, fidelity per CPU-hour at more data (session 7): nano-5.2-l2 (l <= 2 node features,
# 60,969 parameters) given nano-5.4-v7's step (v7 chunks 133-233 + the same pool replayed), with
# its epochs cut to equal CPU (3 against 5: it trains at ~90 against ~150 frames/s).
set -e
while pgrep -f bench_b.sh > /dev/null; do sleep 20; done
wt=/work/wt/train8
cd $wt; export PYTHONPATH=$wt/src OMP_NUM_THREADS=1; . /work/main/.venv/bin/activate
D=/work/data/s8
/usr/bin/time -v nanomlip finetune --data $D/new --model /work/main/runs/nano-5.2-l2/model.safetensors --replay 0.6 --replay-data $D/pool --holdout 0 --keep-references --config configs/finetune-nano-5.1.yaml --set max_epochs=3 --set max_minutes=35 --set lr=0.0005 --set warmup_steps=100 --no-progress --out $D/nano-5.4-l2 > $D/nano-5.4-l2.log 2>&1
nanomlip eval --model $D/nano-5.4-l2/model.safetensors --data /tmp/v5-heldout --split all --out $D/eval-nano-5.4-l2 > $D/eval-nano-5.4-l2.log 2>&1
nanomlip bench lattice --models nano-5.4-l2=student:$D/nano-5.4-l2/model.safetensors,teacher:sevennet:7net-mf-0@PBE --threads 1 --out $D/lattice-5.4-l2 > $D/lattice-5.4-l2.log 2>&1
nanomlip bench eos --models nano-5.4-l2=student:$D/nano-5.4-l2/model.safetensors,teacher:sevennet:7net-mf-0@PBE --threads 1 --out $D/eos-5.4-l2 > $D/eos-5.4-l2.log 2>&1
