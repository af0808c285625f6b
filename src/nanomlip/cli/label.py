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
        help="calculator for MD snapshots, volume scans and relaxations: teacher, none or "
        "any teacher spec (e.g. nanomlip:MODEL)",
    )
    parser.add_argument(
        "--fast-driver",
        default="none",
        help="cheap calculator for the MD snapshots of real crystals (corpus sampler): "
        "none, teacher or any teacher spec (e.g. nanomlip:MODEL)",
    )
    parser.add_argument("--max-force", type=float, default=100.0, help="reject above, eV/Å")
    parser.add_argument("--max-energy", type=float, default=50.0, help="reject |E|/atom above, eV")
    parser.add_argument("--max-stress", type=float, default=500.0, help="reject above, GPa")
    parser.add_argument("--max-chunks", type=int, help="stop after this many chunks")
    parser.add_argument(
        "--device",
        default="cpu",
        help="torch device of the teacher and the MD drivers, e.g. cuda (a dataset may be "
        "resumed on another device)",
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=run)

    hvp = subparsers.add_parser(
        "label-hvp",
        help="add the teacher's Hessian-vector products to a labelled dataset",
        description="Writes a copy of --data with HVPs for a share of the frames, made by "
        "the dataset's own teacher. Kill it at any time; rerunning resumes.",
    )
    hvp.add_argument("--data", required=True, type=Path, help="labelled dataset folder")
    hvp.add_argument("--out", required=True, type=Path, help="new dataset folder")
    hvp.add_argument("--fraction", type=float, default=0.25, help="share of frames given an HVP")
    hvp.add_argument("--step", type=float, default=0.01, help="finite-difference step h, Å")
    hvp.add_argument("--seed", type=int, default=0)
    hvp.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    hvp.add_argument("--max-chunks", type=int, help="stop after this many chunks")
    hvp.add_argument("--no-progress", action="store_true")
    hvp.set_defaults(handler=run_hvp)


def run(args: argparse.Namespace) -> int:
    from nanomlip._progress import format_rate
    from nanomlip.labeling import RejectionRules, run_labeling
    from nanomlip.sampling import load_recipe

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
        fast_driver=args.fast_driver,
        device=args.device,
    )
    rejected = ", ".join(f"{n} {reason}" for reason, n in report.rejected.items()) or "none"
    if report.reused_chunks:
        print(f"resumed: reused {report.reused_chunks} chunk(s) already labelled in {args.out}")
    steady = format_rate(report.steady_frames_per_second, 3)
    print(
        f"labelled {report.frames} frames ({report.atoms} atoms) in {report.chunks} chunks, "
        f"{report.seconds:.1f} s with {report.workers} worker(s): "
        f"{report.frames_per_second:.2f} frames/s overall ({steady} steady-state), "
        f"{report.atoms_per_second:.1f} atoms/s; "
        f"rejected: {rejected}"
    )
    return 0


def run_hvp(args: argparse.Namespace) -> int:
    from nanomlip._progress import format_rate
    from nanomlip.labeling import label_hessian_vector_products

    report = label_hessian_vector_products(
        args.data,
        args.out,
        fraction=args.fraction,
        step=args.step,
        seed=args.seed,
        workers=args.workers,
        max_chunks=args.max_chunks,
        progress=not args.no_progress,
    )
    if report.reused_chunks:
        print(f"resumed: reused {report.reused_chunks} chunk(s) already written in {args.out}")
    print(
        f"wrote {report.chunks} chunks, {report.frames} frames with teacher HVPs, "
        f"{report.seconds:.1f} s with {report.workers} worker(s) "
        f"({format_rate(report.steady_chunks_per_second)} chunks/s steady-state)"
    )
    return 0
