#!/bin/bash
# nano-5.2 candidate: nano-5.1 fine-tuned on distill-v5 (all 338 chunks) + the v7 and v6 chunks
# labelled so far, without nano-5.1's held-out compositions; 30 % of every epoch replayed from
# distill-v4; evaluated on nano-5.1's held-out v5 compositions (both models unseen).
set -e
wt=/work/wt/train5
cd $wt; export PYTHONPATH=$wt/src OMP_NUM_THREADS=1; . /work/main/.venv/bin/activate
D=/work/data/s5/ft
mkdir -p $D/snap
for v in 6 7; do rm -rf $D/snap/v$v; mkdir -p $D/snap/v$v/chunks; cp /work/data/distill-v$v/manifest.json $D/snap/v$v/; cp /work/data/distill-v$v/chunks/*.npz $D/snap/v$v/chunks/; done
python benchmarks/fidelity/training_mix.py --data /work/main/datasets/distill-v5 --data $D/snap/v7 --data $D/snap/v6 --exclude-run /work/main/runs/nano-5.1 --out $D/mix > $D/mix.log 2>&1
/usr/bin/time -v nanomlip finetune --data $D/mix --model nano-5.1 --replay 0.3 --replay-data /work/main/datasets/distill-v4 --holdout 0 --keep-references --config configs/finetune-nano-5.1.yaml --set max_epochs=$1 --set max_minutes=$2 --no-progress --out $D/run > $D/run.log 2>&1
python benchmarks/fidelity/heldout_by_category.py --data /work/main/datasets/distill-v5 --run /work/main/runs/nano-5.1 --out $D/v5-heldout > $D/heldout.log 2>&1
for m in nano-5.1 $D/run/model.safetensors; do n=$(basename $(dirname $m)); [[ $m == nano-5.1 ]] && n=nano-5.1; nanomlip eval --model $m --data $D/v5-heldout --split all --out $D/eval-$n > $D/eval-$n.log 2>&1; done
