import json

import numpy as np
import pytest
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT
from ase.eos import EquationOfState, birchmurnaghan
from ase.units import GPa

import nanomlip
from nanomlip.bench.eos import (
    FAILED,
    OK,
    SKIPPED,
    EOSFitError,
    SystemResult,
    common_systems,
    evaluate_system,
    fit_birch_murnaghan,
    reference_structure,
    run_eos_benchmark,
    scaled_to_volume,
    summarize,
    wien2k_reference,
)
from nanomlip.bench.eos_report import write_eos_outputs
from nanomlip.bench.models import BenchModel, ModelSpec, parse_model_specs
from nanomlip.cli.main import main


class LinearInVolume(Calculator):
    """Pathological: energy grows linearly with volume, so there is no minimum."""

    implemented_properties = ["energy"]

    def calculate(self, atoms=None, properties=None, system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results = {"energy": 0.1 * self.atoms.get_volume()}


def emt_model(label="emt"):
    return BenchModel(label, EMT(), kind="teacher", target="ase:ase.calculators.emt:EMT")


def test_wien2k_reference_is_read_from_dcdft():
    ref = wien2k_reference("Si")
    assert ref.v0 == pytest.approx(20.453)
    assert ref.b0 == pytest.approx(88.545)  # GPa
    assert ref.b1 == pytest.approx(4.31)
    atoms = reference_structure("Si")
    assert atoms.get_volume() / len(atoms) == pytest.approx(20.453)


def test_fit_recovers_exact_birch_murnaghan():
    volumes = np.linspace(18.0, 22.0, 9)
    energies = birchmurnaghan(volumes, -5.0, 88.0 * GPa, 4.3, 20.4)
    fit = fit_birch_murnaghan(volumes, energies)
    assert (fit.v0, fit.e0, fit.b0, fit.b1) == pytest.approx((20.4, -5.0, 88.0, 4.3), rel=1e-8)
    assert fit.rms < 1e-6


def test_fit_rejects_curves_without_a_minimum_in_the_grid():
    volumes = np.linspace(18.0, 22.0, 9)
    with pytest.raises(EOSFitError, match="outside the grid|no minimum"):
        fit_birch_murnaghan(volumes, birchmurnaghan(volumes, 0.0, 0.5, 4.0, 25.0))
    with pytest.raises(EOSFitError, match="no minimum"):
        fit_birch_murnaghan(volumes, volumes ** (-2.0 / 3.0))  # monotonic, no stationary point
    with pytest.raises(EOSFitError, match="no minimum|outside the grid|not convex"):
        fit_birch_murnaghan(volumes, -((volumes - 20.0) ** 2))


@pytest.mark.parametrize("name", ["Cu", "Ni"])
def test_emt_fit_matches_a_fine_direct_scan(name):
    result = evaluate_system(emt_model(), name, points=9, strain=0.06)
    assert result.status == OK
    atoms = reference_structure(name)
    v_ref = atoms.get_volume() / len(atoms)
    volumes = v_ref * np.linspace(0.94, 1.06, 121)
    energies = []
    for volume in volumes:
        scaled = scaled_to_volume(atoms, volume * len(atoms))
        scaled.calc = EMT()
        energies.append(scaled.get_potential_energy() / len(scaled))
    best = int(np.argmin(energies))
    assert result.v0 == pytest.approx(volumes[best], abs=volumes[1] - volumes[0])
    eos = EquationOfState(volumes, energies, eos="birchmurnaghan")
    v0, e0, bulk = eos.fit()
    assert result.v0 == pytest.approx(v0, rel=2e-4)
    assert result.e0 == pytest.approx(e0, abs=1e-5)
    assert result.b0 == pytest.approx(bulk / GPa, rel=0.01)
    assert result.v0_error == pytest.approx(result.v0 / wien2k_reference(name).v0 - 1)
    assert result.delta is not None and result.delta > 0


def test_unknown_elements_are_skipped_and_bad_curves_fail():
    si = evaluate_system(emt_model(), "Si", points=7)
    assert si.status == SKIPPED and "Si" in si.reason
    declared = BenchModel("cu-only", EMT(), elements=["Cu"])
    assert evaluate_system(declared, "Ni", points=7).status == SKIPPED
    linear = evaluate_system(BenchModel("linear", LinearInVolume()), "Cu", points=7)
    assert linear.status == FAILED and linear.reason
    assert len(linear.energies) == 7 and linear.v0 is None


def test_mare_uses_the_common_set_only():
    def result(system, model, status, v0_error=None):
        return SystemResult(system, model, status, v0_error=v0_error, b0_error=v0_error, delta=1.0)

    results = [
        result("Cu", "a", OK, 0.01),
        result("Ni", "a", OK, 0.50),
        result("Cu", "b", OK, -0.03),
        result("Ni", "b", FAILED),
    ]
    assert common_systems(results) == ["Cu"]
    a, b = summarize(results)
    assert a.num_common == 1 and a.mare_v0 == pytest.approx(1.0)
    assert a.mare_v0_own == pytest.approx(25.5)
    assert b.mare_v0 == pytest.approx(3.0) and b.num_failed == 1


def test_run_writes_json_markdown_and_png(tmp_path):
    models = [emt_model(), BenchModel("linear", LinearInVolume())]
    results = run_eos_benchmark(models, ["Cu", "Al", "Si"], points=7, log=lambda line: None)
    paths = write_eos_outputs(results, models, tmp_path / "eos", "nanomlip bench eos ...", 7, 0.06)
    assert all(path.is_file() for path in paths.values())
    payload = json.loads(paths["json"].read_text())
    assert payload["command"] == "nanomlip bench eos ..."
    assert [s["model"] for s in payload["summary"]] == ["emt", "linear"]
    emt = payload["summary"][0]
    assert emt["num_ok"] == 2 and emt["num_skipped"] == 1 and emt["num_common"] == 0
    assert payload["summary"][1]["num_failed"] == 3  # knows every element, fits none
    markdown = paths["markdown"].read_text()
    assert "`nanomlip bench eos ...`" in markdown and "MARE" in markdown
    assert "| Cu |" in markdown and "skipped" in markdown and "failed" in markdown


def test_parse_model_specs():
    specs = parse_model_specs("nano=student:ckpt/a.safetensors,teacher:sevennet:7net-mf-0@PBE")
    assert specs == [
        ModelSpec("nano", "student", "ckpt/a.safetensors"),
        ModelSpec("sevennet:7net-mf-0@PBE", "teacher", "sevennet:7net-mf-0@PBE"),
    ]
    assert parse_model_specs("student:x/y.safetensors")[0].label == "y"
    assert parse_model_specs("student:nano-5.0")[0].label == "nano-5.0"
    assert parse_model_specs("student:runs/nano-5.5.pt")[0].label == "nano-5.5"
    with pytest.raises(ValueError, match="student:"):
        parse_model_specs("sevennet:7net-0")
    with pytest.raises(ValueError, match="unique"):
        parse_model_specs("teacher:ase:ase.calculators.emt:EMT,teacher:ase:ase.calculators.emt:EMT")


def test_cli_with_tiny_student(tmp_path):
    checkpoint = tmp_path / "tiny.safetensors"
    nanomlip.save_checkpoint(nanomlip.build_model("nano-xs"), checkpoint)
    out = tmp_path / "eos"
    code = main(
        [
            "bench",
            "eos",
            "--models",
            f"tiny=student:{checkpoint},emt=teacher:ase:ase.calculators.emt:EMT",
            "--systems",
            "Cu,Si",
            "--points",
            "7",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    payload = json.loads((out / "eos.json").read_text())
    assert [m["label"] for m in payload["models"]] == ["tiny", "emt"]
    statuses = {(r["model"], r["system"]): r["status"] for r in payload["results"]}
    assert statuses[("emt", "Cu")] == OK and statuses[("emt", "Si")] == SKIPPED
    assert statuses[("tiny", "Cu")] in (OK, FAILED)  # untrained: any curve, never dropped
    assert (out / "eos.md").is_file() and (out / "eos.png").is_file()
