"""``nanomlip md FILE``: molecular dynamics (NVE, NVT, NPT) of a structure file."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nanomlip._defaults import DEFAULT_MODEL
from nanomlip.cli.options import add_model_options, add_structure_options, calculator_from_args
from nanomlip.cli.trust import add_trust_options, trust_from_args, trust_summary

if TYPE_CHECKING:
    from ase import Atoms

    from nanomlip.integrations.ase_calculator import NanoCalculator
    from nanomlip.md import MDConfig


@dataclass
class _PreparedRun:
    """Everything ``run_md`` needs, built and checked before any file is touched."""

    atoms: Atoms
    calculator: NanoCalculator
    out_dir: Path
    start_step: int
    start_time_ps: float
    record: dict[str, Any]
    notes: list[str]


#: Kept in sync with :data:`nanomlip.md.settings.ENSEMBLES` (not imported: ASE is slow).
_ENSEMBLE_HELP = "nve | nvt-langevin | nvt-nose-hoover | npt-mtk | npt-berendsen"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "md",
        help="molecular dynamics of a structure file",
        description="Molecular dynamics with a trajectory, a thermo CSV and live ns/day. "
        "Stops with an error (exit 1) on non-finite energy/forces or runaway temperature.",
    )
    add_structure_options(parser)
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
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run in a non-empty --out-dir (refused otherwise)",
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


def _prepare_run(args: argparse.Namespace, config: MDConfig) -> _PreparedRun:
    """Check every input and build the start state; nothing is written here."""
    from nanomlip.data.inputs import check_structure
    from nanomlip.md import load_restart, make_supercell, read_structure
    from nanomlip.md.run_folder import (
        Segment,
        check_output_folder,
        continue_run_record,
        new_run_record,
        read_run_record,
    )

    out_dir = args.out_dir or args.file.with_name(f"{args.file.stem}_md")
    check_output_folder(out_dir, restart=args.restart, overwrite=args.overwrite)
    atoms = make_supercell(read_structure(args.file, args.index), args.supercell)
    calculator = calculator_from_args(args)
    check_structure(atoms, str(args.file), calculator.species)
    notes: list[str] = []
    start_step, start_time = 0, 0.0
    if args.restart:
        record = read_run_record(out_dir)
        atoms, start_step, start_time = load_restart(out_dir, config.traj_format)
        check_structure(atoms, f"the last frame in {out_dir}", calculator.species)
    segment = Segment(
        start_step=start_step,
        ensemble=config.ensemble,
        temperature_K=config.temperature_K,
        pressure_GPa=config.pressure_GPa,
        timestep_fs=config.timestep_fs,
        model=f"preset:{args.preset}" if args.preset else str(args.model or DEFAULT_MODEL),
    )
    if args.restart:
        record, notes = continue_run_record(record, args.file, args.supercell, segment)
    else:
        record = new_run_record(args.file, args.supercell, segment)
    return _PreparedRun(atoms, calculator, out_dir, start_step, start_time, record, notes)


def run(args: argparse.Namespace) -> int:
    from nanomlip.md import SimulationError, format_md_summary, run_md
    from nanomlip.md.run_folder import drift_start_step, write_run_record

    config = _config(args)
    trust = trust_from_args(args)
    prepared = _prepare_run(args, config)
    for note in prepared.notes:
        print(note)
    try:
        result = run_md(
            prepared.atoms,
            config,
            prepared.out_dir,
            calculator=prepared.calculator,
            start_step=prepared.start_step,
            start_time_ps=prepared.start_time_ps,
            progress=not args.no_progress,
            drift_from_step=drift_start_step(prepared.record),
            on_start=lambda out_dir: write_run_record(out_dir, prepared.record),
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
