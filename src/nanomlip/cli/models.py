"""``nanomlip models`` and ``nanomlip export``: list, inspect and export models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    listing = subparsers.add_parser("models", help="list presets and registered models")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_list)

    info = subparsers.add_parser("info", help="metadata of a checkpoint or TorchScript file")
    info.add_argument("model", help="checkpoint, TorchScript file or registered name")
    info.set_defaults(handler=run_info)

    export = subparsers.add_parser("export", help="export a checkpoint to TorchScript")
    export.add_argument("model", help="checkpoint or registered name")
    export.add_argument("out", type=Path, help="output .pt file")
    export.set_defaults(handler=run_export)


def run_list(args: argparse.Namespace) -> int:
    from nanomlip.models import available_presets, build_model, preset_config, registered_models

    presets = {}
    for name in available_presets():
        presets[name] = {
            **preset_config(name).to_dict(),
            "num_parameters": build_model(name).num_parameters(),
        }
    payload = {
        "presets": presets,
        "registered": {name: str(path) for name, path in registered_models().items()},
    }
    if args.json:
        print(json.dumps(payload, indent=2))
        return 0
    print("presets (untrained architectures):")
    for name, values in presets.items():
        print(
            f"  {name:10s} cutoff {values['cutoff']} Å, {values['num_layers']} layers, "
            f"{values['num_scalar_channels']}x0e + "
            f"{values['num_tensor_channels']}x(l=1..{values['lmax']}), "
            f"sh lmax {values['sh_lmax']}, {values['num_parameters']:,} parameters"
        )
    print("registered models:", ", ".join(payload["registered"]) or "none shipped yet")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from nanomlip.integrations.ase_calculator import NanoCalculator

    calculator = NanoCalculator(model=args.model)
    print(json.dumps(calculator.metadata, indent=2, default=str))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from nanomlip.models import export_torchscript, load_model

    model = load_model(args.model)
    export_torchscript(model, args.out)
    print(f"wrote {args.out}")
    return 0
