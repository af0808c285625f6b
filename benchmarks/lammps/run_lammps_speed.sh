#!/usr/bin/env bash
# Time per atom-step of nano-5.0 in LAMMPS (fix external), serial and on 2 MPI ranks, against
# the ASE path, on amorphous SiO2; and the 70,000-atom NVT run of 100 steps (issue #13).
# Run from the repository root (one torch thread per rank):
#     bash benchmarks/lammps/run_lammps_speed.sh small   # 1,728 atoms: ASE, serial, 2 ranks
#     bash benchmarks/lammps/run_lammps_speed.sh large   # 70,000 atoms: serial NVT, 100 steps
#     bash benchmarks/lammps/run_lammps_speed.sh np2-large  # 70,000 atoms: 2 ranks, 20 steps
#     bash benchmarks/lammps/run_lammps_speed.sh ase-large  # 70,000 atoms: the ASE path
#     python benchmarks/lammps/summarize.py > benchmarks/lammps/lammps_speed.md
set -euo pipefail
stage="${1:-small}"
out=benchmarks/lammps/runs
mkdir -p "$out"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
structure() {
    python -c "from ase.io import write; from nanomlip.bench.systems import build_system; write('$out/sio2_$1.extxyz', build_system('sio2', $1))"
}
ase_path() {  # the speed harness on the same structure (seed 0), freed memory kept
    nanomlip bench speed --presets nano-5.0 --peers none --systems sio2 --sizes "$1" \
        --steps 3 --warmup 1 --threads 1 --allocators heap --out "$out/ase_$1.json" > "$out/ase_$1.log"
}
if [[ "$stage" == "small" ]]; then
    structure 1728
    ase_path 1728
    nanomlip lammps "$out/sio2_1728.extxyz" --ensemble nvt --temperature 300 --steps 20 \
        --dump-every 20 --out-dir "$out/serial_1728" > "$out/serial_1728.log"
    nanomlip lammps "$out/sio2_1728.extxyz" --ensemble nvt --temperature 300 --steps 20 --np 2 \
        --dump-every 20 --out-dir "$out/np2_1728" > "$out/np2_1728.log"
elif [[ "$stage" == "np2-large" ]]; then
    # Peak memory of the largest rank: /usr/bin/time's "Maximum resident set size".
    structure 70000
    /usr/bin/time -v nanomlip lammps "$out/sio2_70000.extxyz" --ensemble nvt --temperature 300 \
        --steps 20 --thermo-every 5 --dump-every 20 --np 2 --out-dir "$out/np2_70000" \
        > "$out/np2_70000.log" 2>&1
elif [[ "$stage" == "ase-large" ]]; then
    structure 70000
    ase_path 70000
else
    # The recorded run used 2 torch threads (OMP_NUM_THREADS=2) and no ASE point at 70,000
    # atoms (its ~16 GB would not fit beside other jobs); `ase_path 70000` adds it.
    structure 70000
    OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 nanomlip lammps "$out/sio2_70000.extxyz" --ensemble nvt \
        --temperature 300 --steps 100 --thermo-every 10 --dump-every 100 --threads 2 \
        --out-dir "$out/serial_70000" > "$out/serial_70000.log"
fi
rm -f "$out"/*.extxyz "$out"/*/structure.data "$out"/*/dump.lammpstrj "$out"/*.png
