"""``nanomlip models`` and ``nanomlip export``: list, inspect and export models."""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any, cast

from nanomlip.schema import ENERGY_MAE, FORCES_MAE, STRESS_MAE


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    listing = subparsers.add_parser("models", help="list presets and registered models")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_list)

    info = subparsers.add_parser(
        "info", help="summary of a checkpoint or TorchScript file (--json: all metadata)"
    )
    info.add_argument("model", help="checkpoint, TorchScript file or registered name")
    info.add_argument("--json", action="store_true", help="print the full metadata as JSON")
    info.set_defaults(handler=run_info)

    export = subparsers.add_parser("export", help="export a checkpoint to TorchScript")
    export.add_argument("model", help="checkpoint or registered name")
    export.add_argument("out", type=Path, help="output .pt file")
    export.set_defaults(handler=run_export)

    card = subparsers.add_parser(
        "card",
        help="write the model card of a checkpoint from measured results",
        description="Build a Markdown model card from the JSON that nanomlip eval, "
        "bench eos and bench speed wrote; every figure carries the command that made it.",
    )
    card.add_argument("model", help="checkpoint or registered name")
    card.add_argument("--eval", required=True, type=Path, help="eval.json of nanomlip eval")
    card.add_argument("--eos", required=True, type=Path, help="eos.json of nanomlip bench eos")
    card.add_argument("--speed", type=Path, help="JSON of nanomlip bench speed")
    card.add_argument(
        "--run",
        type=Path,
        action="append",
        help="run folder of nanomlip distill (repeat, earliest first, for continued runs)",
    )
    card.add_argument("--data", type=Path, help="training dataset folder (composition)")
    card.add_argument("--notes", type=Path, help="Markdown file of further measured findings")
    card.add_argument("--name", help="model name (default: the checkpoint's file stem)")
    card.add_argument("--label", help="the model's label in the EOS/speed JSON (default: name)")
    card.add_argument("--out", required=True, type=Path, help="output Markdown file")
    card.set_defaults(handler=run_card)


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
    print(
        "registered models:",
        ", ".join(cast(list[str], payload["registered"])) or "none shipped yet",
    )
    return 0


def run_info(args: argparse.Namespace) -> int:
    from nanomlip.integrations.ase_calculator import NanoCalculator
    from nanomlip.models.checkpoint import UntrainedModelWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedModelWarning)  # the summary says it
        calculator = NanoCalculator(model=args.model)
    if args.json:
        print(json.dumps(calculator.metadata, indent=2, default=str))
    else:
        print("\n".join(model_summary(str(args.model), calculator.metadata)))
    return 0


def _mae_line(val: dict[str, Any]) -> str:
    parts = [
        f"E {val[ENERGY_MAE]:.1f} meV/atom",
        f"F {val[FORCES_MAE]:.0f} meV/Å",
    ]
    if val.get(STRESS_MAE) is not None:
        parts.append(f"S {val[STRESS_MAE]:.2f} GPa")
    return ", ".join(parts) + f" ({val.get('n_frames', '?')} frames)"


def model_summary(name: str, metadata: dict[str, Any]) -> list[str]:
    """A dozen lines about a model from its metadata (``info MODEL``)."""
    from ase.data import chemical_symbols

    from nanomlip.models.checkpoint import is_untrained

    species = [chemical_symbols[int(z)] for z in metadata.get("species", [])]
    shown = " ".join(species) if len(species) <= 12 else f"{species[0]} .. {species[-1]}"
    lines = [
        f"model        {name}",
        f"preset       {metadata.get('preset') or '-'}, "
        f"{metadata.get('num_parameters', 0):,} parameters, {metadata.get('dtype', '?')}",
        f"cutoff       {metadata.get('cutoff')} Å",
        f"elements     {len(species)} ({shown})",
    ]
    if is_untrained(metadata):
        lines.append("training     none: UNTRAINED (numbers test the pipeline, not physics)")
    else:
        training = metadata.get("training") or {}
        lines += [
            f"teacher      {metadata.get('teacher') or '-'} "
            f"({metadata.get('teacher_version') or '?'})",
            f"dataset      {metadata.get('dataset') or '-'}",
            f"training     step {training.get('step', '?')}, epoch {training.get('epoch', '?')}, "
            f"{training.get('n_train_frames', '?')} training frames",
        ]
        if training.get("val"):
            lines.append(f"validation   {_mae_line(training['val'])}")
    lines += [
        f"made by      nanomlip {metadata.get('nanomlip_version', '?')}, "
        f"{metadata.get('created', '?')}",
        "(nanomlip info MODEL --json prints all metadata)",
    ]
    return lines


def run_export(args: argparse.Namespace) -> int:
    from nanomlip.models import export_torchscript, load_model

    model = load_model(args.model)
    export_torchscript(model, args.out)
    print(f"wrote {args.out}")
    return 0


def run_card(args: argparse.Namespace) -> int:
    from nanomlip.data.store import LabeledDataset
    from nanomlip.models import load_model
    from nanomlip.reports.card import CardInputs, read_json, render_card

    name = args.name or Path(str(args.model)).stem
    inputs = CardInputs(
        name=name,
        model=load_model(args.model),
        evaluation=read_json(args.eval),
        eos=read_json(args.eos),
        speed=read_json(args.speed) if args.speed else None,
        run_metrics={str(run): read_json(run / "metrics.json") for run in args.run or []},
        dataset_summary=LabeledDataset(args.data).summary() if args.data else None,
        student_label=args.label or name,
        notes=args.notes.read_text() if args.notes else None,
        command=args.command_line,
    )
    text = render_card(inputs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_suffix(args.out.suffix + ".tmp")
    temporary.write_text(text)
    temporary.replace(args.out)
    print(f"wrote {args.out}")
    return 0
