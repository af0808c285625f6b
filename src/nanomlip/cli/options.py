"""Command-line options shared by several sub-commands, and the objects they build.

=====================================  ==============================================
Options                                Used by
=====================================  ==============================================
model (``--model``/``--preset``, ...)  ``calc``, ``relax``, ``md``, the electrolyte benches
structure (``file``, ``--supercell``)  ``relax``, ``md``
dispersion (``--d3``)                  the model options, the electrolyte benches
training (``--config``, ``--set``)     ``distill``, ``finetune``
=====================================  ==============================================
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nanomlip.distill.config import TrainConfig
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

    from nanomlip.integrations.ase_calculator import NanoCalculator  # lazy: torch is slow
    from nanomlip.models.checkpoint import UntrainedModelWarning

    stream = sys.stdout if announce else sys.stderr
    check_device(args.device)
    model = student_from_args(args, stream)
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


def student_from_args(args: argparse.Namespace, stream: IO[str] = sys.stdout) -> Any:
    """The student the model options name: an untrained ``--preset`` model, else ``--model``.

    An untrained preset is announced on ``stream`` with a loud warning.
    """
    if not args.preset:
        return args.model
    from nanomlip.models.registry import build_model  # lazy: torch is slow to import

    print(UNTRAINED_WARNING.format(preset=args.preset), file=stream, flush=True)
    return build_model(args.preset)


def add_dispersion_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--d3`` (D3(BJ) dispersion added to the model) and ``--d3-functional NAME``."""
    parser.add_argument(
        "--d3",
        action="store_true",
        help="add Grimme D3(BJ) dispersion (simple-dftd3) to the model",
    )
    parser.add_argument(
        "--d3-functional",
        default="pbe",
        metavar="NAME",
        help="functional whose D3(BJ) damping parameters to use (default: pbe, the teacher's)",
    )


def dispersion_from_args(args: argparse.Namespace) -> str | None:
    """The ``dispersion`` argument of :class:`~nanomlip.NanoCalculator` chosen by ``--d3``."""
    if not getattr(args, "d3", False):
        return None
    return f"d3:{getattr(args, 'd3_functional', 'pbe')}"


def add_training_options(parser: argparse.ArgumentParser, set_example: str) -> None:
    """Add ``--config FILE``, repeatable ``--set KEY=VALUE`` and ``--no-progress``."""
    parser.add_argument("--config", type=Path, help="YAML file of training options")
    parser.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override one training option, e.g. {set_example} (repeatable)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def training_config_from_args(
    args: argparse.Namespace, base: TrainConfig | None = None, **values: Any
) -> TrainConfig:
    """``base`` < ``--config`` < ``--set`` < ``values`` < ``--no-progress``.

    Raises:
        FileNotFoundError: The ``--config`` file does not exist.
        ValueError: A bad file, key or value.
    """
    from nanomlip.distill.config import load_config

    if args.no_progress:
        values["progress"] = False
    return load_config(args.config, args.assignments, base=base, **values)
