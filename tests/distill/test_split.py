"""Validation splits that keep whole groups or whole compositions."""

import numpy as np
import pytest

from nanomlip.distill import data as D
from nanomlip.distill.config import TrainConfig


def arrays(frames):
    """Dataset-like arrays from (group, atomic numbers) pairs."""
    return {
        "group": np.array([group for group, _ in frames]),
        "numbers": np.concatenate([np.array(z, dtype=np.uint8) for _, z in frames]),
        "num_atoms": np.array([len(z) for _, z in frames]),
    }


FRAMES = [
    ("proto:a", [11, 17]),
    ("equilibrium:b", [11, 11, 17, 17]),  # NaCl again, another sampler's group
    ("corpus:MgO", [12, 8, 12, 8]),
    ("rattled:c", [12, 8]),
    ("corpus:Si", [14] * 8),
]


def test_composition_keys_reduce_formulas():
    keys = D.split_keys(arrays(FRAMES), "composition")
    assert keys[0] == keys[1] == "11:1,17:1"
    assert keys[2] == keys[3] == "8:1,12:1"
    assert keys[4] == "14:1"
    assert D.split_keys(arrays(FRAMES), "group") == [g for g, _ in FRAMES]
    with pytest.raises(ValueError, match="split_by"):
        D.split_keys(arrays(FRAMES), "element")


@pytest.mark.parametrize("seed", range(6))
def test_a_composition_split_never_shares_a_composition(seed):
    keys = D.split_keys(arrays(FRAMES), "composition")
    train, val = D.group_split(keys, 0.4, seed)
    assert len(val) > 0
    assert not {keys[i] for i in train} & {keys[i] for i in val}


def test_train_config_validates_split_by():
    assert TrainConfig(split_by="composition").split_by == "composition"
    with pytest.raises(ValueError, match="split_by"):
        TrainConfig(split_by="formula")
