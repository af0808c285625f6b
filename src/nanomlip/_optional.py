"""Imports of optional dependencies, with the install command in the error.

The core install (``pip install nanomlip``) runs the shipped model: torch, e3nn, ASE,
vesin, safetensors, numpy, PyYAML and tqdm. Everything else is an extra of
``pyproject.toml`` and imported through :func:`import_optional` where it is used.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingDependencyError(ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def import_optional(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingDependencyError` naming the extra.

    Args:
        module: Dotted module name, e.g. ``"matplotlib.figure"``.
        extra: The extra of ``pyproject.toml`` that installs it, e.g. ``"plots"``.
        purpose: What needs it, for the message (e.g. ``"parity plots"``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        top = module.split(".")[0]
        raise MissingDependencyError(
            f"{purpose} need(s) {top}, which is not installed: "
            f"pip install 'nanomlip[{extra}]' (or pip install {top})"
        ) from error
