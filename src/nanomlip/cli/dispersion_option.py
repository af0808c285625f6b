"""The ``--d3`` option shared by ``calc``, ``relax`` and ``md`` (and the benchmarks)."""

from __future__ import annotations

import argparse


def add_dispersion_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--d3 [FUNCTIONAL]``: D3(BJ) dispersion added to the model (default: PBE's)."""
    parser.add_argument(
        "--d3",
        nargs="?",
        const="pbe",
        default=None,
        metavar="FUNCTIONAL",
        help="add Grimme D3(BJ) dispersion (simple-dftd3) with the damping parameters of "
        "FUNCTIONAL (default: pbe, the teacher's functional)",
    )


def dispersion_from_args(args: argparse.Namespace) -> str | None:
    """The ``dispersion`` argument of :class:`~nanomlip.NanoCalculator` chosen by ``--d3``."""
    functional = getattr(args, "d3", None)
    return None if functional is None else f"d3:{functional}"
