import pytest

from nanomlip.md.run_folder import (
    Segment,
    check_output_folder,
    continue_run_record,
    drift_start_step,
    new_run_record,
    read_run_record,
    write_run_record,
)


def segment(step, ensemble="nve", temperature=300.0, model="m"):
    return Segment(step, ensemble, temperature, 0.0, 1.0, model)


def test_drift_starts_at_the_last_change_of_settings(tmp_path):
    structure = tmp_path / "a.cif"
    structure.write_text("x")
    record = new_run_record(structure, None, segment(0, "nvt-langevin"))
    record, notes = continue_run_record(record, structure, None, segment(100))
    assert notes == ["note: ensemble changes from nvt-langevin to nve at step 100"]
    record, notes = continue_run_record(record, structure, None, segment(250))
    assert notes == [] and drift_start_step(record) == 100
    record, notes = continue_run_record(record, structure, None, segment(300, model="other"))
    assert "model changes from m to other" in notes[0] and drift_start_step(record) == 300
    write_run_record(tmp_path, record)
    assert read_run_record(tmp_path) == record


def test_a_restart_from_an_earlier_step_drops_later_segments(tmp_path):
    structure = tmp_path / "a.cif"
    structure.write_text("x")
    record = new_run_record(structure, "2", segment(0))
    record, _ = continue_run_record(record, structure, "2", segment(500, "nvt-langevin"))
    record, _ = continue_run_record(record, structure, "2", segment(200))
    assert [s["start_step"] for s in record["segments"]] == [0, 200]
    assert drift_start_step(record) == 0


def test_output_folder_rules(tmp_path):
    check_output_folder(tmp_path / "new", restart=False, overwrite=False)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "thermo.csv").write_text("x")
    with pytest.raises(ValueError, match="is not empty"):
        check_output_folder(tmp_path / "full", restart=False, overwrite=False)
    check_output_folder(tmp_path / "full", restart=False, overwrite=True)
    check_output_folder(tmp_path / "full", restart=True, overwrite=False)
    with pytest.raises(ValueError, match="pick one"):
        check_output_folder(tmp_path / "full", restart=True, overwrite=True)
    with pytest.raises(ValueError, match="is a file"):
        check_output_folder(tmp_path / "full" / "thermo.csv", restart=False, overwrite=False)
