import pytest

import nanomlip
from nanomlip.models import ModelConfig, available_presets, preset_config
from nanomlip.models.config import is_preset


def test_required_presets_exist_with_their_cutoffs():
    presets = available_presets()
    assert {"nano-5.0", "nano-c5.5"} <= set(presets)
    assert preset_config("nano-5.0").cutoff == 5.0
    assert preset_config("nano-c5.5").cutoff == 5.5
    sizes = {name: nanomlip.build_model(name).num_parameters() for name in presets}
    assert min(sizes.values()) < sizes["nano-5.0"] < max(sizes.values())


def test_former_preset_name_of_a_shipped_model_warns_and_names_the_new_one():
    with pytest.warns(FutureWarning, match="nano-c5.5"):
        config = preset_config("nano-5.5")
    assert config == preset_config("nano-c5.5")
    assert is_preset("nano-5.5") and is_preset("nano-c5.5") and not is_preset("nano-9000")


def test_unknown_preset_lists_the_available_ones():
    with pytest.raises(ValueError, match="nano-5.0"):
        nanomlip.build_model("nano-9000")


def test_invalid_values_are_named():
    with pytest.raises(ValueError, match="cutoff"):
        ModelConfig(cutoff=-1.0)


def test_unknown_config_keys_are_named():
    with pytest.raises(ValueError, match="num_layerz"):
        ModelConfig.from_dict({"num_layerz": 3})


def test_build_model_is_reproducible_and_seeded():
    a = nanomlip.build_model("nano-xs", seed=1).state_dict()
    b = nanomlip.build_model("nano-xs", seed=1).state_dict()
    c = nanomlip.build_model("nano-xs", seed=2).state_dict()
    assert all((a[k] == b[k]).all() for k in a)
    assert any((a[k] != c[k]).any() for k in a)


def test_overrides_change_the_architecture():
    model = nanomlip.build_model("nano-5.0", num_layers=3)
    assert len(model.layers) == 3
    assert model.metadata["preset"] == "nano-5.0"
