"""``nanomlip distill`` (train a student on a labelled dataset) and ``nanomlip eval``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nanomlip.cli.options import add_training_options, training_config_from_args
from nanomlip.schema import ENERGY_MAE, FORCES_MAE, STRESS_MAE


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    distill = subparsers.add_parser(
        "distill",
        help="train a student on a labelled dataset (resumable)",
        description="Kill it at any time; rerunning the same command resumes from the last "
        "checkpoint and ends exactly as an uninterrupted run would.",
    )
    distill.add_argument("--data", required=True, type=Path, help="labelled dataset folder")
    distill.add_argument("--out", required=True, type=Path, help="run folder")
    distill.add_argument("--preset", help="student preset (default: the config's, nano-5.0)")
    add_training_options(distill, "--set lr=1e-3 --set model.num_layers=3")
    distill.set_defaults(handler=run_distill)

    evaluate = subparsers.add_parser(
        "eval", help="errors of a model against a labelled dataset (tables and parity plots)"
    )
    evaluate.add_argument("--model", required=True, help="checkpoint, TorchScript or name")
    evaluate.add_argument("--data", required=True, type=Path, help="labelled dataset folder")
    evaluate.add_argument(
        "--split",
        choices=["val", "all"],
        default="val",
        help="val: the validation frames of the model's training run (default); all: every "
        "frame, training frames included",
    )
    evaluate.add_argument("--out", type=Path, help="folder for eval.json, eval.md, parity.png")
    evaluate.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    evaluate.add_argument("--device", default="cpu")
    evaluate.add_argument("--batch-size", type=int, default=16, help="frames per batch")
    evaluate.add_argument(
        "--val-fraction", type=float, help="override the model's validation fraction (--split val)"
    )
    evaluate.add_argument("--seed", type=int, help="override the model's split seed (--split val)")
    evaluate.add_argument(
        "--max-frames",
        type=int,
        help="evaluate a fixed random sample of at most this many frames of the split",
    )
    evaluate.add_argument(
        "--split-of",
        metavar="MODEL",
        help="--split val: the validation frames of this model's training run instead of "
        "--model's (e.g. a fine-tune on its parent's held-out frames)",
    )
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.set_defaults(handler=run_eval)


def run_distill(args: argparse.Namespace) -> int:
    from nanomlip._progress import format_rate
    from nanomlip.distill.trainer import MODEL, train

    if not args.data.exists():
        raise FileNotFoundError(f"dataset {str(args.data)!r} does not exist")
    values = {"preset": args.preset} if args.preset else {}
    config = training_config_from_args(args, **values)
    try:
        result = train(args.data, args.out, config)
    except FloatingPointError as error:
        raise ValueError(str(error)) from error
    state = result.state
    print(
        f"stopped by {result.stopped_by} at step {state.step} (epoch {state.epoch}); "
        f"this run: {result.steps} steps, {result.steps_per_second:.2f} steps/s overall "
        f"({format_rate(result.steady_steps_per_second)} steady-state), "
        f"{result.frames_per_second:.1f} frames/s"
    )
    if state.history and state.history[-1].get("report"):
        overall = state.history[-1]["report"]["overall"]
        print(
            "last validation: "
            f"E {overall[ENERGY_MAE]:.2f} meV/atom, "
            f"F {overall[FORCES_MAE]:.1f} meV/Å"
            + (f", S {overall[STRESS_MAE]:.3f} GPa" if overall[STRESS_MAE] is not None else "")
        )
    print(f"best model (step {state.best_step}): {args.out / MODEL}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from nanomlip.distill.evaluate import evaluate, markdown_table, write_outputs

    evaluation = evaluate(
        args.model,
        args.data,
        split=args.split,
        dtype=args.dtype,
        device=args.device,
        batch_size=args.batch_size,
        val_fraction=args.val_fraction,
        seed=args.seed,
        max_frames=args.max_frames,
        split_of=args.split_of,
    )
    evaluation.info["command"] = args.command_line
    if args.json:
        print(json.dumps(evaluation.to_dict(), indent=2))
    else:
        print(markdown_table(evaluation.report), end="")
    if args.out:
        paths = write_outputs(evaluation, args.out)
        print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0
