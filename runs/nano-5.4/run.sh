#!/bin/bash
# nano-5.4 (issue #11, session 7), step 2: nano-5.4-v7 (nano-5.3 + v7 chunks 133-233) fine-tuned on
# the elemental solids of distill-v9 again, with 3 pool frames replayed per new one (nano-5.3's recipe):
# step 1 lost diamond Si/Ge (+53/+103 -> +158/+147 meV/atom) with v9 only 7 % of its replay.
set -e
wt=/work/wt/train8
cd $wt; export PYTHONPATH=$wt/src OMP_NUM_THREADS=1; . /work/main/.venv/bin/activate
D=/work/data/s8
/usr/bin/time -v nanomlip finetune --data /work/main/datasets/distill-v9 --model $D/nano-5.4-v7/model.safetensors --replay 0.75 --replay-data $D/pool --holdout 0 --keep-references --config configs/finetune-nano-5.1.yaml --set max_epochs=6 --set max_minutes=25 --set lr=0.0005 --set warmup_steps=100 --no-progress --out $D/nano-5.4 > $D/nano-5.4.log 2>&1
nanomlip eval --model $D/nano-5.4/model.safetensors --data /tmp/v5-heldout --split all --out $D/eval-nano-5.4 > $D/eval-nano-5.4.log 2>&1
nanomlip eval --model $D/nano-5.4/model.safetensors --data /work/main/datasets/distill-v4 --split val --split-of nano-5.0 --out $D/eval-v4-nano-5.4 > $D/eval-v4-nano-5.4.log 2>&1
python benchmarks/fidelity/structures_check.py --model $D/nano-5.4/model.safetensors --out $D/structures-5.4.md > $D/structures-5.4.log 2>&1
nanomlip bench lattice --models nano-5.4=student:$D/nano-5.4/model.safetensors,nano-5.3=student:nano-5.3,teacher:sevennet:7net-mf-0@PBE --threads 1 --out $D/lattice-5.4 > $D/lattice-5.4.log 2>&1
nanomlip bench eos --models nano-5.4=student:$D/nano-5.4/model.safetensors,nano-5.3=student:nano-5.3,teacher:sevennet:7net-mf-0@PBE --threads 1 --out $D/eos-5.4 > $D/eos-5.4.log 2>&1
