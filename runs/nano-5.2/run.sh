#!/bin/bash
# nano-5.2 (issue #11, session 6): the session-5 candidate (nano-5.1 + v5 + 52 v7 chunks + 17 v6)
# fine-tuned further on every labelled frame so far (v5 338 chunks, v7 133, v6 all), nano-5.1's
# held-out compositions excluded; $1 = name, $2 = max_minutes, rest = extra --set options.
set -e
wt=/work/wt/train6
cd $wt; export PYTHONPATH=$wt/src OMP_NUM_THREADS=1; . /work/main/.venv/bin/activate
D=/work/data/s6
name=$1; minutes=$2; shift 2
extra=(); for s in "$@"; do extra+=(--set "$s"); done
[ -d $D/mix ] || python benchmarks/fidelity/training_mix.py --data /work/main/datasets/distill-v5 --data /work/main/datasets/distill-v7 --data /work/main/datasets/distill-v6 --exclude-run /work/main/runs/nano-5.1 --out $D/mix > $D/mix.log 2>&1
/usr/bin/time -v nanomlip finetune --data $D/mix --model /work/main/runs/nano-5.2-candidate/model.safetensors --replay 0.3 --replay-data /work/main/datasets/distill-v4 --holdout 0 --keep-references --config configs/finetune-nano-5.1.yaml --set max_epochs=4 --set max_minutes=$minutes --set lr=0.0007 "${extra[@]}" --no-progress --out $D/$name > $D/$name.log 2>&1
nanomlip eval --model $D/$name/model.safetensors --data /work/data/s5/ft/v5-heldout --split all --out $D/eval-$name > $D/eval-$name.log 2>&1
