import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.io import write

from nanomlip.sampling import FrameGenerator, SamplerContext, build_sampler, parse_recipe


@pytest.fixture
def seeds(tmp_path):
    cu = tmp_path / "cu.cif"
    write(cu, bulk("Cu", "fcc", a=3.61, cubic=True))
    water = tmp_path / "water.extxyz"
    write(water, [molecule("H2O"), molecule("H2O")])
    return [str(cu), str(water)]


def test_cycles_through_every_seed_frame_reproducibly(seeds):
    recipe = parse_recipe({"seed": 3, "samplers": [{"name": "structures", "count": 6,
        "options": {"files": seeds, "max_rattle": 0.05, "max_strain": 0.02}}]})  # fmt: skip
    frames = list(FrameGenerator(recipe, ["H", "O", "Cu"]).frames())
    again = list(FrameGenerator(recipe, ["H", "O", "Cu"]).frames())
    assert [f.get_chemical_formula() for f in frames] == ["Cu4", "H2O", "H2O"] * 2
    assert [f.info["group"] for f in frames[:3]] == ["seed:cu:0", "seed:water:0", "seed:water:1"]
    assert all(f.info["category"] == "seed" for f in frames)
    for a, b in zip(frames, again):
        np.testing.assert_array_equal(a.positions, b.positions)
    assert not np.allclose(frames[0].positions, frames[3].positions)  # rattled per copy


def test_bad_options_and_seeds_are_clear_errors(seeds, tmp_path):
    context = SamplerContext(elements=["Cu"], max_atoms=64)
    with pytest.raises(ValueError, match="needs option 'files'"):
        build_sampler("structures", context, {})
    with pytest.raises(ValueError, match="max_rattle"):
        build_sampler("structures", context, {"files": seeds[:1], "max_rattle": 2})
    with pytest.raises(ValueError, match="does not know element"):
        build_sampler("structures", context, {"files": seeds[1:]})
    small = SamplerContext(elements=["Cu"], max_atoms=2)
    with pytest.raises(ValueError, match="more than the recipe's max_atoms"):
        build_sampler("structures", small, {"files": seeds[:1]})
    with pytest.raises(FileNotFoundError):
        build_sampler("structures", context, {"files": [str(tmp_path / "none.cif")]})
