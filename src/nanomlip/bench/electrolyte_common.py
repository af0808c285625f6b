"""Pieces shared by the solid- and liquid-electrolyte benchmarks.

* :class:`ResultStore`: ``results.json``, a list of records keyed by one field, rewritten
  atomically after every finished material, so a killed run keeps what it finished;
* :func:`cached_json`: the same for one step of a material (a relaxation, one MD run);
* :class:`BenchCalculators`: the student (nanomlip, optionally + D3) and, on demand, the
  teacher (any teacher spec, optionally + D3), each loaded once.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase.calculators.calculator import BaseCalculator

#: Key under which each result file records the command that made it.
COMMAND_KEY = "command"


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into plain Python, NaN into None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json_atomically(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(jsonable(data), indent=1) + "\n")
    os.replace(temporary, path)


class ResultStore:
    """A JSON list of records, one per material, keyed by ``key``; resumable.

    Args:
        path: The ``results.json`` file (read if it exists).
        key: Record field that names the material (``"name"``).
    """

    def __init__(self, path: Path, key: str = "name") -> None:
        self.path, self.key = Path(path), key
        self._records: list[dict[str, Any]] = []
        if self.path.is_file():
            loaded = json.loads(self.path.read_text())
            if not isinstance(loaded, list):
                raise ValueError(f"{self.path} is not a list of records; move it away")
            self._records = loaded

    def records(self) -> list[dict[str, Any]]:
        """The finished records, in the order they were finished."""
        return list(self._records)

    def has(self, name: str) -> bool:
        """Whether a record for ``name`` is finished."""
        return any(record.get(self.key) == name for record in self._records)

    def put(self, record: dict[str, Any]) -> None:
        """Add or replace the record of ``record[key]`` and rewrite the file."""
        name = record[self.key]
        self._records = [r for r in self._records if r.get(self.key) != name] + [record]
        write_json_atomically(self.path, self._records)


def cached_json(path: Path, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The JSON object in ``path``, or ``compute()`` written there first (resume a step)."""
    if path.is_file():
        return json.loads(path.read_text())
    result = jsonable(compute())
    write_json_atomically(path, result)
    return result


@dataclass
class BenchCalculators:
    """The student and the teacher of a benchmark, loaded on first use.

    Attributes:
        student: A model reference for :class:`~nanomlip.NanoCalculator` (registered
            name, checkpoint, TorchScript file or ``NanoModel``); ``None`` for the default;
            or any ready ASE calculator (benchmark another potential, or test the harness).
        teacher: Teacher spec (``sevennet:7net-mf-0@PBE``); ``None`` means the student's
            own teacher from its metadata; or a ready ASE calculator.
        dispersion: ``None`` or ``"d3"``/``"d3:<functional>"``, added to both.
        device: Torch device.
        d3_cutoffs: Real-space cut-offs of that D3 (``None``: the package's defaults).
    """

    student: Any = None
    teacher: Any = None
    dispersion: str | None = None
    device: str = "cpu"
    d3_cutoffs: Any = None
    _loaded: dict[str, BaseCalculator] = field(default_factory=dict, repr=False)

    def _dispersion(self) -> Any:
        """A fresh dispersion calculator for one model (or the option, or ``None``)."""
        if self.d3_cutoffs is None:
            return self.dispersion
        from nanomlip.md.dispersion import make_dispersion

        return make_dispersion(self.dispersion, self.d3_cutoffs)

    def student_calculator(self) -> BaseCalculator:
        """The student (float32), with dispersion if asked for."""
        if "student" not in self._loaded and isinstance(self.student, BaseCalculator):
            from nanomlip.md.dispersion import with_dispersion

            self._loaded["student"] = with_dispersion(self.student, self._dispersion())
        if "student" not in self._loaded:
            from nanomlip.integrations.ase_calculator import NanoCalculator

            self._loaded["student"] = NanoCalculator(
                model=self.student, device=self.device, dispersion=self._dispersion()
            )
        return self._loaded["student"]

    def teacher_spec(self) -> str:
        """The teacher spec in use (given, else the one the student was distilled from)."""
        if isinstance(self.teacher, BaseCalculator):
            return type(self.teacher).__name__
        if self.teacher:
            return self.teacher
        metadata = getattr(self.student_calculator(), "metadata", {}) or {}
        spec = metadata.get("teacher")
        if not spec:
            raise ValueError("the student names no teacher; pass --teacher SPEC")
        return str(spec)

    def teacher_calculator(self) -> BaseCalculator:
        """The teacher's ASE calculator, with dispersion if asked for."""
        if "teacher" not in self._loaded:
            from nanomlip.md.dispersion import with_dispersion

            calculator = self.teacher
            if not isinstance(calculator, BaseCalculator):
                from nanomlip.bench.models import ModelSpec, calculator_for

                spec = self.teacher_spec()
                calculator, _ = calculator_for(ModelSpec(spec, "teacher", spec), self.device)
            self._loaded["teacher"] = with_dispersion(calculator, self._dispersion())
        return self._loaded["teacher"]

    def calculator(self, role: str) -> BaseCalculator:
        """``"student"`` or ``"teacher"``."""
        if role == "student":
            return self.student_calculator()
        if role == "teacher":
            return self.teacher_calculator()
        raise ValueError(f"unknown role {role!r}; choose student or teacher")


def mean_abs_percent(pairs: list[tuple[float | None, float | None]]) -> float | None:
    """Mean of |x - ref| / ref in %, over the pairs where both are known; None if none."""
    errors = [abs(x - ref) / abs(ref) * 100 for x, ref in pairs if x is not None and ref]
    return float(np.mean(errors)) if errors else None


def save_figure(figure: Any, path: Path) -> None:
    """Lay out, write (110 dpi) and close a matplotlib figure of the electrolyte reports."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
