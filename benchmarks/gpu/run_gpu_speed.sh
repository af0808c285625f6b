#!/usr/bin/env bash
# One short, prepared GPU check (issue #13): run it in one go on a CUDA machine, from the
# repository root, with the project's environment active (no network needed):
#
#     bash benchmarks/gpu/run_gpu_speed.sh [OUT_DIR]     # default benchmarks/gpu
#
# 1. the CUDA path of the student works (energies/forces on CUDA equal CPU, float64);
# 2. the speed harness on CUDA, 1,728 to 70,000 atoms, default student against the
#    SevenNet-Nano-architecture peer (random weights, sevenn's builder; cuEquivariance on when
#    cuequivariance is installed: the harness notes it), like-for-like allocator (heap);
# 3. LAMMPS (fix external, student on CUDA) on 70,000 atoms of amorphous SiO2, 20 NVT steps.
# Reference point to compare with: SevenNet-Nano, 0.17 ns/day for 70,000 atoms of amorphous
# SiO2 on one RTX PRO 6000, about 7 µs per atom-step. Commit OUT_DIR with the GPU named
# (the harness writes it into speed_cuda.md).
set -euo pipefail
out="${1:-benchmarks/gpu}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python -c "import importlib.util as u; print('cuequivariance:', bool(u.find_spec('cuequivariance_torch')), 'openequivariance:', bool(u.find_spec('openequivariance')))" | tee -a "$out/gpu.txt"
python - <<'PY' | tee "$out/cuda_check.txt"
import numpy as np, nanomlip
from nanomlip.bench.systems import build_system
atoms = build_system("sio2", 1728)
results = {}
for device in ("cpu", "cuda"):
    a = atoms.copy(); a.calc = nanomlip.NanoCalculator(device=device, dtype="float64")
    results[device] = (a.get_potential_energy(), a.get_forces())
print("energy |cpu - cuda| (eV):", abs(results["cpu"][0] - results["cuda"][0]))
print("forces max |cpu - cuda| (eV/A):", np.abs(results["cpu"][1] - results["cuda"][1]).max())
PY
timeout 420 nanomlip bench speed --device cuda --presets nano-5.0 --peers sevennet-nano-arch \
    --systems si,sio2 --sizes 1728,8000,27000,70000 --steps 5 --warmup 2 --threads 4 \
    --allocators heap --max-seconds-per-point 60 --out "$out/speed_cuda.json" | tail -30
python -c "from ase.io import write; from nanomlip.bench.systems import build_system; write('$out/sio2_70k.extxyz', build_system('sio2', 70000))"
timeout 300 nanomlip lammps "$out/sio2_70k.extxyz" --device cuda --ensemble nvt \
    --temperature 300 --steps 20 --thermo-every 10 --dump-every 20 --out-dir "$out/lammps_70k"
rm -f "$out/sio2_70k.extxyz" "$out/lammps_70k/dump.lammpstrj" "$out/lammps_70k/structure.data"
