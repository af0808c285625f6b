"""``nanomlip calc FILE``: energy, forces and stress of structures read by ASE."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from nanomlip.cli.dispersion_option import add_dispersion_option, dispersion_from_args


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calc", help="single-point energy, forces and stress of a structure file"
    )
    parser.add_argument("file", type=Path, help="any format ASE reads (CIF, POSCAR, extxyz, ...)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", help="checkpoint, TorchScript file or registered model name")
    source.add_argument(
        "--preset", help="use an UNTRAINED model of this preset (for testing the pipeline)"
    )
    parser.add_argument("--index", default=":", help="ASE index of the frames to read")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    add_dispersion_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ase.io import read

    from nanomlip import NanoCalculator, build_model

    if not args.file.is_file():
        raise FileNotFoundError(f"structure file {str(args.file)!r} does not exist")
    model = build_model(args.preset) if args.preset else args.model
    calculator = NanoCalculator(
        model=model, device=args.device, dtype=args.dtype, dispersion=dispersion_from_args(args)
    )
    frames = read(args.file, index=args.index)
    frames = frames if isinstance(frames, list) else [frames]
    rows = []
    for index, atoms in enumerate(frames):
        atoms.calc = calculator
        row = {
            "frame": index,
            "formula": atoms.get_chemical_formula(),
            "num_atoms": len(atoms),
            "energy_eV": atoms.get_potential_energy(),
            "max_force_eV_per_A": float(np.linalg.norm(atoms.get_forces(), axis=1).max()),
        }
        if atoms.pbc.all():
            row["stress_GPa_voigt"] = (atoms.get_stress() * 160.21766208).round(6).tolist()
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        if args.preset:
            print(f"# UNTRAINED {args.preset} model: numbers test the pipeline, not physics")
        for row in rows:
            line = (
                f"{row['frame']:4d} {row['formula']:>12s} E = {row['energy_eV']:.6f} eV "
                f"({row['energy_eV'] / row['num_atoms']:.6f} eV/atom)  "
                f"max|F| = {row['max_force_eV_per_A']:.4f} eV/Å"
            )
            if "stress_GPa_voigt" in row:
                line += f"  stress(GPa) = {row['stress_GPa_voigt']}"
            print(line)
    return 0
