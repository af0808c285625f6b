"""Building models from presets and resolving model references.

A *model reference* is what users pass to :class:`~nanomlip.NanoCalculator`:
a model instance, a checkpoint path, or the name of a registered (shipped)
model. Checkpoints in ``nanomlip/pretrained/*.safetensors`` are registered
under their file stem automatically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from nanomlip._defaults import DEFAULT_MODEL as DEFAULT_MODEL
from nanomlip.models.checkpoint import load_checkpoint
from nanomlip.models.config import ModelConfig, available_presets, preset_config
from nanomlip.models.nano import NanoModel

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
_USER_MODELS: dict[str, Path] = {}


def build_model(preset: str = "nano-5.0", seed: int = 0, **overrides: Any) -> NanoModel:
    """An untrained model from a named preset.

    Args:
        preset: Preset name (see :func:`available_presets`).
        seed: Seed for the weight initialisation (the global RNG state is restored).
        **overrides: Fields of :class:`ModelConfig` to change.

    Returns:
        The model (float32, CPU, eval mode), with ``metadata["preset"]`` set.
    """
    return model_from_config(preset_config(preset, **overrides), preset, seed)


def model_from_config(config: ModelConfig, preset: str, seed: int = 0) -> NanoModel:
    """An untrained model of a resolved configuration.

    Args:
        config: The full model configuration.
        preset: Preset the configuration came from, recorded in ``metadata["preset"]``.
        seed: Seed for the weight initialisation (the global RNG state is restored).

    Returns:
        The model (float32, CPU, eval mode).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = NanoModel(config)
    model.metadata = {"preset": preset, "seed": seed}
    return model.eval()


def register_model(name: str, path: str | os.PathLike) -> None:
    """Register a checkpoint file under a short name usable by the calculator."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cannot register {name!r}: {str(path)!r} does not exist")
    _USER_MODELS[name] = path


def registered_models() -> dict[str, Path]:
    """Shipped and user-registered models, name -> checkpoint path."""
    models = {path.stem: path for path in sorted(PRETRAINED_DIR.glob("*.safetensors"))}
    models.update(_USER_MODELS)
    return models


def load_model(reference: NanoModel | str | os.PathLike, device: str = "cpu") -> NanoModel:
    """Resolve a model reference to a model on ``device``.

    Raises:
        ValueError: ``reference`` is neither an existing file nor a registered name.
    """
    if isinstance(reference, NanoModel):
        return reference.to(device)
    if isinstance(reference, torch.nn.Module):
        raise TypeError(
            f"expected a NanoModel, got {type(reference).__name__}; wrap other ASE-capable "
            "models in their own calculator"
        )
    text = str(reference)
    models = registered_models()
    if text in models:
        return load_checkpoint(models[text], device=device)
    if Path(text).exists():
        return load_checkpoint(text, device=device)
    hint = (
        f"registered models: {sorted(models) or 'none shipped yet'}. "
        f"For an untrained model use nanomlip.build_model(preset) with one of {available_presets()}"
    )
    if text in available_presets():
        raise ValueError(f"{text!r} is a preset, not trained weights; {hint}")
    raise ValueError(
        f"model {text!r} is neither an existing checkpoint file nor a registered model; {hint}"
    )
