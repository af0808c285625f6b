"""Training configuration: sections, Literal choices, and every stored config still loads."""

from pathlib import Path

import pytest
import yaml

from nanomlip.distill.config import (
    SECTIONS,
    LossSection,
    TrainConfig,
    apply_values,
    choices,
    load_config,
)

ROOT = Path(__file__).resolve().parents[2]
STORED = sorted(ROOT.glob("configs/*.yaml")) + sorted(ROOT.glob("runs/*/config.yaml"))


@pytest.mark.parametrize("path", STORED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_stored_configuration_loads_with_its_values(path):
    config = load_config(path)
    written = yaml.safe_load(path.read_text())
    stored = config.to_dict()
    for key, value in written.items():
        if isinstance(stored[key], float):  # YAML 1.1 reads 1e-3 as a string
            assert stored[key] == pytest.approx(float(value)), key
        else:
            assert stored[key] == value, key


def test_there_are_stored_configurations_to_check():
    assert len([p for p in STORED if p.parent.name == "configs"]) >= 10
    assert len([p for p in STORED if p.name == "config.yaml"]) >= 10


def test_sections_and_flat_keys_give_the_same_configuration():
    flat = apply_values(
        {"lr": 0.02, "energy_weight": 4.0, "seed": 3, "preset": "nano-xs", "model": {"lmax": 2}}
    )
    nested = apply_values(
        {
            "optimiser": {"lr": 0.02},
            "loss": {"energy_weight": 4.0},
            "run": {"seed": 3},
            "model": {"preset": "nano-xs", "lmax": 2},
        }
    )
    assert nested == flat
    assert flat.section("loss") == LossSection(energy_weight=4.0)
    assert flat.section("model").model == {"lmax": 2}
    every_field = {name for cls in SECTIONS.values() for name in cls.__dataclass_fields__}
    assert every_field == set(TrainConfig().to_dict())


def test_bad_sections_and_choices_are_named():
    with pytest.raises(ValueError, match="belongs in section 'optimiser'"):
        apply_values({"loss": {"lr": 0.1}})
    with pytest.raises(ValueError, match="given twice"):
        apply_values({"lr": 0.1, "optimiser": {"lr": 0.2}})
    with pytest.raises(ValueError, match="must be a mapping"):
        apply_values({"run": 3})
    with pytest.raises(ValueError, match=r"schedule must be one of \['cosine'"):
        apply_values({"schedule": "linear"})
    assert choices()["dtype"] == ("float32", "float64")
    assert set(choices()) == {"dtype", "schedule", "energy_scale", "split_by"}
