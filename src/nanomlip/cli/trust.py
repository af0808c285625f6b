"""Options of the live trust check (``nanomlip md --check-every N --teacher SPEC``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nanomlip.md.trust import TrustCheck


def add_trust_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--check-every``, ``--teacher``, ``--warn-error`` and ``--stop-error``."""
    group = parser.add_argument_group("trust check (teacher spot checks during MD)")
    group.add_argument(
        "--check-every",
        type=int,
        metavar="N",
        help="label every N-th step with --teacher; its force error goes into thermo.csv",
    )
    group.add_argument("--teacher", help="teacher spec, e.g. sevennet:7net-mf-0@PBE")
    group.add_argument(
        "--warn-error", type=float, default=100.0, help="warn above this force MAE (meV/Å)"
    )
    group.add_argument(
        "--stop-error", type=float, help="stop (exit 1) above this force MAE (meV/Å)"
    )


def trust_from_args(args: argparse.Namespace) -> TrustCheck | None:
    """The trust check the options ask for, or ``None`` without ``--check-every``.

    Raises:
        ValueError: ``--check-every`` without ``--teacher`` (or the reverse), or bad values.
    """
    if args.check_every is None:
        if args.teacher:
            raise ValueError("--teacher needs --check-every N (the steps between checks)")
        return None
    if not args.teacher:
        raise ValueError("--check-every needs --teacher SPEC (e.g. sevennet:7net-mf-0@PBE)")
    from nanomlip.md.trust import TrustCheck
    from nanomlip.teachers.spec import load_teacher

    return TrustCheck(
        teacher=load_teacher(args.teacher),
        every=args.check_every,
        warn_meV_A=args.warn_error,
        stop_meV_A=args.stop_error,
    )


def trust_summary(trust: TrustCheck | None) -> str | None:
    """One line: checks made, mean and last force error, teacher time."""
    if trust is None or not trust.samples:
        return None
    errors = [sample.force_mae_meV_A for sample in trust.samples]
    return (
        f"trust check: {trust.teacher_calls} teacher calls ({trust.teacher_seconds:.1f} s), "
        f"force MAE mean {sum(errors) / len(errors):.1f} meV/Å, last {errors[-1]:.1f} meV/Å"
    )
