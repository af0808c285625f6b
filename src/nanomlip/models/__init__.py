"""Student models: configuration presets, the network, checkpoints and the registry."""

from nanomlip.models.checkpoint import (
    CheckpointError,
    export_torchscript,
    load_checkpoint,
    load_torchscript,
    save_checkpoint,
)
from nanomlip.models.config import ModelConfig, available_presets, preset_config, register_preset
from nanomlip.models.grow import grow_model
from nanomlip.models.nano import NanoModel
from nanomlip.models.registry import build_model, load_model, register_model, registered_models

__all__ = [
    "CheckpointError",
    "ModelConfig",
    "NanoModel",
    "available_presets",
    "build_model",
    "export_torchscript",
    "grow_model",
    "load_checkpoint",
    "load_model",
    "load_torchscript",
    "preset_config",
    "register_model",
    "register_preset",
    "registered_models",
    "save_checkpoint",
]
