import pytest
import torch

import nanomlip
from nanomlip.testing import with_random_element_energies


@pytest.fixture
def small_model():
    return with_random_element_energies(nanomlip.build_model("nano-xs").to(torch.float64))
