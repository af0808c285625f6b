"""``nanomlip md FILE``: molecular dynamics (NVE, NVT, NPT) of a structure file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from nanomlip.cli.relax import add_model_options, calculator_from_args
from nanomlip.cli.trust import add_trust_options, trust_from_args, trust_summary

if TYPE_CHECKING:
    from nanomlip.md import MDConfig

#: Kept in sync with :data:`nanomlip.md.dynamics.ENSEMBLES` (not imported: ASE is slow).
_ENSEMBLE_HELP = "nve | nvt-langevin | nvt-nose-hoover | npt-mtk | npt-berendsen"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "md",
        help="molecular dynamics of a structure file",
        description="Molecular dynamics with a trajectory, a thermo CSV and live ns/day. "
        "Stops with an error (exit 1) on non-finite energy/forces or runaway temperature.",
    )
    parser.add_argument("file", type=Path, help="any format ASE reads (CIF, POSCAR, extxyz, ...)")
    parser.add_argument(
        "--supercell", help="repeat the structure first: N or NxMxK (e.g. 5 -> 5x5x5)"
    )
    add_model_options(parser)
    parser.add_argument("--ensemble", default="nvt-langevin", help=_ENSEMBLE_HELP)
    parser.add_argument(
        "--anisotropic", action="store_true", help="NPT: let cell vectors change independently"
    )
    parser.add_argument("--temperature", type=float, default=300.0, help="target/initial T (K)")
    parser.add_argument("--pressure", type=float, default=0.0, help="NPT target pressure (GPa)")
    parser.add_argument("--timestep", type=float, default=1.0, help="time step (fs)")
    parser.add_argument("--steps", type=int, default=1000, help="total steps of the run")
    parser.add_argument("--seed", type=int, default=0, help="seed of velocities and noise")
    parser.add_argument("--traj-every", type=int, default=10, help="frame interval (steps)")
    parser.add_argument("--log-every", type=int, default=10, help="thermo row interval (steps)")
    parser.add_argument("--traj-format", default="extxyz", help="extxyz | traj")
    parser.add_argument("--out-dir", type=Path, help="output directory (default: <stem>_md)")
    parser.add_argument(
        "--max-temperature",
        type=float,
        help="stop above this T (K); default 10 x target, 5000 K for NVE",
    )
    parser.add_argument("--friction", type=float, default=10.0, help="Langevin friction (1/ps)")
    parser.add_argument("--tdamp", type=float, help="thermostat time constant (fs; 100 dt)")
    parser.add_argument("--pdamp", type=float, help="barostat time constant (fs; 1000 dt)")
    parser.add_argument(
        "--bulk-modulus", type=float, default=100.0, help="Berendsen bulk modulus guess (GPa)"
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="continue from the last frame in --out-dir, appending to its files",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_trust_options(parser)
    parser.set_defaults(handler=run)


def _config(args: argparse.Namespace) -> MDConfig:
    from nanomlip.md import MDConfig  # lazy: ASE's MD modules are slow to import

    config = MDConfig(
        ensemble=args.ensemble.lower(),
        temperature_K=args.temperature,
        pressure_GPa=args.pressure,
        timestep_fs=args.timestep,
        steps=args.steps,
        seed=args.seed,
        traj_every=args.traj_every,
        log_every=args.log_every,
        traj_format=args.traj_format.lower(),
        anisotropic=args.anisotropic,
        max_temperature_K=args.max_temperature,
        friction_per_ps=args.friction,
        tdamp_fs=args.tdamp,
        pdamp_fs=args.pdamp,
        bulk_modulus_GPa=args.bulk_modulus,
    )
    config.validate()
    return config


def run(args: argparse.Namespace) -> int:
    from nanomlip.md import (
        SimulationError,
        format_md_summary,
        load_restart,
        make_supercell,
        read_structure,
        run_md,
    )

    config = _config(args)
    atoms = make_supercell(read_structure(args.file), args.supercell)
    out_dir = args.out_dir or args.file.with_name(f"{args.file.stem}_md")
    start_step, start_time = 0, 0.0
    if args.restart:
        atoms, start_step, start_time = load_restart(out_dir, config.traj_format)
    calculator = calculator_from_args(args)
    trust = trust_from_args(args)
    try:
        result = run_md(
            atoms,
            config,
            out_dir,
            calculator=calculator,
            start_step=start_step,
            start_time_ps=start_time,
            progress=not args.no_progress,
            trust=trust,
        )
    except SimulationError as error:
        print(f"nanomlip md: error: {error}", file=sys.stderr)
        return 1
    finally:
        if trust_summary(trust):
            print(trust_summary(trust))
    print(format_md_summary(result, config))
    print(f"wrote {result.trajectory} and {result.thermo}")
    return 0
