"""The corpus sampler: relaxation frames and the frames around each real minimum."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.db import connect

from nanomlip.sampling import SamplerContext, build_sampler
from nanomlip.sampling.base import INFO_CATEGORY, INFO_GROUP
from nanomlip.sampling.corpus import DEFAULT_PLAN
from nanomlip.sampling.real_crystals import group_partners, periodic_group
from nanomlip.sampling.relaxation import driver_label, relaxation_trajectory
from nanomlip.teachers import Label

EMT_ELEMENTS = ["Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au"]


@pytest.fixture
def emt_db(tmp_path):
    path = tmp_path / "seeds.db"
    with connect(path) as db:
        db.write(bulk("Cu", "fcc", a=3.70), name="Cu")  # EMT's minimum is 3.59 Å
        db.write(bulk("CuAu", "rocksalt", a=4.6).repeat((1, 1, 2)), name="CuAu")
        db.write(bulk("Ni", "fcc", a=3.40, cubic=True), name="Ni")
    return path


def emt_labels(structures):
    """A batched labeler (one call for many structures) made of EMT single points."""
    labels = []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = EMT()
        labels.append(Label(atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()))
    return labels


def sampler(db, driver=True, fast=False, batched=False, **options):
    context = SamplerContext(
        elements=EMT_ELEMENTS,
        max_atoms=32,
        min_atoms=4,
        md_calculator=EMT if driver else None,
        fast_calculator=EMT if fast else None,
        md_labeler=(lambda: emt_labels) if batched else None,
    )
    return build_sampler("corpus", context, {"source": f"ase_db:{db}", **options})


def energy_and_fmax(atoms):
    atoms = atoms.copy()
    atoms.calc = EMT()
    return atoms.get_potential_energy() / len(atoms), np.abs(atoms.get_forces()).max()


def test_relaxation_lowers_energy_and_reaches_the_emt_lattice():
    start = bulk("Cu", "fcc", a=3.80, cubic=True)
    frames = relaxation_trajectory(start, EMT(), fmax=0.01, steps=200)
    assert len(frames) > 3 and all(f.calc is None for f in frames)
    first, last = energy_and_fmax(frames[0]), energy_and_fmax(frames[-1])
    assert last[0] < first[0] - 0.01
    assert frames[-1].cell.lengths()[0] == pytest.approx(3.59, rel=0.01)


def test_one_seed_gives_the_plan_with_its_composition_as_group(emt_db):
    corpus = sampler(emt_db)
    frames = [corpus.make(np.random.default_rng(i), i) for i in range(len(DEFAULT_PLAN))]
    categories = [f.info[INFO_CATEGORY] for f in frames]
    assert categories == [f"real_{kind}" for kind in DEFAULT_PLAN]
    assert len({f.info[INFO_GROUP] for f in frames}) == 1
    assert frames[0].info[INFO_GROUP].startswith("corpus:")
    assert all(f.info["source"] == "ase_db" for f in frames)
    relax = frames[:4]
    steps = [f.info["relax_step"] for f in relax]
    assert steps[0] == 0 and steps[-1] == relax[-1].info["relax_steps"] > 0
    energies = [energy_and_fmax(f)[0] for f in relax]
    assert energies[-1] < energies[0]  # the last relax frame is the minimum
    assert len(corpus._cache) == 1  # the seed was relaxed once for all its frames


def test_frames_around_the_minimum_do_what_they_say(emt_db):
    corpus = sampler(emt_db, fast=True)
    plan = list(DEFAULT_PLAN)
    by_kind = {}
    for seed_index in range(3):
        for entry, kind in enumerate(plan):
            index = seed_index * len(plan) + entry
            by_kind.setdefault(kind, []).append(corpus.make(np.random.default_rng(index), index))
    minima = [corpus.relaxed(s).minimum for s in range(3)]
    for frame, minimum in zip(by_kind["vacancy"], minima, strict=True):
        assert len(frame) == len(corpus._supercell(minimum)) - 1
    for frame in by_kind["substitution"]:
        assert "substituted" in frame.info
        assert frame.info["substituted"] in {"Ni", "Cu", "Pd", "Ag", "Pt", "Au"}
    for frame in by_kind["surface"]:
        if "miller" in frame.info:  # a slab: the vacuum makes one cell length much longer
            assert frame.cell.lengths().max() > 12.0
    for frame in by_kind["md"]:
        assert 300.0 <= frame.info["md_temperature_K"] <= 3000.0


def test_frames_are_deterministic(emt_db):
    first = sampler(emt_db).make(np.random.default_rng(5), 17)
    again = sampler(emt_db).make(np.random.default_rng(5), 17)
    np.testing.assert_array_equal(first.positions, again.positions)
    np.testing.assert_array_equal(first.numbers, again.numbers)


def test_batched_relaxations_give_the_frames_of_one_at_a_time(emt_db):
    plan = len(DEFAULT_PLAN)
    calls = []

    def counting(structures):
        calls.append(len(structures))
        return emt_labels(structures)

    batched = sampler(emt_db, batched=True)
    batched.md_labeler_factory = lambda: counting
    batched.prepare(range(3 * plan))
    assert sorted(batched._cache) == [0, 1, 2] and calls[0] == 3  # three seeds per call
    alone = sampler(emt_db)
    for index in (0, 3, plan + 1, 2 * plan + 2, 3 * plan - 1):
        one, other = (s.make(np.random.default_rng(index), index) for s in (batched, alone))
        np.testing.assert_allclose(one.positions, other.positions, atol=1e-10)
        np.testing.assert_allclose(one.cell.array, other.cell.array, atol=1e-10)
    for seed in range(3):
        assert len(batched.relaxed(seed).trajectory) == len(alone.relaxed(seed).trajectory)
    assert sum(calls) < sum(len(alone.relaxed(s).trajectory) for s in range(3))
    relax = batched.make(np.random.default_rng(1), 1)  # a relaxation frame keeps its label
    np.testing.assert_allclose(driver_label(relax).forces, emt_labels([relax])[0].forces)
    assert driver_label(alone.make(np.random.default_rng(1), 1)) is None
    assert driver_label(batched.make(np.random.default_rng(5), 5)) is None  # a strained frame
    assert "driver_label" not in batched.make(np.random.default_rng(5), 5).info


def test_first_seed_continues_the_corpus_order(emt_db):
    plan = len(DEFAULT_PLAN)
    later = sampler(emt_db, first_seed=1)
    frame = later.make(np.random.default_rng(0), plan + 2)  # its second seed: corpus seed 2
    again = sampler(emt_db).make(np.random.default_rng(0), 2 * plan + 2)
    np.testing.assert_allclose(frame.positions, again.positions)
    assert frame.info["source_id"] == again.info["source_id"]
    with pytest.raises(ValueError, match="first_seed"):
        sampler(emt_db, first_seed=-1)


def test_a_failing_batch_leaves_each_seed_to_relax_alone(emt_db):
    def failing(structures):
        raise RuntimeError("teacher down")

    corpus = sampler(emt_db, batched=True)
    corpus.md_labeler_factory = lambda: failing
    corpus.prepare(range(2 * len(DEFAULT_PLAN)))
    assert not corpus._cache  # nothing half-relaxed is kept
    assert len(corpus.relaxed(0).trajectory) > 2  # the seed relaxes alone with its calculator


def test_without_a_driver_the_seed_is_its_own_minimum(emt_db):
    corpus = sampler(emt_db, driver=False)
    relaxed = corpus.relaxed(0)
    assert len(relaxed.trajectory) == 1
    frame = corpus.make(np.random.default_rng(0), len(DEFAULT_PLAN) - 1)  # md: thermal rattle
    assert frame.info[INFO_CATEGORY] == "real_md"


def test_bad_options_are_clear_errors(emt_db):
    with pytest.raises(ValueError, match="unknown options"):
        sampler(emt_db, relax_step=3)
    with pytest.raises(ValueError, match="unknown"):
        sampler(emt_db, plan=["relax", "melt"])
    with pytest.raises(ValueError, match="must lie in"):
        sampler(emt_db, max_rattle=3.0)
    with pytest.raises(ValueError, match=">= 1"):
        sampler(emt_db, relax_steps=0)


@pytest.mark.parametrize(
    ("symbol", "group"),
    [("H", 1), ("He", 18), ("Na", 1), ("Mg", 2), ("Al", 13), ("O", 16), ("Sc", 3), ("Fe", 8),
     ("Cu", 11), ("Br", 17), ("La", 3), ("Ce", 0), ("Hf", 4), ("Au", 11), ("Th", 0), ("Pu", 0)],
)  # fmt: skip
def test_periodic_groups(symbol, group):
    from ase.data import atomic_numbers

    assert periodic_group(atomic_numbers[symbol]) == group


def test_group_partners():
    from ase.data import atomic_numbers as z

    assert group_partners(z["Cu"], {z["Ag"], z["Au"], z["Zn"]}) == [z["Ag"], z["Au"]]
    assert group_partners(z["Ce"], {z["La"], z["Pr"], z["Nd"]}) == [z["Pr"]]
