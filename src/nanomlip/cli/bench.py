"""``nanomlip bench speed``: time students against peers in one run."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from nanomlip.models.config import available_presets

PEERS = {"sevennet-0": "7net-0", "sevennet-l3i5": "7net-l3i5"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser("bench", help="benchmarks")
    kinds = bench.add_subparsers(dest="bench_kind", required=True)
    speed = kinds.add_parser("speed", help="time per atom per MD step vs peers")
    speed.add_argument("--presets", default=",".join(available_presets()), help="student presets")
    speed.add_argument(
        "--peers", default="sevennet-0", help=f"comma list from {sorted(PEERS)} (or 'none')"
    )
    speed.add_argument("--repeats", default="2,4,6", help="diamond Si repeats (64/512/1728 atoms)")
    speed.add_argument("--steps", type=int, default=3, help="timed steps per point")
    speed.add_argument("--threads", type=int, default=2)
    speed.add_argument("--out", type=Path, default=None, help="write JSON results here")
    speed.set_defaults(handler=run_speed)


def run_speed(args: argparse.Namespace) -> int:
    from nanomlip.bench.speed import (
        run_speed_benchmark,
        sevennet_factory,
        speed_table,
        student_factory,
        write_results,
    )

    models = {}
    for preset in filter(None, args.presets.split(",")):
        if preset not in available_presets():
            raise SystemExit(f"unknown preset {preset!r}; choose from {available_presets()}")
        models[preset] = student_factory(preset)
    peers = [] if args.peers == "none" else list(filter(None, args.peers.split(",")))
    for peer in peers:
        if peer not in PEERS:
            raise SystemExit(f"unknown peer {peer!r}; choose from {sorted(PEERS)}")
        try:
            import sevenn  # noqa: F401
        except ImportError:
            raise SystemExit(
                f"peer {peer!r} needs the sevenn package: pip install 'nanomlip[teachers]'"
            ) from None
        models[peer] = sevennet_factory(PEERS[peer])
    repeats = [int(r) for r in args.repeats.split(",")]
    results = run_speed_benchmark(models, repeats=repeats, steps=args.steps, threads=args.threads)
    reference = peers[0] if peers else None
    print(speed_table(results, reference))
    if args.out:
        command = "nanomlip " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        write_results(results, args.out, command, args.threads)
        table_path = args.out.with_suffix(".md")
        table_path.write_text(
            f"Time per atom per MD step (energy + forces + stress, ASE calculator, "
            f"{args.threads} threads, float32; students untrained, which does not change "
            f"speed). In brackets: speed-up over {reference} in the same run.\n\n"
            f"Command: `{command}`\n\n{speed_table(results, reference)}\n"
        )
        print(f"wrote {args.out} and {table_path}")
    return 0
