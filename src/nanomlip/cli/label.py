"""``nanomlip label``: label a recipe's structures with a teacher (resumable, parallel)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "label",
        help="label structures from a recipe with a teacher",
        description="Kill it at any time; rerunning the same command resumes without duplicates.",
    )
    parser.add_argument("--teacher", required=True, help="teacher spec, e.g. sevennet:7net-0")
    parser.add_argument("--recipe", required=True, type=Path, help="YAML recipe file")
    parser.add_argument("--out", required=True, type=Path, help="dataset folder")
    parser.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    parser.add_argument("--chunk-size", type=int, default=50, help="frames per chunk file")
    parser.add_argument("--scheduler", choices=["processes", "dask"], default="processes")
    parser.add_argument("--dask-address", help="existing Dask scheduler (default: local)")
    parser.add_argument(
        "--md-driver",
        default="teacher",
        help="calculator for liquid/amorphous MD snapshots: teacher, none or nanomlip:MODEL",
    )
    parser.add_argument("--max-force", type=float, default=100.0, help="reject above, eV/Å")
    parser.add_argument("--max-energy", type=float, default=50.0, help="reject |E|/atom above, eV")
    parser.add_argument("--max-stress", type=float, default=500.0, help="reject above, GPa")
    parser.add_argument("--max-chunks", type=int, help="stop after this many chunks")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from nanomlip.distill.labeling import RejectionRules, run_labeling
    from nanomlip.sampling.base import load_recipe

    recipe = load_recipe(args.recipe)
    report = run_labeling(
        args.out,
        args.teacher,
        recipe,
        workers=args.workers,
        chunk_size=args.chunk_size,
        scheduler=args.scheduler,
        dask_address=args.dask_address,
        md_driver=args.md_driver,
        rules=RejectionRules(args.max_force, args.max_energy, args.max_stress),
        progress=not args.no_progress,
        max_chunks=args.max_chunks,
    )
    rejected = ", ".join(f"{n} {reason}" for reason, n in report.rejected.items()) or "none"
    print(
        f"labelled {report.frames} frames ({report.atoms} atoms) in {report.chunks} chunks, "
        f"{report.seconds:.1f} s with {report.workers} worker(s): "
        f"{report.frames_per_second:.2f} frames/s, {report.atoms_per_second:.1f} atoms/s; "
        f"rejected: {rejected}"
    )
    return 0
