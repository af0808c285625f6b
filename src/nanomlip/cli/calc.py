"""``nanomlip calc FILE``: energy, forces and stress of structures read by ASE."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from nanomlip.cli.options import add_model_options, calculator_from_args
from nanomlip.units import EV_PER_A3_TO_GPA


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calc", help="single-point energy, forces and stress of a structure file"
    )
    parser.add_argument("file", type=Path, help="any format ASE reads (CIF, POSCAR, extxyz, ...)")
    add_model_options(parser)
    parser.add_argument(
        "--index", default=":", help="frames to compute: an integer (0, -1) or a slice (0:10:2)"
    )
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.set_defaults(handler=run)


def _row(index: int, atoms: Any) -> dict[str, Any]:
    row = {
        "frame": index,
        "formula": atoms.get_chemical_formula(),
        "num_atoms": len(atoms),
        "energy_eV": atoms.get_potential_energy(),
        "max_force_eV_per_A": float(np.linalg.norm(atoms.get_forces(), axis=1).max()),
    }
    if atoms.pbc.all():
        row["stress_GPa_voigt"] = (atoms.get_stress() * EV_PER_A3_TO_GPA).round(6).tolist()
    return row


def _line(row: dict[str, Any]) -> str:
    line = (
        f"{row['frame']:4d} {row['formula']:>12s} E = {row['energy_eV']:.6f} eV "
        f"({row['energy_eV'] / row['num_atoms']:.6f} eV/atom)  "
        f"max|F| = {row['max_force_eV_per_A']:.4f} eV/Å"
    )
    if "stress_GPa_voigt" in row:
        line += f"  stress(GPa) = {row['stress_GPa_voigt']}"
    return line


def run(args: argparse.Namespace) -> int:
    from nanomlip.data.inputs import check_structure, read_structures

    frames = read_structures(args.file, args.index)
    calculator = calculator_from_args(args, announce=not args.json)
    for number, atoms in enumerate(frames):
        source = str(args.file) if len(frames) == 1 else f"{args.file} (frame {number})"
        check_structure(atoms, source, calculator.species)
    rows = []
    for index, atoms in enumerate(frames):
        atoms.calc = calculator
        rows.append(_row(index, atoms))
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(_line(row))
    return 0
