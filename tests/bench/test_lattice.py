"""The lattice benchmark: textbook crystals, symmetric relaxations, errors against a teacher."""

import json

import numpy as np
import pytest
from ase.calculators.emt import EMT

from nanomlip.bench.lattice import (
    conventional_constants,
    reference_label,
    relax_compound,
    run_lattice_benchmark,
    summarize,
)
from nanomlip.bench.lattice_report import write_lattice_outputs
from nanomlip.bench.lattice_systems import textbook_compounds
from nanomlip.bench.models import BenchModel
from nanomlip.cli.main import main

EMT_ELEMENTS = ["Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au"]


class ScaledEMT(EMT):
    """EMT with every length stretched by 2 %: its lattice constants are 2 % larger."""

    def calculate(self, atoms=None, properties=("energy",), system_changes=()):
        shrunk = atoms.copy()
        shrunk.set_cell(atoms.cell.array / 1.02, scale_atoms=True)
        super().calculate(shrunk, properties, system_changes=["positions", "cell", "numbers"])
        if "stress" in self.results:
            self.results["stress"] = self.results["stress"] / 1.02**3
        if "forces" in self.results:
            self.results["forces"] = self.results["forces"] / 1.02
        self.atoms = atoms.copy()


def models():
    return [
        BenchModel("stretched", ScaledEMT(), "student", "test", EMT_ELEMENTS),
        BenchModel("emt", EMT(), "teacher", "ase:ase.calculators.emt:EMT", EMT_ELEMENTS),
    ]


def test_the_set_covers_the_families_with_50_plus_compounds():
    compounds = textbook_compounds()
    families = {c.family for c in compounds}
    assert len(compounds) >= 50
    for family in ("rocksalt", "zincblende", "wurtzite", "fluorite", "rutile", "perovskite",
                   "spinel", "corundum", "layered", "fcc metal", "diamond"):  # fmt: skip
        assert family in families
    for compound in compounds:
        atoms = compound.atoms()
        a, c = conventional_constants(atoms, compound.c is not None)
        assert a == pytest.approx(compound.a, rel=1e-3), compound.name
        if compound.c is not None:
            assert c == pytest.approx(compound.c, rel=1e-3), compound.name


def test_relaxation_finds_emt_fcc_cu_and_keeps_symmetry():
    cu = next(c for c in textbook_compounds() if c.name == "Cu")
    relaxed = relax_compound(models()[1], cu)
    assert relaxed.converged
    assert relaxed.a == pytest.approx(3.59, rel=3e-3)  # EMT's own fcc Cu


def test_errors_against_the_teacher_and_outputs(tmp_path):
    bench = models()
    assert reference_label(bench) == "emt"
    results = run_lattice_benchmark(bench, ["Cu", "Ni", "NiAl", "NaCl"], progress=False)
    by_name = {r.name: r for r in results}
    assert "elements unknown" in by_name["NaCl"].skipped["emt"]
    (summary,) = summarize(results, "emt")
    assert summary.compounds == 3
    assert summary.mean_abs_error_percent == pytest.approx(2.0, abs=0.1)
    assert summary.within_1_percent == 0.0
    paths = write_lattice_outputs(results, [summary], bench, "emt", tmp_path, "cmd")
    payload = json.loads(paths["json"].read_text())
    assert payload["reference"] == "emt" and len(payload["compounds"]) == 4
    assert "| stretched | 3 |" in paths["md"].read_text()
    assert paths["png"].stat().st_size > 1000


def test_cli_runs_and_rejects_unknown_compounds(tmp_path, capsys):
    emt = "teacher:ase:ase.calculators.emt:EMT"
    code = main(["bench", "lattice", "--models", f"a={emt},b={emt}", "--compounds", "Al",
                 "--out", str(tmp_path)])  # fmt: skip
    assert code == 0
    result = json.loads((tmp_path / "lattice.json").read_text())
    errors = result["summaries"][0]["mean_abs_error_percent"]
    assert np.isclose(errors, 0.0, atol=1e-6)
    with pytest.raises(SystemExit, match="unknown compounds"):
        main(["bench", "lattice", "--models", f"a={emt},b={emt}", "--compounds", "Unobtainium",
              "--out", str(tmp_path)])  # fmt: skip
