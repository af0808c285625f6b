"""Entry point of the ``nanomlip`` command."""

from __future__ import annotations

import argparse
import shlex
import sys

from nanomlip import __version__
from nanomlip.cli import bench, calc, data, distill, label, md, models, relax
from nanomlip.cli import lammps as lammps_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nanomlip",
        description="Compact, fast interatomic potentials distilled from foundation models.",
    )
    parser.add_argument("--version", action="version", version=f"nanomlip {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    calc.add_parser(subparsers)
    models.add_parsers(subparsers)
    bench.add_parser(subparsers)
    relax.add_parser(subparsers)
    md.add_parser(subparsers)
    label.add_parser(subparsers)
    data.add_parser(subparsers)
    distill.add_parsers(subparsers)
    lammps_cli.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; user errors print one clear line and exit with status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    words = sys.argv[1:] if argv is None else argv
    args.command_line = "nanomlip " + " ".join(shlex.quote(str(word)) for word in words)
    try:
        return int(args.handler(args) or 0)
    except (ValueError, FileNotFoundError) as error:
        print(f"nanomlip {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
