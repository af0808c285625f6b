"""Time an untrained MACE of MACE-mp-0-small's size with nanomlip's speed protocol.

Runs inside ``.venv-mace`` (made by ``benchmarks/peers/mace_env.sh``): mace-torch pins e3nn
0.4.4, which the main environment cannot have. It does not import nanomlip; it loads
``src/nanomlip/bench/protocol.py`` by file path (NumPy, ASE and the standard library only), so
the timing, the displacements and the memory reading are the same code as for every other
model. ``nanomlip bench speed --peers mace-small`` starts it once per (structure, size) point.

Input (stdin): the worker request of ``nanomlip.bench.worker`` plus ``protocol`` (path of
protocol.py). Output (stdout): one line ``NANOMLIP_SPEED_RESULT {json}``.

Run by hand:
    echo '{"structure": "si.extxyz", "steps": 3, "warmup": 1, "threads": 2}' | \
        .venv-mace/bin/python benchmarks/peers/mace_speed.py

Architecture: the hyper-parameters of MACE-mp-0 "small" (2023-12-10-mace-128-L0_energy): 128x0e
hidden features (max_L = 0), correlation order 3, 2 interaction blocks
(RealAgnosticResidualInteractionBlock), r_max 6 Å, 8 Bessel functions with a degree-5
polynomial cutoff, spherical harmonics up to l = 3, radial MLP [64, 64, 64], readout MLP 16x0e,
SiLU gates, 89 elements (Z = 1..89), float32 as in ``mace_mp(default_dtype="float32")``.
Weights are random: speed does not depend on their values.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

#: MACE-mp-0 "small" hyper-parameters (see the module docstring).
SMALL = {
    "r_max": 6.0,
    "num_bessel": 8,
    "num_polynomial_cutoff": 5,
    "max_ell": 3,
    "num_interactions": 2,
    "hidden_irreps": "128x0e",
    "MLP_irreps": "16x0e",
    "correlation": 3,
    "radial_MLP": [64, 64, 64],
    "num_elements": 89,
    "avg_num_neighbors": 61.96,  # only rescales messages; no effect on speed
}

DEFAULT_PROTOCOL = Path(__file__).resolve().parents[2] / "src/nanomlip/bench/protocol.py"


def load_protocol(path: Path) -> ModuleType:
    """Import nanomlip's protocol.py by file path, without the nanomlip package."""
    spec = importlib.util.spec_from_file_location("nanomlip_speed_protocol", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the timing protocol from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_small_mace() -> Any:
    """Untrained ``ScaleShiftMACE`` with MACE-mp-0-small hyper-parameters, in float32."""
    import numpy as np
    import torch
    from e3nn import o3
    from mace import modules

    block = modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
    model = modules.ScaleShiftMACE(
        r_max=SMALL["r_max"],
        num_bessel=SMALL["num_bessel"],
        num_polynomial_cutoff=SMALL["num_polynomial_cutoff"],
        max_ell=SMALL["max_ell"],
        interaction_cls=block,
        interaction_cls_first=block,
        num_interactions=SMALL["num_interactions"],
        num_elements=SMALL["num_elements"],
        hidden_irreps=o3.Irreps(SMALL["hidden_irreps"]),
        MLP_irreps=o3.Irreps(SMALL["MLP_irreps"]),
        atomic_energies=np.zeros(SMALL["num_elements"]),
        avg_num_neighbors=SMALL["avg_num_neighbors"],
        atomic_numbers=list(range(1, SMALL["num_elements"] + 1)),
        correlation=SMALL["correlation"],
        gate=torch.nn.functional.silu,
        radial_MLP=SMALL["radial_MLP"],
        atomic_inter_scale=1.0,
        atomic_inter_shift=0.0,
    )
    return model.float()


def run(request: dict[str, Any], protocol: ModuleType) -> dict[str, Any]:
    """Measure the MACE model on the request's structure with the shared protocol."""
    import torch
    from ase.io import read
    from mace.calculators import MACECalculator

    threads = int(request.get("threads", 2))
    device = str(request.get("device", "cpu"))
    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float32)
    model = build_small_mace()
    parameters = sum(p.numel() for p in model.parameters())
    cueq = device.startswith("cuda") and importlib.util.find_spec("cuequivariance") is not None
    calculator = MACECalculator(
        models=model, device=device, default_dtype="float32", enable_cueq=cueq
    )
    baseline = protocol.peak_rss_mib()
    atoms = read(request["structure"])
    timings = protocol.time_steps(
        calculator, atoms, steps=int(request["steps"]), warmup=int(request["warmup"])
    )
    result = protocol.point_result(timings, len(atoms), baseline)
    if device.startswith("cuda"):
        result["gpu_peak_mib"] = torch.cuda.max_memory_allocated() / 1024**2
    result["notes"] = [
        f"MACE-mp-0-small architecture, {parameters:,} parameters, float32",
        "MACE cuEquivariance " + ("on" if cueq else "off"),
    ]
    return result


def main() -> None:
    request = json.loads(sys.stdin.read())
    protocol = load_protocol(Path(request.get("protocol") or DEFAULT_PROTOCOL))
    try:
        result = run(request, protocol)
    except Exception as error:  # noqa: BLE001 - report any failure as a failed point
        result = {"status": "failed", "reason": f"failed: {type(error).__name__}: {error}"}
    print(protocol.RESULT_MARKER + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
