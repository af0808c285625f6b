"""Entry point of the ``nanomlip`` command."""

from __future__ import annotations

import argparse
import shlex
import sys

from nanomlip._optional import MissingDependencyError
from nanomlip._version import __version__
from nanomlip.cli import bench, calc, data, distill, label, md, models, relax
from nanomlip.cli import finetune as finetune_cli
from nanomlip.cli import lammps as lammps_cli
from nanomlip.cli import specialize as specialize_cli


class _HelpFormatter(argparse.HelpFormatter):
    """Shows each option's default in ``--help`` (except for flags and unset options)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        unset = default is None or default is False or default is argparse.SUPPRESS
        hidden = unset or isinstance(default, list)
        if hidden or "default" in text or not action.option_strings:
            return text or None
        return f"{text} (default: %(default)s)"


def _show_defaults(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` and all its sub-command parsers :class:`_HelpFormatter`."""
    parser.formatter_class = _HelpFormatter
    for action in parser._actions:
        shown = action.default is not None and action.default is not False
        if action.option_strings and not action.help and shown:
            action.help = "default: %(default)s"  # argparse skips options without help
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _show_defaults(child)


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
    finetune_cli.add_parser(subparsers)
    specialize_cli.add_parser(subparsers)
    _show_defaults(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; user errors print one clear line and exit with status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    words = sys.argv[1:] if argv is None else argv
    args.command_line = "nanomlip " + " ".join(shlex.quote(str(word)) for word in words)
    try:
        return int(args.handler(args) or 0)
    except (ValueError, FileNotFoundError, MissingDependencyError) as error:
        print(f"nanomlip {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
