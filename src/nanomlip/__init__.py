"""nanomlip: compact, fast, universal interatomic potentials distilled from foundation models."""

__version__ = "0.1.0"

from nanomlip.integrations.ase_calculator import NanoCalculator  # noqa: E402
from nanomlip.models import (  # noqa: E402
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
