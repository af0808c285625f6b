"""``nanomlip relax FILE``: optimise atomic positions and, with ``--cell``, the cell."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from nanomlip.cli.options import add_model_options, add_structure_options, calculator_from_args

if TYPE_CHECKING:
    pass


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "relax", help="relax atomic positions (and the cell with --cell) of a structure file"
    )
    add_structure_options(parser)
    add_model_options(parser)
    parser.add_argument("--cell", action="store_true", help="relax the cell too")
    parser.add_argument("--optimizer", default="FIRE", type=str.upper, choices=["FIRE", "BFGS"])
    parser.add_argument("--fmax", type=float, default=0.05, help="force threshold (eV/Å)")
    parser.add_argument("--steps", type=int, default=500, help="maximum optimizer steps")
    parser.add_argument(
        "--pressure", type=float, default=0.0, help="target pressure for --cell (GPa)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="relaxed structure; the format follows the name (.cif, .vasp, POSCAR, .extxyz; "
        "default: <stem>_relaxed.extxyz)",
    )
    parser.add_argument("--log", type=Path, help="optimizer log (default: <out stem>.log)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ase.io import write

    from nanomlip.data.inputs import check_structure, output_format
    from nanomlip.md import format_relax_summary, make_supercell, read_structure, relax

    out = args.out or args.file.with_name(f"{args.file.stem}_relaxed.extxyz")
    out_format = output_format(out)
    log = args.log or out.with_suffix(".log")
    atoms = make_supercell(read_structure(args.file, args.index), args.supercell)
    calculator = calculator_from_args(args)
    check_structure(atoms, str(args.file), calculator.species)
    result = relax(
        atoms,
        calculator,
        fmax=args.fmax,
        steps=args.steps,
        optimizer=args.optimizer,
        cell=args.cell,
        pressure_GPa=args.pressure,
        logfile=str(log),
    )
    write(out, result.atoms, format=out_format)
    print(format_relax_summary(result))
    print(f"wrote {out} ({out_format}) and {log}")
    return 0
