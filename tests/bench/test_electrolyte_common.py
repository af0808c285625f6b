"""Resumable result files of the electrolyte benchmarks."""

import json

import numpy as np
import pytest

from nanomlip.bench.electrolyte_common import ResultStore, cached_json, jsonable, mean_abs_percent


def test_result_store_keeps_and_replaces_records(tmp_path):
    path = tmp_path / "results.json"
    store = ResultStore(path)
    store.put({"name": "A", "x": 1})
    store.put({"name": "B", "x": np.float64(2.0)})
    store.put({"name": "A", "x": 3})
    again = ResultStore(path)
    assert again.has("A") and again.has("B") and not again.has("C")
    assert [r["x"] for r in again.records()] == [2.0, 3]
    path.write_text("{}")
    with pytest.raises(ValueError, match="not a list"):
        ResultStore(path)


def test_cached_json_computes_once(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"value": np.arange(3), "nan": float("nan")}

    first = cached_json(tmp_path / "step.json", compute)
    second = cached_json(tmp_path / "step.json", compute)
    assert first == second == {"value": [0, 1, 2], "nan": None}
    assert len(calls) == 1
    assert json.loads((tmp_path / "step.json").read_text())["value"] == [0, 1, 2]


def test_helpers():
    assert jsonable({"a": (np.int64(1), np.array([1.5]))}) == {"a": [1, [1.5]]}
    assert mean_abs_percent([(1.1, 1.0), (None, 2.0), (0.9, 1.0)]) == pytest.approx(10.0)
    assert mean_abs_percent([(None, 1.0)]) is None
