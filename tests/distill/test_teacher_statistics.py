"""The student's per-element energy shift and scale can start from the teacher's."""

import pytest

from nanomlip.distill import data as D
from nanomlip.distill.trainer import make_trainer
from nanomlip.teachers import spec as teacher_spec

from .test_trainer import TEACHER, emt_frames, tiny_config


class ExposingTeacher:
    def energy_statistics(self):
        return {29: -3.25, 28: -4.5}, {29: 0.75, 28: 1.25}  # no value for Al (13)


class SilentTeacher:
    def energy_statistics(self):
        return None


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return D.write_labelled_frames(tmp_path_factory.mktemp("d") / "emt", emt_frames(9), TEACHER)


def test_shift_and_scale_come_from_the_teacher_where_it_has_them(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(teacher_spec, "load_teacher", lambda spec: ExposingTeacher())
    trainer = make_trainer(dataset, tmp_path / "run", tiny_config(teacher_statistics=True))
    shift, scale = trainer.model.atomic_energy_shift, trainer.model.atomic_energy_scale
    assert float(shift[29]) == pytest.approx(-3.25) and float(shift[28]) == pytest.approx(-4.5)
    assert float(scale[29]) == pytest.approx(0.75) and float(scale[28]) == pytest.approx(1.25)
    fitted = make_trainer(dataset, tmp_path / "fit", tiny_config())
    assert float(shift[13]) == pytest.approx(float(fitted.model.atomic_energy_shift[13]))
    assert float(fitted.model.atomic_energy_shift[29]) != pytest.approx(-3.25)


def test_a_teacher_without_statistics_is_a_clear_error(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(teacher_spec, "load_teacher", lambda spec: SilentTeacher())
    with pytest.raises(ValueError, match="exposes no per-element energy shift"):
        make_trainer(dataset, tmp_path / "run", tiny_config(teacher_statistics=True))


@pytest.mark.teacher
def test_sevennet_exposes_its_task_statistics():
    pytest.importorskip("sevenn")
    pbe = teacher_spec.load_teacher("sevennet:7net-mf-0@PBE").energy_statistics()
    r2scan = teacher_spec.load_teacher("sevennet:7net-mf-0@R2SCAN").energy_statistics()
    assert len(pbe[0]) == 89 and set(pbe[0]) == set(pbe[1])
    assert pbe[0][8] != pytest.approx(r2scan[0][8])  # modal-wise shifts differ per task
