"""``nanomlip finetune``: fine-tune a trained student on the user's labelled data, with replay."""

from __future__ import annotations

import argparse
from pathlib import Path

from nanomlip._defaults import DEFAULT_MODEL
from nanomlip.cli.options import add_training_options, training_config_from_args


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "finetune",
        help="fine-tune a student on your labelled frames (extxyz, ASE db, dataset)",
        description="Starts from a shipped or user model, refits per-element reference "
        "energies to the data's level of theory, replays distillation frames against "
        "forgetting and writes RUN/model.safetensors with a before/after report. Kill it at "
        "any time; rerunning the same command resumes.",
    )
    parser.add_argument(
        "--data",
        required=True,
        type=Path,
        help="extxyz/xyz/ASE db/traj file, a folder of them, or a nanomlip dataset",
    )
    parser.add_argument("--out", required=True, type=Path, help="run folder")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"starting model (default {DEFAULT_MODEL})"
    )
    parser.add_argument(
        "--replay",
        type=float,
        default=0.5,
        help="share of training frames drawn from the distillation data (0: none)",
    )
    parser.add_argument("--replay-data", help="distillation dataset (default: the model's)")
    refit = parser.add_mutually_exclusive_group()
    refit.add_argument(
        "--refit-references",
        dest="refit",
        action="store_const",
        const=True,
        help="refit per-element reference energies (default: when the source differs)",
    )
    refit.add_argument(
        "--keep-references", dest="refit", action="store_const", const=False, help="never refit"
    )
    parser.add_argument("--source", help="name of the data's level of theory, e.g. vasp-pbe")
    parser.add_argument("--holdout", type=float, default=0.2, help="held-out share of the data")
    parser.add_argument(
        "--forget-frames", type=int, default=200, help="distillation val frames for forgetting"
    )
    parser.add_argument(
        "--freeze-layers", type=int, help="freeze the first N interaction blocks (and inputs)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and replay draw")
    parser.add_argument("--no-unit-check", action="store_true", help="skip the mixed-units check")
    add_training_options(parser, "--set max_steps=200")
    parser.set_defaults(handler=run)


#: Fine-tuning starts from trained weights: fewer epochs, a lower peak rate, short warm-up.
FINETUNE_DEFAULTS = {"max_epochs": 20, "lr": 1e-3, "warmup_steps": 10}


def training_config(args: argparse.Namespace):
    """Trainer defaults < :data:`FINETUNE_DEFAULTS` < ``--config`` < ``--set`` < flags."""
    from nanomlip.distill.config import apply_values

    flags = {} if args.freeze_layers is None else {"freeze_layers": args.freeze_layers}
    return training_config_from_args(args, apply_values(FINETUNE_DEFAULTS), **flags)


def run(args: argparse.Namespace) -> int:
    from nanomlip.distill.finetune import REPORT, FinetuneOptions, finetune

    options = FinetuneOptions(
        model=args.model,
        replay=args.replay,
        replay_data=args.replay_data,
        refit_references=args.refit,
        source=args.source,
        holdout=args.holdout,
        forget_frames=args.forget_frames,
        seed=args.seed,
        check_units=not args.no_unit_check,
    )
    try:
        finetune(args.data, args.out, options, training_config(args))
    except FloatingPointError as error:
        raise ValueError(str(error)) from error
    print((args.out / f"{REPORT}.md").read_text(), end="")
    print(f"model: {args.out / 'model.safetensors'}")
    return 0
