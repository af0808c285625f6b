#!/usr/bin/env bash
# Create .venv-mace: a separate virtual environment for timing a MACE-mp-0-small-sized model.
#
# mace-torch pins e3nn 0.4.4, which conflicts with the e3nn that sevenn and nanomlip use, so MACE
# lives in its own environment. `nanomlip bench speed --peers mace-small` finds it here and runs
# benchmarks/peers/mace_speed.py inside it. Usage (from the repository root):
#
#     bash benchmarks/peers/mace_env.sh            # creates ./.venv-mace
#     MACE_VENV=/path/to/env bash benchmarks/peers/mace_env.sh
#     MACE_CUEQ=1 bash benchmarks/peers/mace_env.sh  # on a CUDA machine: add cuEquivariance
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${MACE_VENV:-$root/.venv-mace}"
python="${PYTHON:-python3}"

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --upgrade pip
"$venv/bin/python" -m pip install "torch==2.13.0" mace-torch psutil
if [[ "${MACE_CUEQ:-0}" == "1" ]]; then
    "$venv/bin/python" -m pip install cuequivariance-torch cuequivariance-ops-torch-cu12
fi
"$venv/bin/python" -c "import mace, torch, e3nn; print('mace env ready:', torch.__version__, e3nn.__version__)"
