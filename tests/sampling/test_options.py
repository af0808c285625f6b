"""Option and context checks: each error names the sampler and the option at fault."""

import pytest

from nanomlip.sampling import SamplerContext
from nanomlip.sampling.options import (
    check_crystal_context,
    check_fraction,
    check_in_range,
    check_molecular_context,
    check_non_negative,
    check_options,
    check_pair_range,
)


def test_options_merge_over_defaults_and_unknown_keys_are_named():
    assert check_options("s", {"a": 2}, {"a": 1, "b": 3}) == {"a": 2, "b": 3}
    with pytest.raises(ValueError, match=r"sampler 's' got unknown options \['c'\]"):
        check_options("s", {"c": 1}, {"a": 1})


def test_numbers_and_ranges():
    assert check_in_range("s", "x", "0.5", 0, 1) == 0.5
    with pytest.raises(ValueError, match=r"option 'x' must lie in \[0, 1\]"):
        check_in_range("s", "x", 2, 0, 1)
    with pytest.raises(ValueError, match="must lie in \\[0, 1\\], got 1.5"):
        check_fraction("s", "f", 1.5)
    with pytest.raises(ValueError, match="must be >= 0"):
        check_non_negative("s", "n", float("nan"))
    assert check_pair_range("s", "r", [0.4, 0.9]) == (0.4, 0.9)
    with pytest.raises(ValueError, match="must be a pair"):
        check_pair_range("s", "r", 0.4)
    with pytest.raises(ValueError, match="needs 0 < low <= high"):
        check_pair_range("s", "r", [0.9, 0.4])


def test_contexts():
    check_crystal_context("s", SamplerContext(elements=["Cu"]))
    with pytest.raises(ValueError, match="needs at least 2 elements"):
        check_crystal_context("s", SamplerContext(elements=["Cu"]), min_elements=2)
    with pytest.raises(ValueError, match="unknown element symbols"):
        check_crystal_context("s", SamplerContext(elements=["Xx"]))
    with pytest.raises(ValueError, match="1 <= min_atoms <= max_atoms"):
        check_crystal_context("s", SamplerContext(elements=["Cu"], min_atoms=9, max_atoms=8))
    with pytest.raises(ValueError, match="needs max_atoms >= 1"):
        check_molecular_context("s", SamplerContext(elements=["H"], max_atoms=0))
    with pytest.raises(ValueError, match="needs at least one element"):
        check_molecular_context("s", SamplerContext(elements=[]))
