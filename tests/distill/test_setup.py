"""The trainer on data prepared by the caller (a subset, validated on its own frames)."""

import numpy as np
import pytest

from nanomlip.data.store import LabeledDataset
from nanomlip.distill import data as D
from nanomlip.distill.config import apply_values
from nanomlip.distill.setup import (
    build_student,
    resolve_student,
    student_cutoff,
    training_data,
)
from nanomlip.distill.trainer import Trainer
from nanomlip.models.config import preset_config

from .test_trainer import TEACHER, TINY, emt_frames


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("setup") / "emt"
    return LabeledDataset(D.write_labelled_frames(root, emt_frames(8), TEACHER))


def test_trainer_fits_a_subset_validated_on_its_own_frames(store, tmp_path):
    config = apply_values(
        {**TINY, "max_steps": 6, "eval_every": 3, "ema_decay": 0.0, "batch_size": 1}
    )
    subset = np.array([0, 2, 5])
    data = training_data(store, subset, subset, student_cutoff(config), config)
    model_config = resolve_student(config, data)
    assert model_config.cutoff == 3.0
    assert model_config.num_scalar_channels == 8
    trainer = Trainer(data, model_config, tmp_path / "run", config)
    result = trainer.fit()
    assert result.stopped_by == "max_steps"
    assert [row["step"] for row in trainer.state.history] == [3, 6]
    # the validation frames are the three training frames
    assert all(row["report"]["overall"]["n_frames"] == 3 for row in trainer.state.history)
    assert trainer.summary()["n_train_frames"] == 3
    assert (tmp_path / "run" / "model.safetensors").is_file()


def test_an_initial_model_must_come_with_its_own_configuration(store):
    config = apply_values(TINY)
    data = training_data(store, np.array([0]), np.array([1]), 3.0, config)
    student, _ = build_student(config, data, resolve_student(config, data))
    other = preset_config("nano-xs")
    with pytest.raises(ValueError, match="configuration of the initial model"):
        build_student(config, data, other, initial=student)
