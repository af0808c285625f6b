"""``nanomlip relax FILE``: optimise atomic positions and, with ``--cell``, the cell.

Also holds the structure and model options shared with ``nanomlip md`` and ``calc``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from nanomlip.cli.dispersion_option import add_dispersion_option, dispersion_from_args

if TYPE_CHECKING:
    from nanomlip.integrations.ase_calculator import NanoCalculator

UNTRAINED_WARNING = (
    "# WARNING: UNTRAINED {preset} model: the results test the pipeline, not physics"
)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--model``/``--preset``, ``--device`` and ``--dtype`` to ``parser``."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--model",
        help="checkpoint, TorchScript file or registered model name (default: the shipped model)",
    )
    source.add_argument(
        "--preset", help="use an UNTRAINED model of this preset (for testing the pipeline)"
    )
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    add_dispersion_option(parser)


def add_structure_options(parser: argparse.ArgumentParser) -> None:
    """Add the input ``file`` with ``--index`` and ``--supercell`` (relax, md)."""
    parser.add_argument("file", type=Path, help="any format ASE reads (CIF, POSCAR, extxyz, ...)")
    parser.add_argument(
        "--index", default="-1", help="frame of a multi-frame file (an integer; -1: the last)"
    )
    parser.add_argument(
        "--supercell", help="repeat the structure first: N or NxMxK (e.g. 5 -> 5x5x5)"
    )


def check_device(name: str) -> None:
    """Raise ``ValueError`` when torch cannot use the device ``name`` here."""
    import torch

    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ValueError(f"--device {name!r} is not a torch device ({error})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"--device {name}: CUDA is not available to this torch ({torch.__version__}); "
            "use --device cpu"
        )


def calculator_from_args(args: argparse.Namespace, announce: bool = True) -> NanoCalculator:
    """Build the :class:`~nanomlip.NanoCalculator` chosen by the model options.

    Prints a loud warning when an untrained preset or an untrained checkpoint is used
    (to stdout, unless ``announce`` is false; then to stderr).
    """
    import warnings

    # lazy: torch is slow to import
    from nanomlip.integrations.ase_calculator import NanoCalculator
    from nanomlip.models import build_model
    from nanomlip.models.checkpoint import UntrainedModelWarning

    stream = sys.stdout if announce else sys.stderr
    check_device(args.device)
    if args.preset:
        print(UNTRAINED_WARNING.format(preset=args.preset), file=stream, flush=True)
        model = build_model(args.preset)
    else:
        model = args.model
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UntrainedModelWarning)
            calculator = NanoCalculator(
                model=model,
                device=args.device,
                dtype=args.dtype,
                dispersion=dispersion_from_args(args),
            )
        for warning in caught:
            if issubclass(warning.category, UntrainedModelWarning):
                print(f"# WARNING: {warning.message}", file=stream, flush=True)
            else:
                warnings.showwarning(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        return calculator
    except ValueError as error:
        if model is None:
            raise ValueError(
                f"{error} (on the command line: --model PATH|NAME, "
                "or --preset NAME for an untrained model)"
            ) from error
        raise


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
