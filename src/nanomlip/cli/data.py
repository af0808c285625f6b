"""``nanomlip data info|export``: inspect a labelled dataset, export it to extxyz."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="inspect or export labelled datasets")
    actions = data.add_subparsers(dest="data_action", required=True)
    info = actions.add_parser("info", help="frame, atom, element and category counts")
    info.add_argument("path", type=Path)
    info.add_argument("--json", action="store_true")
    info.set_defaults(handler=run_info)
    export = actions.add_parser("export", help="write all frames to extended XYZ")
    export.add_argument("path", type=Path)
    export.add_argument("--out", type=Path, required=True)
    export.set_defaults(handler=run_export)
    sheet = actions.add_parser("sheet", help="write a Markdown datasheet with histograms")
    sheet.add_argument("path", type=Path)
    sheet.add_argument("--out", type=Path, required=True, help="datasheet .md (a .png goes beside)")
    sheet.add_argument(
        "--rebuild-command", default="", help="the command that rebuilds the dataset"
    )
    sheet.set_defaults(handler=run_sheet)


def run_info(args: argparse.Namespace) -> int:
    from nanomlip.data.store import LabeledDataset

    summary = LabeledDataset(args.path).summary()
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"dataset {args.path}: teacher {summary['teacher']}")
    print(
        f"  {summary['n_frames']} frames, {summary['n_atoms']} atoms, "
        f"{summary['n_elements']} elements, {summary['n_groups']} structure groups, "
        f"{summary['n_rejected']} rejected"
    )
    print("  categories: " + ", ".join(f"{k} {v}" for k, v in summary["categories"].items()))
    print("  elements:   " + " ".join(f"{k}:{v}" for k, v in summary["elements"].items()))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from nanomlip.data.store import LabeledDataset

    count = LabeledDataset(args.path).export_extxyz(args.out)
    print(f"wrote {count} frames to {args.out}")
    return 0


def run_sheet(args: argparse.Namespace) -> int:
    from nanomlip.reports.datasheet import write_datasheet

    path = write_datasheet(args.path, args.out, args.rebuild_command)
    print(f"wrote {path} and {path.with_suffix('.png')}")
    return 0
