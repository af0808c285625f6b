"""Training configuration: typed sections with defaults, YAML files and ``key=value`` overrides.

:class:`TrainConfig` is made of four sections, ``model`` (:class:`ModelSection`), ``loss``
(:class:`LossSection`), ``optimiser`` (:class:`OptimiserSection`) and ``run``
(:class:`RunSection`); choices are ``Literal`` types. A YAML file may name a key flat
(``lr: 0.01``, as every file in ``configs/`` and every run's ``config.yaml`` does) or inside
its section (``optimiser: {lr: 0.01}``); the stored form (``config.yaml``, checkpoints) is flat.

Precedence: dataclass defaults < YAML file < ``--set key=value`` (in order given).
Model hyper-parameters are overridden through the ``model`` mapping, e.g.
``--set model.num_scalar_channels=8``; their types come from
:class:`~nanomlip.models.config.ModelConfig`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from nanomlip.models.config import ModelConfig, available_presets, is_preset

#: Keys that only decide when or how visibly a run stops; they may differ when resuming.
RUNTIME_KEYS = ("max_steps", "max_minutes", "progress", "num_threads", "device")

Dtype = Literal["float32", "float64"]
Schedule = Literal["cosine", "exponential", "constant"]
EnergyScale = Literal["global", "per_element", "none"]
SplitBy = Literal["group", "composition"]


@dataclass
class ModelSection:
    """Section ``model``: which student to train and how it starts.

    Attributes:
        preset: Student preset name (see :func:`nanomlip.available_presets`).
        model: Overrides of :class:`~nanomlip.models.config.ModelConfig` fields.
            ``avg_num_neighbors`` is measured on the training graphs unless given here.
        dtype: Training precision, ``float32`` or ``float64``.
        energy_scale: ``atomic_energy_scale`` from the RMS force: ``global``,
            ``per_element`` or ``none`` (1).
        fit_reference_energies: Fit per-element reference energies by least squares.
        teacher_statistics: Start the per-element energy shift and scale from the
            dataset's teacher where it exposes them (SevenNet's atomic-energy rescale, as
            SevenNet-Nano did); elements it lacks keep the fitted values.
        init_from: Checkpoint to start from (fine-tuning or continuing on more data): its
            weights, reference energies and scales are kept and ``preset`` is ignored;
            ``model`` may then raise ``lmax``/``sh_lmax`` or turn on
            ``species_self_connection``, ``species_pair_radial`` or ``message_products``
            (the checkpoint grows with the same energies and forces,
            :func:`nanomlip.models.grow.grow_model`) and must
            repeat the checkpoint's other fields if it names them. ``None``: a new model
            from ``preset``.
        freeze_layers: Fine-tuning: keep the element embedding, the radial basis and the
            first this many interaction blocks at their starting values (0: train all).
    """

    preset: str = "nano-5.0"
    model: dict[str, Any] = field(default_factory=dict)
    dtype: Dtype = "float32"
    energy_scale: EnergyScale = "global"
    fit_reference_energies: bool = True
    teacher_statistics: bool = False
    init_from: str | None = None
    freeze_layers: int = 0


@dataclass
class LossSection:
    """Section ``loss``: Huber terms and their weights.

    Attributes:
        huber_delta: Huber transition point, in the unit of each term (eV/atom,
            eV/Å, eV/Å^3, eV/Å).
        energy_weight: Weight of the per-atom energy term (eV/atom).
        forces_weight: Weight of the force term (eV/Å per component).
        stress_weight: Weight of the stress term (eV/Å^3 per component).
        atomic_energies_weight: Weight of the teacher per-atom energy term (eV), used
            only for frames that carry per-atom energies.
        hvp_weight: Weight of the Hessian-vector product term (eV/Å), used only when
            the data carries ``hvp`` and ``hvp_vector``.
        hvp_step: Finite-difference step (Å) for the student's Hessian-vector products.
        category_weights: Loss weight of the training frames of each category (the
            dataset's ``category``, e.g. ``{"equilibrium": 4.0}``), like MACE's
            ``config_type_weights``; categories not named weigh 1. Every term becomes a
            weighted mean over frames (forces and per-atom terms over their atoms).
    """

    huber_delta: float = 0.01
    energy_weight: float = 1.0
    forces_weight: float = 10.0
    stress_weight: float = 100.0
    atomic_energies_weight: float = 0.0
    hvp_weight: float = 1.0
    hvp_step: float = 0.01
    category_weights: dict[str, float] = field(default_factory=dict)


@dataclass
class OptimiserSection:
    """Section ``optimiser``: AdamW, the learning-rate schedule and the weight average.

    Attributes:
        lr: Peak learning rate of AdamW.
        min_lr_ratio: Final learning rate as a fraction of ``lr``.
        weight_decay: Decoupled weight decay of AdamW.
        warmup_steps: Steps of linear learning-rate warm-up from 0.
        schedule: Decay after warm-up: ``cosine``, ``exponential`` or ``constant``.
        grad_clip: Largest gradient norm (0: no clipping).
        ema_decay: Decay of the exponential moving average of the weights (0: no EMA).
    """

    lr: float = 5e-3
    min_lr_ratio: float = 0.01
    weight_decay: float = 1e-6
    warmup_steps: int = 50
    schedule: Schedule = "cosine"
    grad_clip: float = 10.0
    ema_decay: float = 0.99


@dataclass
class RunSection:
    """Section ``run``: data split, batches, length, evaluation, checkpoints and machine.

    Attributes:
        seed: Seed of the weight initialisation, the split and the per-epoch shuffling.
        val_fraction: Fraction of frames (whole groups) held out for validation, in [0, 1).
        split_base_frames: Make the validation split on the first this many frames only
            (the dataset a continued run started from); later frames join the side of
            their structure group, and groups new to them go to validation by a hash of
            the group name with probability ``val_fraction``. This keeps the earlier run's
            held-out groups out of training when a dataset grows. ``None``: split all.
        split_by: What the validation split keeps whole: ``group`` (the sampler's structure
            group) or ``composition`` (the reduced formula: no composition is both trained
            on and held out, across samplers and datasets).
        batch_size: Largest number of frames in a batch.
        max_atoms_per_batch: Largest number of atoms in a batch (0: no limit). A frame
            larger than the limit gets a batch of its own.
        max_epochs: Epochs to train; also sets the length of the learning-rate schedule.
        max_steps: Stop after this many optimizer steps in total (``None``: no limit).
        max_minutes: Stop after this many minutes of this invocation (``None``: no limit).
        eval_every: Evaluate every this many steps (0: at the end of every epoch only).
        checkpoint_every: Write ``checkpoint_last.pt`` every this many steps (also at
            epoch ends).
        progress: Show tqdm progress bars.
        num_threads: Torch CPU threads during training (``None``: torch's default). One
            by default: the graphs of a batch are small, and on a busy 2-core machine two
            threads measured 40-90x slower than one (thread contention).
        device: Torch device to train on, e.g. ``cpu`` or ``cuda``.
    """

    seed: int = 0
    val_fraction: float = 0.1
    split_base_frames: int | None = None
    split_by: SplitBy = "group"
    batch_size: int = 8
    max_atoms_per_batch: int = 0
    max_epochs: int = 100
    max_steps: int | None = None
    max_minutes: float | None = None
    eval_every: int = 0
    checkpoint_every: int = 100
    progress: bool = True
    num_threads: int | None = 1
    device: str = "cpu"


#: Section name -> its dataclass. In a YAML file a key is either flat (``lr: 0.01``) or
#: inside its section (``optimiser: {lr: 0.01}``); both give the same configuration.
SECTIONS: dict[str, type] = {
    "model": ModelSection,
    "loss": LossSection,
    "optimiser": OptimiserSection,
    "run": RunSection,
}


@dataclass
class TrainConfig(RunSection, OptimiserSection, LossSection, ModelSection):
    """Everything that defines a distillation run: the fields of the four sections.

    The fields are documented in :class:`ModelSection`, :class:`LossSection`,
    :class:`OptimiserSection` and :class:`RunSection`; they are stored flat (``config.lr``,
    ``config.to_dict()``, every ``config.yaml`` and checkpoint), and :meth:`section`
    returns one section on its own.
    """

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` listing every invalid value."""
        problems = [f"{name}={getattr(self, name)!r} ({why})" for name, why in self._problems()]
        if problems:
            raise ValueError("invalid training configuration: " + "; ".join(problems))
        ModelConfig.from_dict({**ModelConfig().to_dict(), **self.model})

    def _problems(self) -> list[tuple[str, str]]:
        checks = [
            ("preset", is_preset(self.preset), f"one of {available_presets()}"),
            ("val_fraction", 0 <= self.val_fraction < 1, "must be in [0, 1)"),
            ("batch_size", self.batch_size >= 1, "must be >= 1"),
            ("max_atoms_per_batch", self.max_atoms_per_batch >= 0, "must be >= 0"),
            ("max_epochs", self.max_epochs >= 1, "must be >= 1"),
            ("max_steps", self.max_steps is None or self.max_steps >= 0, "must be >= 0"),
            ("max_minutes", self.max_minutes is None or self.max_minutes > 0, "must be > 0"),
            ("lr", self.lr > 0, "must be > 0"),
            ("min_lr_ratio", 0 <= self.min_lr_ratio <= 1, "must be in [0, 1]"),
            ("weight_decay", self.weight_decay >= 0, "must be >= 0"),
            ("warmup_steps", self.warmup_steps >= 0, "must be >= 0"),
            ("grad_clip", self.grad_clip >= 0, "must be >= 0"),
            ("ema_decay", 0 <= self.ema_decay < 1, "must be in [0, 1)"),
            ("huber_delta", self.huber_delta > 0, "must be > 0"),
            ("hvp_step", self.hvp_step > 0, "must be > 0"),
            ("eval_every", self.eval_every >= 0, "must be >= 0"),
            ("checkpoint_every", self.checkpoint_every >= 1, "must be >= 1"),
            ("freeze_layers", self.freeze_layers >= 0, "must be >= 0"),
            ("num_threads", self.num_threads is None or self.num_threads >= 1, "must be >= 1"),
            (
                "split_base_frames",
                self.split_base_frames is None or self.split_base_frames >= 1,
                "must be >= 1",
            ),
        ]
        checks += [
            (name, getattr(self, name) in options, f"one of {list(options)}")
            for name, options in choices().items()
        ]
        checks.append(
            (
                "category_weights",
                all(_is_number(w) and w >= 0 for w in self.category_weights.values()),
                "values must be numbers >= 0",
            )
        )
        weights = [name for name in self.to_dict() if name.endswith("_weight")]
        checks += [(name, getattr(self, name) >= 0, "must be >= 0") for name in weights]
        return [(name, why) for name, ok, why in checks if not ok]

    def to_dict(self) -> dict[str, Any]:
        """The flat form that ``config.yaml`` and checkpoints store."""
        return dataclasses.asdict(self)

    def section(self, name: str) -> Any:
        """Section ``name`` (``model``, ``loss``, ``optimiser``, ``run``) with these values."""
        cls = SECTIONS[name]
        return cls(**{f.name: getattr(self, f.name) for f in dataclasses.fields(cls)})

    def differences(self, other: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        """Fields (other than :data:`RUNTIME_KEYS`) whose value differs from ``other``."""
        mine = self.to_dict()
        # a field added after ``other`` was saved counts as its default there
        defaults = TrainConfig(preset=self.preset).to_dict()
        theirs = {**{k: defaults[k] for k in set(defaults) - set(other)}, **other}
        keys = (set(mine) | set(theirs)) - set(RUNTIME_KEYS)
        return {
            k: (theirs.get(k), mine.get(k)) for k in sorted(keys) if theirs.get(k) != mine.get(k)
        }


def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


def choices() -> dict[str, tuple[str, ...]]:
    """Allowed values of every field with ``Literal`` choices (``dtype``, ``schedule``, ...)."""
    return {
        name: typing.get_args(annotation)
        for name, annotation in _field_types().items()
        if typing.get_origin(annotation) is Literal
    }


def section_of(name: str) -> str:
    """The section that holds field ``name``."""
    return next(
        section
        for section, cls in SECTIONS.items()
        if name in {f.name for f in dataclasses.fields(cls)}
    )


def _model_field_types() -> dict[str, Any]:
    return typing.get_type_hints(ModelConfig)


def coerce(name: str, value: Any, annotation: Any) -> Any:
    """Check ``value`` against a type annotation, converting ints to floats where expected.

    Raises:
        ValueError: The value does not have the annotated type.
    """
    if typing.get_origin(annotation) is Literal:
        allowed = typing.get_args(annotation)
        if value in allowed:
            return value
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    options = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    if value is None and type(None) in options:
        return None
    for option in options:
        origin = typing.get_origin(option) or option
        if origin is bool and isinstance(value, bool):
            return value
        if origin is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if origin is float and _is_number(value):
            return float(value)
        if origin is float and isinstance(value, str) and _is_float(value):
            return float(value)  # YAML 1.1 reads 1e-3 (no dot) as a string
        if origin in (str, dict) and isinstance(value, origin):
            return value
    names = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    raise ValueError(f"{name} must be {names}, got {value!r} ({type(value).__name__})")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _unknown_key(name: str, known: typing.Iterable[str], what: str) -> ValueError:
    return ValueError(f"unknown {what} key {name!r}; known keys are {sorted(known)}")


def apply_values(values: dict[str, Any], base: TrainConfig | None = None) -> TrainConfig:
    """A new configuration: ``base`` (default: defaults) updated with ``values``.

    Raises:
        ValueError: Unknown keys, or values of the wrong type or out of range.
    """
    current = (base or TrainConfig()).to_dict()
    types_ = _field_types()
    for name, value in flat_values(values).items():
        if name not in types_:
            raise _unknown_key(name, types_, "training configuration")
        if name == "model":
            current["model"] = {**current["model"], **_checked_model_values(value)}
        else:
            current[name] = coerce(name, value, types_[name])
    return TrainConfig(**current)


def flat_values(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every section (``loss: {...}``) opened into its flat keys.

    The ``model`` section holds :class:`ModelSection` keys and, beside them, the
    :class:`~nanomlip.models.config.ModelConfig` overrides (the two sets of names are
    disjoint), so ``model: {num_layers: 3}`` means the same in both forms.

    Raises:
        ValueError: A section that is not a mapping, a key in the wrong section, or a
            key given twice.
    """
    flat: dict[str, Any] = {}
    for name, value in values.items():
        if name in ("loss", "optimiser", "run"):
            opened = _section_values(name, value)
        elif name == "model" and isinstance(value, dict):
            opened = _model_section_values(value)
        else:
            opened = {name: value}
        for key, item in opened.items():
            if key in flat and key != "model":
                raise ValueError(f"training configuration key {key!r} is given twice")
            if key == "model" and "model" in flat:
                item = {**flat["model"], **item}
            flat[key] = item
    return flat


def _section_values(section: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"section {section!r} must be a mapping of its keys, got {value!r}")
    known = {f.name for f in dataclasses.fields(SECTIONS[section])}
    for key in value:
        if key not in known:
            where = section_of(key) if key in _field_types() else None
            hint = f" (it belongs in section {where!r})" if where else ""
            raise ValueError(f"unknown key {key!r} in section {section!r}{hint}")
    return dict(value)


def _model_section_values(value: dict[str, Any]) -> dict[str, Any]:
    section_keys = {f.name for f in dataclasses.fields(ModelSection)} - {"model"}
    opened = {key: item for key, item in value.items() if key in section_keys}
    overrides = {key: item for key, item in value.items() if key not in section_keys}
    if isinstance(value.get("model"), dict):  # model: {model: {...}} (the section, written whole)
        overrides = {**overrides.pop("model"), **overrides}
    opened["model"] = overrides
    return opened


def _checked_model_values(values: Any) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise ValueError(
            f"model must be a mapping of model configuration overrides, got {values!r}"
        )
    types_ = _model_field_types()
    out = {}
    for name, value in values.items():
        if name not in types_:
            raise _unknown_key(name, types_, "model configuration")
        out[name] = coerce(f"model.{name}", value, types_[name])
    return out


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split ``key=value`` and parse the value as YAML (``8``, ``1e-3``, ``true``, ``null``).

    ``model.x=1`` becomes ``("model", {"x": 1})``.
    """
    if "=" not in text:
        raise ValueError(f"--set expects key=value, got {text!r}")
    key, raw = (part.strip() for part in text.split("=", 1))
    try:
        value = yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError as error:
        raise ValueError(f"cannot parse the value of {key!r}: {raw!r} ({error})") from error
    if key.startswith("model."):
        return "model", {key.removeprefix("model."): value}
    return key, value


def load_config(
    path: str | Path | None = None,
    assignments: typing.Sequence[str] = (),
    base: TrainConfig | None = None,
    **values: Any,
) -> TrainConfig:
    """``base`` (default: defaults), the YAML file ``path``, ``assignments``, then ``values``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: A bad file, key or value.
    """
    config = base or TrainConfig()
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"configuration file {str(path)!r} does not exist")
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{str(path)!r} must hold a mapping of configuration keys")
        config = apply_values(loaded, config)
    for assignment in assignments:
        config = apply_values(dict([parse_assignment(assignment)]), config)
    return apply_values(values, config) if values else config
