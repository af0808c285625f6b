"""``nanomlip bench lattice``: relaxed lattice constants of textbook crystals vs a teacher."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_lattice_parser(kinds: argparse._SubParsersAction) -> None:
    from nanomlip.bench.models import MODELS_HELP

    lattice = kinds.add_parser(
        "lattice",
        help="relaxed lattice constants and energies of 76 textbook crystals vs a teacher",
        description=(
            "Relax cell and positions of rocksalt, zincblende, wurtzite, fluorite, CsCl, "
            "rutile, perovskite, spinel, corundum, layered and elemental crystals with every "
            "model; errors against the first teacher. Writes lattice.json, lattice.md and "
            "lattice.png to --out. Example: nanomlip bench lattice --models "
            "student:nano-5.0,teacher:sevennet:7net-mf-0@PBE --out benchmarks/lattice"
        ),
    )
    lattice.add_argument("--models", required=True, help=MODELS_HELP)
    lattice.add_argument(
        "--compounds", default=None, help="comma list of compound names (default: all 76)"
    )
    lattice.add_argument("--out", type=Path, default=Path("benchmarks/lattice"))
    lattice.add_argument("--device", default="cpu", help="torch device of the models")
    lattice.add_argument("--threads", type=int, default=None, help="torch threads")
    lattice.set_defaults(handler=run_lattice)


def run_lattice(args: argparse.Namespace) -> int:
    import torch

    from nanomlip.bench.lattice import reference_label, run_lattice_benchmark, summarize
    from nanomlip.bench.lattice_report import summary_table, write_lattice_outputs
    from nanomlip.bench.models import load_bench_model, parse_model_specs

    if args.threads:
        torch.set_num_threads(args.threads)
    names = list(filter(None, args.compounds.split(","))) if args.compounds else None
    models = [load_bench_model(spec, args.device) for spec in parse_model_specs(args.models)]
    if len(models) < 2:
        raise SystemExit("bench lattice compares models: name at least two in --models")
    try:
        results = run_lattice_benchmark(models, names)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from error
    reference = reference_label(models)
    summaries = summarize(results, reference)
    paths = write_lattice_outputs(
        results, summaries, models, reference, args.out, args.command_line
    )
    print(summary_table(summaries, reference))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
