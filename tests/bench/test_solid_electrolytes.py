"""The solid-electrolyte harness with a Lennard-Jones fluid as student and teacher."""

import json

import pytest
from ase.calculators.lj import LennardJones

from nanomlip.bench.electrolyte_common import BenchCalculators
from nanomlip.bench.solid_electrolytes import (
    SolidBenchConfig,
    arrhenius_summary,
    lattice_error_percent,
    run_solid_benchmark,
)

pytest.importorskip("pymatgen.analysis.diffusion")

QUICK = {
    "materials": ("Li3N",),
    "teacher_materials": ("Li3N",),
    "temperatures_K": (400.0, 800.0),
    "md_ps": 0.6,
    "equilibration_ps": 0.1,
    "frame_every": 5,
    "min_lag_ps": 0.1,
    "relax_steps": 5,
    "md_repeat": (2, 2, 2),
}


def _fluid() -> LennardJones:
    # weak, soft-cored: a hot LJ fluid in which every atom diffuses and none overlap
    return LennardJones(sigma=1.7, epsilon=0.02, rc=4.0, smooth=True)


def test_harness_gives_diffusivities_arrhenius_and_resumes(tmp_path):
    calculators = BenchCalculators(student=_fluid(), teacher=_fluid())
    config = SolidBenchConfig(**QUICK)
    lines: list[str] = []
    run = run_solid_benchmark(config, calculators, tmp_path, log=lines.append)
    (record,) = run.records
    diffusion = record["diffusion_student"]
    values = [diffusion["D_cm2_s"][t] for t in ("400", "800")]
    assert all(v and v > 1e-6 for v in values), values
    assert values[1] > values[0]  # hotter fluid, faster diffusion
    assert diffusion["Ea_eV"] > 0 and diffusion["D300_cm2_s"] > 0
    assert record["D_ratio_student_over_teacher"] == {"400": 1.0, "800": 1.0}
    assert record["teacher"] == "LennardJones"
    runs = diffusion["runs"]
    assert all(len(r["msd_lag_ps"]) == len(r["msd_A2"]) > 3 for r in runs)
    again: list[str] = []
    run_solid_benchmark(config, calculators, tmp_path, log=again.append)
    assert again == ["Li3N: done earlier, kept"]
    (tmp_path / "results.json").unlink()  # the per-step caches still hold the runs
    rerun = run_solid_benchmark(config, BenchCalculators(), tmp_path, log=again.append)
    assert rerun.records[0]["diffusion_student"]["D_cm2_s"] == diffusion["D_cm2_s"]
    # the cache holds the run, and D comes from its trajectory every time: a stale value
    # in an old-style cache (or a better estimator since) does not survive
    cached = tmp_path / "work" / "Li3N" / "student" / "md_800K.json"
    stale = json.loads(cached.read_text())
    assert "D_cm2_s" not in stale and stale["ns_per_day"] > 0
    cached.write_text(json.dumps({**stale, "D_cm2_s": 123.0}))
    (tmp_path / "results.json").unlink()
    fresh = run_solid_benchmark(config, BenchCalculators(), tmp_path, log=again.append)
    assert fresh.records[0]["diffusion_student"]["D_cm2_s"] == diffusion["D_cm2_s"]


def test_arrhenius_needs_two_positive_temperatures():
    runs = [
        {"temperature_K": 500.0, "D_cm2_s": 1e-6, "D_err_cm2_s": 1e-7},
        {"temperature_K": 700.0, "error": "MD stopped"},
    ]
    summary = arrhenius_summary(runs)
    assert summary["Ea_eV"] is None and summary["arrhenius_points"] == 1


def test_lattice_error_and_config_checks():
    exp = {"a": 10.0, "b": 10.0, "c": 10.0}
    assert lattice_error_percent({"a": 10.1, "b": 9.9, "c": 10.0}, exp) == pytest.approx(2 / 3)
    assert lattice_error_percent(None, exp) is None
    with pytest.raises(ValueError, match="unknown solid"):
        SolidBenchConfig(materials=("Li9X",)).validate()
    with pytest.raises(ValueError, match="shorter than the MD run"):
        SolidBenchConfig(md_ps=1.0, equilibration_ps=2.0).validate()


def test_teacher_relaxes_every_material_but_runs_md_only_on_its_subset(tmp_path):
    config = SolidBenchConfig(**{**QUICK, "teacher_materials": (), "relax_steps": 2})
    calculators = BenchCalculators(student=_fluid(), teacher=_fluid())
    (record,) = run_solid_benchmark(config, calculators, tmp_path, log=lambda _: None).records
    assert record["lattice_teacher"] is not None
    assert "diffusion_teacher" not in record and "D_ratio_student_over_teacher" not in record
    assert "diffusion_student" in record
