#!/usr/bin/env bash
# Time per atom-step of nano-5.0 in LAMMPS (fix external), serial and on 2 MPI ranks, against
# the ASE path, on amorphous SiO2; and the 70,000-atom NVT run of 100 steps (issue #13).
# Run from the repository root (one thread per rank); then
#     python benchmarks/lammps/summarize.py > benchmarks/lammps/lammps_speed.md
set -euo pipefail
out=benchmarks/lammps/runs
mkdir -p "$out"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
for n in 1728 70000; do
    python -c "from ase.io import write; from nanomlip.bench.systems import build_system; write('$out/sio2_$n.extxyz', build_system('sio2', $n))"
done
# ASE path: the speed harness, same structures (seed 0), freed memory kept (the student's setting).
nanomlip bench speed --presets nano-5.0 --peers none --systems sio2 --sizes 1728,70000 \
    --steps 3 --warmup 1 --threads 1 --allocators heap --out "$out/ase.json" > "$out/ase.log"
# LAMMPS serial (whole structure) and 2 ranks (owned + ghost atoms) at 1,728 atoms.
nanomlip lammps "$out/sio2_1728.extxyz" --ensemble nvt --temperature 300 --steps 20 \
    --dump-every 20 --out-dir "$out/serial_1728" > "$out/serial_1728.log"
nanomlip lammps "$out/sio2_1728.extxyz" --ensemble nvt --temperature 300 --steps 20 --np 2 \
    --dump-every 20 --out-dir "$out/np2_1728" > "$out/np2_1728.log"
# The 70,000-atom NVT run of 100 steps, serial.
nanomlip lammps "$out/sio2_70000.extxyz" --ensemble nvt --temperature 300 --steps 100 \
    --thermo-every 10 --dump-every 100 --out-dir "$out/serial_70000" > "$out/serial_70000.log"
rm -f "$out"/*.extxyz "$out"/*/structure.data "$out"/*/dump.lammpstrj
