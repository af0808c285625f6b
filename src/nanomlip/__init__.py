"""nanomlip: compact, fast, universal interatomic potentials distilled from foundation models."""

from nanomlip._version import __version__
from nanomlip.integrations.ase_calculator import NanoCalculator
from nanomlip.models import (
    available_presets,
    build_model,
    export_torchscript,
    load_checkpoint,
    load_torchscript,
    save_checkpoint,
)

__all__ = [
    "NanoCalculator",
    "__version__",
    "available_presets",
    "build_model",
    "export_torchscript",
    "load_checkpoint",
    "load_torchscript",
    "save_checkpoint",
]
