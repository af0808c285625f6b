"""``nanomlip bench solid-electrolytes`` and ``nanomlip bench liquid-electrolytes``.

Both resume: rerun the same command after a kill and finished materials are kept. Both
print and record the command that made their results. ``--quick`` shrinks everything to
one small material and a few hundred MD steps (a test of the pipeline, not a result).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nanomlip.cli.options import add_model_options, dispersion_from_args, student_from_args

#: Settings that ``--quick`` imposes on the solid benchmark.
SOLID_QUICK: dict[str, Any] = {
    "materials": ("Li3N",),
    "teacher_materials": ("Li3N",),
    "temperatures_K": (300.0, 500.0),
    "md_ps": 0.6,
    "equilibration_ps": 0.2,
    "frame_every": 5,
    "min_lag_ps": 0.1,
    "relax_steps": 10,
    "md_repeat": (2, 2, 2),
}

#: Settings that ``--quick`` imposes on the liquid benchmark.
LIQUID_QUICK: dict[str, Any] = {
    "solvents": ("DMC",),
    "teacher_solvents": ("DMC",),
    "target_atoms": 60,
    "hot_steps": 20,
    "snapshots": 2,
    "npt_ps": 0.06,
    "equilibration_ps": 0.02,
    "log_every": 5,
}


def _names(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(name for name in text.split(",") if name)


def _add_common(parser: argparse.ArgumentParser, out: str) -> None:
    add_model_options(parser)
    parser.add_argument(
        "--teacher", help="teacher spec (default: the one the student was distilled from)"
    )
    parser.add_argument("--no-teacher", action="store_true", help="run the student only")
    parser.add_argument("--out", type=Path, default=Path(out), help="results folder")
    parser.add_argument(
        "--work-dir", type=Path, help="trajectories and step caches (default: OUT/work)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch / OpenMP threads")
    parser.add_argument("--seed", type=int, default=0, help="seed of structures and MD")
    parser.add_argument("--quick", action="store_true", help="tiny run that tests the pipeline")
    parser.add_argument("--note", default="", help="line written at the top of summary.md")


def add_parsers(kinds: argparse._SubParsersAction) -> None:
    """Register both sub-commands under ``nanomlip bench``."""
    solid = kinds.add_parser(
        "solid-electrolytes",
        help="lattices and Li diffusion of 16 solid electrolytes, student vs teacher",
        description="Relax 16 Li-ion conductors (8 argyrodites, 8 others) with the student "
        "and, on a subset, the teacher; compare lattices with experiment; run NVT at several "
        "temperatures for the Li diffusivity, Ea and D(300 K). Writes results.json, "
        "summary.md/json and PNGs to --out; resumable.",
    )
    _add_common(solid, "benchmarks/solid-electrolytes")
    solid.add_argument("--materials", help="comma list (default: all 16)")
    solid.add_argument(
        "--teacher-materials", help="comma list on which the teacher runs MD (it relaxes all)"
    )
    solid.add_argument("--temperatures", help="comma list of NVT temperatures (K)")
    solid.add_argument("--md-ps", type=float, help="ps per MD run")
    solid.add_argument("--equilibration-ps", type=float, help="ps left out of each run")
    solid.add_argument("--timestep", type=float, help="MD time step (fs)")
    solid.add_argument("--relax-steps", type=int, help="maximum relaxation steps")
    solid.add_argument(
        "--min-lag-ps",
        type=float,
        help="shortest MSD lag of the D fit (default 1.0); the block error needs parts of "
        "2 such lags, so short runs want a shorter one",
    )
    solid.set_defaults(handler=run_solid)
    liquid = kinds.add_parser(
        "liquid-electrolytes",
        help="NPT densities and E/F/S errors of 20 electrolyte solvents, with D3",
        description="Pack 20 solvents at their experimental density, compare student + D3 "
        "with teacher + D3 on hot-MD snapshots, and run NPT at 1 bar for the density (with "
        "and without D3, and the teacher on a subset). Writes results.json, summary.md/json "
        "and density.png to --out; resumable.",
    )
    _add_common(liquid, "benchmarks/liquid-electrolytes")
    liquid.add_argument("--solvents", help="comma list (default: all 20)")
    liquid.add_argument("--teacher-solvents", help="comma list for the teacher's NPT")
    liquid.add_argument("--atoms", type=int, help="atoms per box (default 400)")
    liquid.add_argument("--npt-ps", type=float, help="ps per NPT run")
    liquid.add_argument("--equilibration-ps", type=float, help="ps left out of the average")
    liquid.add_argument("--timestep", type=float, help="MD time step (fs)")
    liquid.add_argument("--snapshots", type=int, help="hot-MD snapshots for E/F/S")
    liquid.add_argument("--hot-steps", type=int, help="steps of the hot MD (default 2000)")
    liquid.add_argument("--no-without-d3", action="store_true", help="skip the no-D3 NPT run")
    liquid.add_argument(
        "--without-d3-solvents", help="comma list for the no-D3 NPT run (default: all)"
    )
    liquid.add_argument(
        "--d3-cutoffs",
        metavar="PAIRS,CN",
        help="D3 pair and coordination-number cut-offs in Å (default: the package's 31.75, "
        "21.17); 20,15 is ~3x faster on 100-atom boxes and moves the pressure by ~25 bar",
    )
    liquid.set_defaults(handler=run_liquid)


def _calculators(args: argparse.Namespace, dispersion: str | None) -> Any:
    from nanomlip.bench.electrolyte_common import BenchCalculators

    student = student_from_args(args)
    return BenchCalculators(
        student=student, teacher=args.teacher, dispersion=dispersion, device=args.device
    )


def _overrides(args: argparse.Namespace, quick: dict[str, Any], mapping: dict[str, str]):
    settings: dict[str, Any] = dict(quick) if args.quick else {}
    for option, field_name in mapping.items():
        value = getattr(args, option)
        if value is None:
            continue
        if field_name in (
            "materials",
            "teacher_materials",
            "solvents",
            "teacher_solvents",
            "without_d3_solvents",
        ):
            value = _names(value)
        elif field_name == "temperatures_K":
            value = tuple(float(t) for t in _names(value) or ())
        settings[field_name] = value
    return settings


def _d3_cutoffs(text: str) -> Any:
    from nanomlip.md.dispersion import D3Cutoffs

    try:
        pairs, coordination = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--d3-cutoffs wants two numbers in Å, e.g. 20,15; got {text!r}") from None
    if not (pairs > 0 and coordination > 0):
        raise ValueError(f"--d3-cutoffs must be positive, got {text!r}")
    return D3Cutoffs(pairs_A=pairs, coordination_A=coordination)


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def run_solid(args: argparse.Namespace) -> int:
    """Handler of ``nanomlip bench solid-electrolytes``."""
    from nanomlip.bench.solid_electrolytes import SolidBenchConfig, run_solid_benchmark
    from nanomlip.bench.solid_report import headline, write_solid_report

    _set_threads(args.threads)
    settings = _overrides(
        args,
        SOLID_QUICK,
        {
            "materials": "materials",
            "teacher_materials": "teacher_materials",
            "temperatures": "temperatures_K",
            "md_ps": "md_ps",
            "equilibration_ps": "equilibration_ps",
            "timestep": "timestep_fs",
            "relax_steps": "relax_steps",
            "min_lag_ps": "min_lag_ps",
        },
    )
    if args.no_teacher:
        settings.update(teacher_materials=(), teacher_relax_all=False)
    config = SolidBenchConfig(seed=args.seed, **settings)
    calculators = _calculators(args, dispersion_from_args(args))
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"reproduce with: {args.command_line}")
    run = run_solid_benchmark(config, calculators, args.out, args.work_dir)
    paths = write_solid_report(run.records, args.out, args.command_line, args.note)
    print(headline(run.records))
    print("wrote " + ", ".join(str(p) for p in [run.results_path, *paths.values()]))
    return 0


def run_liquid(args: argparse.Namespace) -> int:
    """Handler of ``nanomlip bench liquid-electrolytes`` (D3 always on, ``--d3-functional``)."""
    from nanomlip.bench.liquid_electrolytes import LiquidBenchConfig, run_liquid_benchmark
    from nanomlip.bench.liquid_report import headline, write_liquid_report

    _set_threads(args.threads)
    settings = _overrides(
        args,
        LIQUID_QUICK,
        {
            "solvents": "solvents",
            "teacher_solvents": "teacher_solvents",
            "atoms": "target_atoms",
            "npt_ps": "npt_ps",
            "equilibration_ps": "equilibration_ps",
            "timestep": "timestep_fs",
            "snapshots": "snapshots",
            "hot_steps": "hot_steps",
            "without_d3_solvents": "without_d3_solvents",
        },
    )
    if args.no_teacher:
        raise ValueError("the liquid benchmark compares with the teacher; drop --no-teacher")
    if args.no_without_d3:
        settings["without_d3"] = False
    config = LiquidBenchConfig(seed=args.seed, **settings)
    calculators = _calculators(args, f"d3:{args.d3_functional}")
    if args.d3_cutoffs:
        calculators.d3_cutoffs = _d3_cutoffs(args.d3_cutoffs)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"reproduce with: {args.command_line}")
    run = run_liquid_benchmark(config, calculators, args.out, args.work_dir)
    paths = write_liquid_report(run.records, args.out, args.command_line, args.note)
    print(headline(run.records))
    print("wrote " + ", ".join(str(p) for p in [run.results_path, *paths.values()]))
    return 0
