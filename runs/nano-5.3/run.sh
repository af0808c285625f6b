#!/bin/bash
# nano-5.3 (issue #11, session 6): nano-5.2 fine-tuned on distill-v9 (the corpus's elemental
# solids) with 3 frames of the nano-5.2 training mix replayed per new frame; then its held-out eval.
set -e
wt=/work/wt/label9
cd $wt; export PYTHONPATH=$wt/src OMP_NUM_THREADS=1; . /work/main/.venv/bin/activate
D=/work/data/s6
/usr/bin/time -v nanomlip finetune --data /work/data/distill-v9 --model nano-5.2 --replay 0.75 --replay-data $D/mix --holdout 0 --keep-references --config configs/finetune-nano-5.1.yaml --set max_epochs=6 --set max_minutes=25 --set lr=0.0005 --set warmup_steps=100 --no-progress --out $D/nano-5.3 > $D/nano-5.3.log 2>&1
nanomlip eval --model $D/nano-5.3/model.safetensors --data /work/data/s5/ft/v5-heldout --split all --out $D/eval-nano-5.3 > $D/eval-nano-5.3.log 2>&1
nanomlip bench eos --models nano-5.3=student:$D/nano-5.3/model.safetensors,nano-5.2=student:nano-5.2,teacher:sevennet:7net-mf-0@PBE --threads 1 --out $D/eos-5.3 > $D/eos-5.3.log 2>&1
nanomlip bench lattice --models nano-5.3=student:$D/nano-5.3/model.safetensors,nano-5.2=student:nano-5.2,teacher:sevennet:7net-mf-0@PBE --threads 1 --out $D/lattice-5.3 > $D/lattice-5.3.log 2>&1
python benchmarks/fidelity/structures_check.py --model $D/nano-5.3/model.safetensors --out $D/structures-5.3.md > $D/structures-5.3.log 2>&1
