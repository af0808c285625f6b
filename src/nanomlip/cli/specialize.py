"""``nanomlip specialize STRUCTURE --teacher SPEC --out RUN``: active selection in rounds."""

from __future__ import annotations

import argparse
from pathlib import Path

from nanomlip._defaults import DEFAULT_MODEL


def _floats(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from error


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "specialize",
        help="specialise a student to one system by active selection against the teacher",
        description="Rounds of: MD with the current student over the temperatures, strains "
        "and pressures given; teacher spot checks on fresh frames (the error that decides "
        "when to stop); teacher labels on the frames selected; fine-tuning with replay. "
        "Stops under --threshold or when the budget runs out, and leaves RUN/model.safetensors "
        "with a card RUN/model.md. Kill it at any time; rerunning resumes.",
    )
    parser.add_argument("structures", nargs="+", type=Path, help="structure file(s) ASE reads")
    parser.add_argument(
        "--teacher", required=True, help="teacher spec, e.g. sevennet:7net-mf-0@PBE"
    )
    parser.add_argument("--out", required=True, type=Path, help="run folder")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"base student (default {DEFAULT_MODEL})"
    )
    parser.add_argument("--supercell", help="repeat each structure: N or NxMxK")
    md = parser.add_argument_group("MD sampling")
    md.add_argument("--temperatures", type=_floats, default=[300.0, 600.0], help="K, e.g. 300,900")
    md.add_argument(
        "--strains", type=_floats, default=[0.0], help="linear strains, e.g. -0.02,0,0.02"
    )
    md.add_argument(
        "--pressures", type=_floats, default=[], help="GPa: NPT (Berendsen) instead of NVT"
    )
    md.add_argument("--md-steps", type=int, default=200, help="steps per condition and round")
    md.add_argument("--sample-every", type=int, default=10, help="steps between candidates")
    md.add_argument("--timestep", type=float, default=1.0, help="fs")
    md.add_argument(
        "--continue-md",
        action="store_true",
        help="start each round's MD where the last round's ended (default: from the "
        "structures again, so rounds see only the first --md-steps after them)",
    )
    pick = parser.add_argument_group("selection and stopping")
    pick.add_argument("--test-frames", type=int, default=4, help="fresh frames checked per round")
    pick.add_argument("--select-frames", type=int, default=8, help="frames labelled per round")
    pick.add_argument("--select", dest="method", default="spot", help="spot | committee | random")
    pick.add_argument("--committee-size", type=int, default=3)
    pick.add_argument(
        "--threshold", type=float, default=50.0, help="stop at this force MAE (meV/Å)"
    )
    pick.add_argument("--max-rounds", type=int, default=5, help="most fine-tunings")
    pick.add_argument("--max-teacher-calls", type=int, help="teacher evaluations allowed")
    pick.add_argument("--max-minutes", type=float, help="CPU minutes allowed")
    train = parser.add_argument_group("fine-tuning")
    train.add_argument("--replay", type=float, default=0.3, help="share of distillation frames")
    train.add_argument("--replay-data", help="distillation dataset (default: the model's)")
    train.add_argument("--train-steps", type=int, default=200, help="optimizer steps per round")
    train.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    train.add_argument("--batch-size", type=int, default=4)
    train.add_argument("--forget-frames", type=int, default=50, help="frames for forgetting")
    train.add_argument(
        "--cold-start",
        action="store_true",
        help="fine-tune every round from the base model (default: from the previous round's)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from nanomlip.distill.specialize import SpecializeOptions, read_structures, specialize

    if args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    options = SpecializeOptions(
        teacher=args.teacher,
        model=args.model,
        temperatures_K=args.temperatures,
        strains=args.strains,
        pressures_GPa=args.pressures,
        md_steps=args.md_steps,
        sample_every=args.sample_every,
        timestep_fs=args.timestep,
        test_frames=args.test_frames,
        select_frames=args.select_frames,
        method=args.method,
        committee_size=args.committee_size,
        threshold_meV_A=args.threshold,
        max_rounds=args.max_rounds,
        max_teacher_calls=args.max_teacher_calls,
        max_minutes=args.max_minutes,
        replay=args.replay,
        replay_data=args.replay_data,
        train_steps=args.train_steps,
        lr=args.lr,
        batch_size=args.batch_size,
        forget_frames=args.forget_frames,
        warm_start=not args.cold_start,
        continue_md=args.continue_md,
        seed=args.seed,
    )
    structures = read_structures(args.structures, args.supercell)
    result = specialize(structures, args.out, options, command=args.command_line)
    for row in result["rounds"]:
        print(
            f"round {row['round']}: fresh-frame force MAE {row['fresh_force_mae_meV_A']:.1f} "
            f"meV/Å on {row['fresh_frames']} frames; {row['teacher_calls']} teacher calls, "
            f"{row['cpu_s'] / 60:.2f} CPU min"
        )
    print(
        f"stopped by {result['stopped_by']}: {result['before_force_mae_meV_A']:.1f} -> "
        f"{result['after_force_mae_meV_A']:.1f} meV/Å, {result['teacher_calls']} teacher calls, "
        f"{result['cpu_minutes']:.1f} CPU min; model {args.out / 'model.safetensors'} "
        f"(card {args.out / 'model.md'})"
    )
    return 0
