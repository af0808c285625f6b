"""The ``--d3`` option shared by ``calc``, ``relax`` and ``md`` (and the benchmarks)."""

from __future__ import annotations

import argparse


def add_dispersion_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--d3`` (D3(BJ) dispersion added to the model) and ``--d3-functional NAME``."""
    parser.add_argument(
        "--d3",
        action="store_true",
        help="add Grimme D3(BJ) dispersion (simple-dftd3) to the model",
    )
    parser.add_argument(
        "--d3-functional",
        default="pbe",
        metavar="NAME",
        help="functional whose D3(BJ) damping parameters to use (default: pbe, the teacher's)",
    )


def dispersion_from_args(args: argparse.Namespace) -> str | None:
    """The ``dispersion`` argument of :class:`~nanomlip.NanoCalculator` chosen by ``--d3``."""
    if not getattr(args, "d3", False):
        return None
    return f"d3:{getattr(args, 'd3_functional', 'pbe')}"
