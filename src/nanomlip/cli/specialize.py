"""``nanomlip specialize``: active selection against the teacher (filled in below)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("specialize", help="specialise a student to one system")
    parser.set_defaults(handler=lambda args: 0)
