"""``--quick`` runs of both electrolyte benchmarks, end to end, with a tiny untrained model."""

import json

import pytest

import nanomlip
from nanomlip.cli.main import main

pytest.importorskip("pymatgen.analysis.diffusion")
pytest.importorskip("dftd3")


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "xs.safetensors"
    nanomlip.save_checkpoint(nanomlip.build_model("nano-xs", seed=0), path, teacher="test")
    return path


def _quick(kind, checkpoint, out, *extra):
    return main(
        [
            "bench",
            kind,
            "--quick",
            "--model",
            str(checkpoint),
            "--teacher",
            f"nanomlip:{checkpoint}",
            "--out",
            str(out),
            *extra,
        ]
    )


def test_solid_quick_run_writes_results_and_resumes(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "solid"
    assert _quick("solid-electrolytes", tiny_checkpoint, out) == 0
    records = json.loads((out / "results.json").read_text())
    (record,) = records
    assert record["name"] == "Li3N" and record["formula"] == "Li3N"
    for key in ("lattice_student", "lattice_teacher", "lattice_exp"):
        assert record[key]["a"] > 3.0
    # the teacher is the same model here: identical lattices and diffusivities
    assert record["lattice_err_pct_student_vs_teacher"] == pytest.approx(0.0, abs=1e-6)
    runs = record["diffusion_student"]["runs"]
    assert [r["temperature_K"] for r in runs] == [300.0, 500.0]
    # an untrained model may let atoms overlap: then the run is recorded, not fatal
    assert all(("D_cm2_s" in r) != ("error" in r) for r in runs)
    assert set(record["diffusion_student"]) >= {"Ea_eV", "D300_cm2_s", "D_cm2_s", "D_err_cm2_s"}
    for name in ("summary.md", "summary.json", "msd.png", "arrhenius.png", "lattice_parity.png"):
        assert (out / name).stat().st_size > 0
    assert "reproduce with: nanomlip bench solid-electrolytes --quick" in capsys.readouterr().out
    assert _quick("solid-electrolytes", tiny_checkpoint, out) == 0
    assert "Li3N: done earlier, kept" in capsys.readouterr().out


def test_liquid_quick_run_writes_the_named_fields(tiny_checkpoint, tmp_path):
    out = tmp_path / "liquid"
    assert _quick("liquid-electrolytes", tiny_checkpoint, out) == 0
    (record,) = json.loads((out / "results.json").read_text())
    for key in (
        "name",
        "smiles",
        "temperature_K",
        "density_g_cm3",
        "density_err_g_cm3",
        "density_exp_g_cm3",
        "density_exp_source",
    ):
        assert record[key] is not None, key
    assert record["name"] == "DMC" and record["smiles"] == "COC(=O)OC"
    assert record["density_g_cm3"] == pytest.approx(record["density_exp_g_cm3"], rel=0.2)
    assert record["density_no_d3_g_cm3"] is not None
    assert record["efs_energy_mae_meV_atom"] == pytest.approx(0.0, abs=1e-3)  # same model
    assert (out / "density.png").stat().st_size > 0


def test_liquid_without_d3_runs_only_on_the_named_solvents(tiny_checkpoint, tmp_path):
    out = tmp_path / "liquid"
    assert _quick("liquid-electrolytes", tiny_checkpoint, out, "--without-d3-solvents", "") == 0
    (record,) = json.loads((out / "results.json").read_text())
    assert record["density_g_cm3"] is not None and record["density_no_d3_g_cm3"] is None


def test_liquid_d3_cutoffs_reach_both_models(tiny_checkpoint):
    from nanomlip.bench.electrolyte_common import BenchCalculators
    from nanomlip.md.dispersion import D3Cutoffs

    calculators = BenchCalculators(
        student=str(tiny_checkpoint), teacher=f"nanomlip:{tiny_checkpoint}", dispersion="d3"
    )
    calculators.d3_cutoffs = D3Cutoffs(pairs_A=20.0, coordination_A=15.0)
    first, second = calculators._dispersion(), calculators._dispersion()
    assert first is not second  # one D3 calculator per model
    assert first.cutoffs.pairs_A == 20.0 and first.cutoffs.coordination_A == 15.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench", "solid-electrolytes", "--materials", "Unobtainium"], "unknown solid"),
        (["bench", "liquid-electrolytes", "--solvents", "XYZ"], "unknown solvent"),
        (["bench", "liquid-electrolytes", "--no-teacher"], "drop --no-teacher"),
        (["bench", "liquid-electrolytes", "--d3-cutoffs", "20"], "two numbers in Å"),
        (["bench", "liquid-electrolytes", "--without-d3-solvents", "XYZ"], "without-D3 solvent"),
        (["bench", "liquid-electrolytes", "--d3-cutoffs", "20,-1"], "must be positive"),
    ],
)
def test_bad_input_is_a_clear_error(argv, message, tmp_path, capsys, tiny_checkpoint):
    argv = [*argv, "--model", str(tiny_checkpoint), "--out", str(tmp_path)]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
