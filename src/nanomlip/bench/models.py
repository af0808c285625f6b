"""Benchmark models: one way of naming them (:class:`ModelSpec`), one resolver to a calculator.

Every benchmark names a model by a :class:`ModelSpec` (plain data, so that a fresh worker
process can rebuild it). :func:`calculator_for` is the one place where a spec becomes an ASE
calculator; students go through :class:`~nanomlip.integrations.ase_calculator.NanoCalculator`
(which resolves checkpoints and registered names with :func:`nanomlip.models.registry.load_model`)
and teachers through :func:`nanomlip.teachers.load_teacher` (the teacher-spec mechanism).

==================  ==============================================================  =========
``kind``            ``target``                                                      weights
==================  ==============================================================  =========
``student``         nanomlip checkpoint path, TorchScript export or registered name  trained
``preset``          student preset (``nano-5.0``)                                    random
``teacher``         teacher spec (``sevennet:7net-mf-0@PBE``, ``ase:MODULE:CLASS``)  trained
``sevennet``        SevenNet model, ``MODEL`` or ``MODEL@TASK``                       trained
``sevennet-arch``   SevenNet architecture built by ``sevenn`` (``nano``)             random
``chgnet``          CHGNet version (``0.3.0``)                                       trained
``lammps``          LAMMPS pair style (speed only; no ASE calculator)                classical
``mace``            MACE architecture in its own environment (speed only)            random
``callable``        any ASE calculator from ``factory`` (in-process only)            -
==================  ==============================================================  =========
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ase.calculators.calculator import Calculator

from nanomlip.bench import peer_calculators as P
from nanomlip.bench.systems import SYSTEMS

#: The kinds of models named on the command line with ``--models``.
MODEL_KINDS = ("student", "teacher")


@dataclass(frozen=True)
class ModelSpec:
    """A model to benchmark and how to build it.

    Attributes:
        label: Name in tables and plots.
        kind: How to build it (see the module docstring).
        target: What to build, depending on ``kind``.
        role: ``"student"`` or ``"peer"``; speed-ups are student over peer.
        systems: Speed-benchmark systems the model can run (others are "not applicable").
        description: One line on what is measured, for the Markdown report.
        factory: For ``kind="callable"`` only: returns an ASE calculator.
    """

    label: str
    kind: str
    target: str
    role: str = "student"
    systems: tuple[str, ...] = SYSTEMS
    description: str = ""
    factory: Callable[[], Any] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the factory)."""
        return {
            "label": self.label,
            "role": self.role,
            "kind": self.kind,
            "target": self.target,
            "systems": list(self.systems),
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**values, "systems": tuple(values.get("systems", SYSTEMS))})


MODELS_HELP = (
    "comma-separated list of [LABEL=]student:CHECKPOINT_OR_NAME and "
    "[LABEL=]teacher:SPEC entries, e.g. "
    "'nano=student:runs/nano.safetensors,teacher:sevennet:7net-mf-0@PBE'. "
    "A student is a nanomlip checkpoint path, TorchScript export or registered name; "
    "a teacher is any teacher spec (sevennet:7net-0, sevennet:7net-mf-0@PBE, chgnet:0.3.0, "
    "ase:ase.calculators.emt:EMT). LABEL names the column (default: the checkpoint stem "
    "or the teacher spec)."
)


def parse_model_specs(text: str) -> list[ModelSpec]:
    """Parse ``--models``: comma-separated ``[LABEL=]student:X`` / ``[LABEL=]teacher:SPEC``.

    Raises:
        ValueError: An entry without a known kind, or duplicate labels.
    """
    specs = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        label = None
        head, colon, _ = entry.partition(":")
        if colon and "=" in head:
            label, _, entry = entry.partition("=")
            label = label.strip()
        kind, _, target = entry.partition(":")
        kind = kind.strip().lower()
        if kind not in MODEL_KINDS or not target:
            raise ValueError(
                f"model entry {entry!r} must be student:CHECKPOINT_OR_NAME or teacher:SPEC "
                "(optionally prefixed by LABEL=)"
            )
        specs.append(ModelSpec(label or _default_label(kind, target), kind, target))
    labels = [spec.label for spec in specs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"model labels must be unique, got {labels}; use LABEL=... to rename")
    if not specs:
        raise ValueError("no models given")
    return specs


#: File suffixes a student label drops (``runs/x/model.safetensors`` -> ``model``).
_MODEL_SUFFIXES = (".safetensors", ".pt")


def _default_label(kind: str, target: str) -> str:
    """A student's label: its registered name as given (``nano-5.0``), else the file stem."""
    if kind != "student":
        return target
    name = Path(target).name
    for suffix in _MODEL_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def calculator_for(spec: ModelSpec, device: str = "cpu") -> tuple[Any, list[str]]:
    """The ASE calculator of ``spec`` on ``device``, and notes for the report.

    Students (trained or from a preset) run in float32, as they ship.

    Raises:
        ValueError: ``kind`` has no ASE calculator (``lammps``, ``mace``) or is unknown.
    """
    if spec.kind in ("student", "preset"):
        from nanomlip.integrations.ase_calculator import NanoCalculator
        from nanomlip.models.registry import build_model

        model = build_model(spec.target) if spec.kind == "preset" else spec.target
        return NanoCalculator(model=model, device=device, dtype="float32"), ["float32"]
    if spec.kind == "teacher":
        from nanomlip.teachers import load_teacher

        return load_teacher(spec.target, device=device).calculator(), []
    builders = {
        "sevennet": P.sevennet_calculator,
        "sevennet-arch": P.sevennet_architecture_calculator,
        "chgnet": P.chgnet_calculator,
    }
    if spec.kind in builders:
        return builders[spec.kind](spec.target, device)
    if spec.kind == "callable" and spec.factory is not None:
        return spec.factory(), []
    raise ValueError(f"no ASE calculator for model kind {spec.kind!r} ({spec.label})")


@dataclass
class BenchModel:
    """A model ready to benchmark.

    Attributes:
        label: Name in tables and plots.
        calculator: Its ASE calculator.
        kind: ``"student"``, ``"teacher"`` or any other tag.
        target: What it was loaded from (checkpoint, name or spec).
        elements: Symbols the model knows; ``None`` lets the calculator decide
            (systems whose first evaluation raises ``ValueError`` or
            ``NotImplementedError`` are then skipped).
        info: Provenance for the JSON output.
    """

    label: str
    calculator: Calculator
    kind: str = "custom"
    target: str = ""
    elements: list[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)


def load_bench_model(spec: ModelSpec, device: str = "cpu") -> BenchModel:
    """Load a student (float32 :class:`~nanomlip.NanoCalculator`) or a teacher."""
    if spec.kind == "student":
        from ase.data import chemical_symbols

        calculator, _ = calculator_for(spec, device)
        return BenchModel(
            label=spec.label,
            calculator=calculator,
            kind="student",
            target=spec.target,
            elements=[chemical_symbols[z] for z in calculator.species],
            info={"metadata": jsonable(getattr(calculator, "metadata", {}))},
        )
    from nanomlip.teachers import load_teacher

    teacher = load_teacher(spec.target, device=device)
    return BenchModel(
        label=spec.label,
        calculator=teacher.calculator(),
        kind="teacher",
        target=spec.target,
        elements=list(teacher.elements),
        info={"provenance": asdict(teacher.provenance)},
    )


def jsonable(value: Any) -> Any:
    """``value`` with anything JSON cannot store turned into strings."""
    return json.loads(json.dumps(value, default=str))
