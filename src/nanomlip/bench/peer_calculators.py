"""ASE calculators of the foreign peer models (SevenNet, its architecture, CHGNet).

Each builder returns ``(calculator, notes)``; the notes (precision, cuEquivariance, task)
go into the benchmark report. :func:`nanomlip.bench.models.calculator_for` picks the builder.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

#: Hyper-parameters of the reference SevenNet-Nano's architecture, for ``sevenn``'s builder.
SEVENNET_NANO_ARCHITECTURE: dict[str, Any] = {
    "cutoff": 5.0,
    "channel": 32,
    "lmax": 2,
    "num_convolution_layer": 3,
    "is_parity": True,
    "self_connection_type": "linear",
}


def sevennet_uses_cueq(device: str) -> tuple[bool, str]:
    """Whether SevenNet should run with cuEquivariance on ``device``, and why."""
    if not device.startswith("cuda"):
        return False, "cuEquivariance off (CPU run)"
    try:
        from sevenn.nn.cue_helper import is_cue_available
    except ImportError:
        return False, "cuEquivariance off (sevenn too old)"
    if is_cue_available():
        return True, "cuEquivariance on"
    return False, "cuEquivariance off (cuequivariance not installed)"


def sevennet_calculator(name: str, device: str) -> tuple[Any, list[str]]:
    """SevenNet calculator of ``name``, ``MODEL`` or ``MODEL@TASK`` (multi-fidelity models)."""
    from sevenn.calculator import SevenNetCalculator

    model, _, task = name.partition("@")
    cueq, note = sevennet_uses_cueq(device)
    options: dict[str, Any] = {"modal": task} if task else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calculator = SevenNetCalculator(model, device=device, enable_cueq=cueq, **options)
    return calculator, [note] + ([f"task {task}"] if task else [])


def sevennet_architecture_model(seed: int = 0, **overrides: Any) -> Any:
    """A random-weight SevenNet model of :data:`SEVENNET_NANO_ARCHITECTURE`, by ``sevenn``.

    Built with ``sevenn.model_build.build_E3_equivariant_model`` from sevenn's default model
    configuration, universal species (Z = 0..118) and ``overrides`` (sevenn config keys).
    """
    import torch
    from sevenn._const import DEFAULT_E3_EQUIVARIANT_MODEL_CONFIG
    from sevenn.model_build import build_E3_equivariant_model
    from sevenn.util import chemical_species_preprocess

    config = copy.deepcopy(DEFAULT_E3_EQUIVARIANT_MODEL_CONFIG)
    config.update(SEVENNET_NANO_ARCHITECTURE)
    config.update(overrides)
    config.update(chemical_species_preprocess([], universal=True))
    config.update(conv_denominator=30.0, shift=0.0, scale=1.0)
    torch.manual_seed(seed)
    model = build_E3_equivariant_model(config)
    model.set_is_batch_data(False)
    return model.eval()


def sevennet_architecture_calculator(name: str, device: str) -> tuple[Any, list[str]]:
    """SevenNet calculator of the architecture ``name`` (``nano``) with random weights."""
    from sevenn.calculator import SevenNetCalculator

    if name != "nano":
        raise ValueError(f"unknown SevenNet architecture {name!r}; known: nano")
    cueq, note = sevennet_uses_cueq(device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sevennet_architecture_model(cuequivariance_config={"use": True} if cueq else {})
        calculator = SevenNetCalculator(model, device=device)
    return calculator, [note, "sevennet-nano-arch: random weights"]


def chgnet_calculator(version: str, device: str) -> tuple[Any, list[str]]:
    """CHGNet calculator of model ``version`` (e.g. ``0.3.0``)."""
    from chgnet.model import CHGNet
    from chgnet.model.dynamics import CHGNetCalculator

    model = CHGNet.load(model_name=version, use_device=device, verbose=False)
    return CHGNetCalculator(model=model, use_device=device), []
