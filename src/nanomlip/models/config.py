"""Model configuration and the registry of named presets."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Largest atomic number a model can embed (Pu); teachers such as SevenNet-Omni stop here.
MAX_ATOMIC_NUMBER = 94


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of a :class:`~nanomlip.models.nano.NanoModel`.

    Attributes:
        cutoff: Radial cutoff in Å.
        num_layers: Number of interaction blocks (receptive field = num_layers * cutoff).
        num_scalar_channels: Multiplicity of the ``0e`` node features.
        num_tensor_channels: Multiplicity of every ``l > 0`` node feature.
        lmax: Largest ``l`` of the node features.
        sh_lmax: Largest ``l`` of the edge spherical harmonics.
        num_basis: Number of Bessel radial basis functions.
        envelope_p: Order of the polynomial cutoff envelope.
        radial_hidden: Width of the radial MLP.
        readout_hidden: Width of the hidden layer of the energy readout.
        avg_num_neighbors: Normalisation of the neighbour sums (set from data when training).
        species_self_connection: Give every block's self-connection separate weights per
            element (NequIP's species-wise self-interaction; per-atom cost, ~95x the
            self-connection parameters). False in checkpoints saved before it existed.
        species_pair_radial: Make every block's radial weights depend on the elements of
            both atoms of an edge, not on its length alone (two per-element tables added to
            the radial MLP's hidden layer; two gathers of ``radial_hidden`` values per edge).
            False in checkpoints saved before it existed.
        message_products: Add the invariants of every atom's summed message (squared
            norms of its vectors: the angles between its bonds) to the block's scalars,
            with ``num_tensor_channels`` channels (per-atom cost only). False in
            checkpoints saved before it existed.
    """

    cutoff: float = 5.0
    num_layers: int = 2
    num_scalar_channels: int = 32
    num_tensor_channels: int = 16
    lmax: int = 1
    sh_lmax: int = 2
    num_basis: int = 8
    envelope_p: int = 6
    radial_hidden: int = 32
    readout_hidden: int = 16
    avg_num_neighbors: float = 30.0
    species_self_connection: bool = False
    species_pair_radial: bool = False
    message_products: bool = False

    def __post_init__(self) -> None:
        checks = {
            "cutoff": self.cutoff > 0,
            "num_layers": self.num_layers >= 1,
            "num_scalar_channels": self.num_scalar_channels >= 1,
            "num_tensor_channels": self.num_tensor_channels >= 1,
            "lmax": 0 <= self.lmax <= 3,
            "sh_lmax": 0 <= self.sh_lmax <= 3,
            "num_basis": self.num_basis >= 1,
            "envelope_p": self.envelope_p >= 2,
            "radial_hidden": self.radial_hidden >= 1,
            "readout_hidden": self.readout_hidden >= 1,
            "avg_num_neighbors": self.avg_num_neighbors > 0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            values = {name: getattr(self, name) for name in bad}
            raise ValueError(f"invalid model configuration values: {values}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        """Build from a dictionary, rejecting unknown keys with a clear message."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown model configuration keys {unknown}; known keys are {sorted(known)}"
            )
        return cls(**values)


_PRESETS: dict[str, Callable[[], ModelConfig]] = {}

#: Former preset names that a shipped model now carries: old name -> preset name.
_RENAMED_PRESETS = {"nano-5.5": "nano-c5.5"}


def register_preset(name: str) -> Callable[[Callable[[], ModelConfig]], Callable[[], ModelConfig]]:
    """Decorator that registers a function returning a :class:`ModelConfig` under ``name``."""

    def decorator(factory: Callable[[], ModelConfig]) -> Callable[[], ModelConfig]:
        if name in _PRESETS:
            raise ValueError(f"preset {name!r} is already registered")
        _PRESETS[name] = factory
        return factory

    return decorator


def available_presets() -> list[str]:
    """Names of all registered presets."""
    return sorted(_PRESETS)


def is_preset(name: str) -> bool:
    """Whether :func:`preset_config` takes ``name``: a preset, or a former name of one."""
    return name in _PRESETS or name in _RENAMED_PRESETS


def preset_config(name: str, **overrides: Any) -> ModelConfig:
    """The configuration of preset ``name`` with optional field overrides.

    A former name (``nano-5.5``, now the shipped model of that name) still gives its preset,
    with a warning that names the preset to use instead.
    """
    if name in _RENAMED_PRESETS:
        warnings.warn(
            f"preset {name!r} is now {_RENAMED_PRESETS[name]!r}: {name!r} names a shipped model "
            f"(nanomlip.NanoCalculator(model={name!r})); use preset {_RENAMED_PRESETS[name]!r} for "
            "the untrained architecture",
            FutureWarning,
            stacklevel=2,
        )
        name = _RENAMED_PRESETS[name]
    if name not in _PRESETS:
        raise ValueError(f"unknown preset {name!r}; available presets: {available_presets()}")
    config = _PRESETS[name]()
    return dataclasses.replace(config, **overrides) if overrides else config


@register_preset("nano-xs")
def _nano_xs() -> ModelConfig:
    """Smallest and fastest: half the channels of nano-5.0 and l <= 1 everywhere."""
    return ModelConfig(
        cutoff=5.0,
        num_layers=2,
        num_scalar_channels=16,
        num_tensor_channels=8,
        lmax=1,
        sh_lmax=1,
        radial_hidden=16,
    )


@register_preset("nano-5.0")
def _nano_5_0() -> ModelConfig:
    """The default student, 5.0 Å cutoff: 64x0e + 32x1o node features, 48,681 parameters.

    Two interaction blocks: on the CPU the cost is per edge, and a block that maps
    vectors to vectors (every block but the first and the last) costs about three
    times a first or last block (measured: 3 blocks 145-180 µs/atom, 2 blocks 54 µs/atom
    on 1,728-atom Si, 2 threads). The first distillation with 32x0e + 16x1o (16,201
    parameters) underfitted (training error = validation error); doubling the channels
    measured 60 -> 90 µs/atom in the ASE calculator, still > 100x faster than SevenNet-0.
    """
    return ModelConfig(cutoff=5.0, num_scalar_channels=64, num_tensor_channels=32)


@register_preset("nano-c5.5")
def _nano_c5_5() -> ModelConfig:
    """The default student with the longer 5.5 Å cutoff.

    Named ``nano-5.5`` until that name became a shipped model's (a former name still works).
    """
    return ModelConfig(
        cutoff=5.5, num_scalar_channels=64, num_tensor_channels=32, avg_num_neighbors=40.0
    )


@register_preset("nano-l")
def _nano_l() -> ModelConfig:
    """Larger student for the fidelity end of the speed/fidelity trade-off."""
    return ModelConfig(
        cutoff=5.0,
        num_layers=3,
        num_scalar_channels=64,
        num_tensor_channels=32,
        lmax=2,
        sh_lmax=2,
        radial_hidden=64,
        readout_hidden=32,
    )


@register_preset("nano-ref")
def _nano_ref() -> ModelConfig:
    """The reference SevenNet-Nano's shape: 3 blocks, 32 channels for each l <= 2.

    SevenNet-Nano (arXiv 2604.10887) has about 105k parameters with 3 interaction blocks
    and 32x0e + 32x1o + 32x2e node features; this preset has the same blocks and irreps
    with this package's radial MLP and readout.
    """
    return ModelConfig(
        cutoff=5.0,
        num_layers=3,
        num_scalar_channels=32,
        num_tensor_channels=32,
        lmax=2,
        sh_lmax=2,
        radial_hidden=64,
        readout_hidden=32,
    )


@register_preset("nano-3b")
def _nano_3b() -> ModelConfig:
    """nano-5.0's channels (64x0e + 32x1o) in three blocks instead of two."""
    return ModelConfig(cutoff=5.0, num_layers=3, num_scalar_channels=64, num_tensor_channels=32)


@register_preset("nano-2l2")
def _nano_2l2() -> ModelConfig:
    """nano-5.0's two blocks with node features up to l = 2 (64x0e + 32x1o + 32x2e)."""
    return ModelConfig(cutoff=5.0, num_scalar_channels=64, num_tensor_channels=32, lmax=2)
