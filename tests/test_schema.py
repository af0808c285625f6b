"""The JSON contracts: the producer writes exactly the TypedDict keys, and stored files match."""

import json
from pathlib import Path

import numpy as np
import pytest

from nanomlip import schema
from nanomlip.distill.metrics import Predictions, error_report, flatten_overall

ROOT = Path(__file__).resolve().parents[1]


def tiny_predictions():
    return Predictions(
        energy=np.array([1.0, 2.0]),
        energy_true=np.array([1.1, 2.0]),
        forces=np.zeros((3, 3)),
        forces_true=np.full((3, 3), 0.01),
        stress=np.zeros((2, 6)),
        stress_true=np.array([np.zeros(6), np.full(6, np.nan)]),
        num_atoms=np.array([1, 2]),
        numbers=np.array([14, 8, 8]),
        frame_id=np.array([0, 1]),
    )


def test_error_report_has_exactly_the_schema_keys():
    report = error_report(tiny_predictions(), np.array(["bulk", "md"]))
    assert set(report) == set(schema.ErrorReport.__annotations__)
    assert set(report["overall"]) == set(schema.ErrorMetrics.__annotations__)
    assert report["overall"][schema.ENERGY_MAE] == pytest.approx(50.0)  # 0.1 eV on 1 atom, 0
    assert report["overall"]["n_stress"] == 1
    assert set(report["per_element"]) == {"Si", "O"}
    flat = flatten_overall(report)
    assert set(flat) == {
        schema.flat_mae_key(section, name)
        for section in ("all", "bulk", "md")
        for name in schema.MAE_KEYS
    }


def test_the_shipped_eval_json_follows_the_schema():
    stored = json.loads((ROOT / "benchmarks/fidelity/nano-5.0/eval.json").read_text())
    assert set(stored["overall"]) == set(schema.ErrorMetrics.__annotations__)
    assert set(stored) <= set(schema.EvalReport.__annotations__)
