"""The files of a run folder: checkpoint state, metrics CSV, JSON and phase records."""

import json

from nanomlip.distill.run_folder import Phase, TrainState, csv_text, write_json


def test_checkpoint_state_and_metrics_csv():
    state = TrainState(step=3, history=[{"step": 1, "a": 1.0}, {"step": 3, "b": 2.0}])
    assert TrainState(**state.to_dict()) == state
    assert state.to_dict()["history"] is state.history  # no copy per checkpoint
    assert csv_text(state.history).splitlines() == ["step,a,b", "1,1.0,", "3,,2.0"]


def test_a_phase_is_recorded_only_when_it_finishes(tmp_path):
    with Phase(tmp_path, "label") as phase:
        phase.info["frames"] = 4
    try:
        with Phase(tmp_path, "train"):
            raise RuntimeError("killed")
    except RuntimeError:
        pass
    recorded = json.loads((tmp_path / "phases.json").read_text())
    assert set(recorded) == {"label"} and recorded["label"]["frames"] == 4
    assert Phase(tmp_path, "label").done()["frames"] == 4
    assert Phase(tmp_path, "train").done() is None
    write_json(tmp_path / "deep" / "x.json", {"a": 1})
    assert json.loads((tmp_path / "deep" / "x.json").read_text()) == {"a": 1}
