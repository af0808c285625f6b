import json
import sys

import numpy as np
import pytest
from ase.calculators.calculator import Calculator, all_changes

from nanomlip.bench.memory import parse_result, run_isolated, worker_command
from nanomlip.bench.models import ModelSpec, calculator_for
from nanomlip.bench.peers import MACE_MISSING, peer_spec, student_spec
from nanomlip.bench.protocol import RESULT_MARKER, ns_per_day, peak_rss_mib
from nanomlip.bench.speed import HarnessConfig, PointResult, run_harness, skip_reason
from nanomlip.bench.speed_report import (
    format_ratio,
    markdown_report,
    plot_scaling,
    ratio_table,
    timing_table,
    write_harness_outputs,
)
from nanomlip.bench.systems import (
    AVOGADRO,
    achievable_size,
    amorphous_sio2,
    build_system,
    diamond_repeats_for,
    sio2_formula_units_for,
)


class FakePeer(Calculator):
    """Zero energy, forces and stress: a stand-in peer that costs nothing."""

    implemented_properties = ["energy", "forces", "stress"]

    def calculate(self, atoms=None, properties=None, system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results = {
            "energy": 0.0,
            "forces": np.zeros((len(self.atoms), 3)),
            "stress": np.zeros(6),
        }


def fake_peer() -> ModelSpec:
    return ModelSpec("fake", "callable", "fake", role="peer", factory=FakePeer)


def point(model, n, seconds, role="student", system="si", status="ok", peak=None, base=None):
    ok = status == "ok"
    return PointResult(
        model=model,
        role=role,
        system=system,
        target_atoms=n,
        num_atoms=n,
        status=status,
        reason="" if ok else f"{status}: test",
        seconds_per_step=seconds if ok else None,
        microseconds_per_atom_step=seconds / n * 1e6 if ok else None,
        ns_per_day=ns_per_day(seconds) if ok else None,
        peak_rss_mib=peak,
        baseline_rss_mib=base,
    )


def test_sizes_are_nearest_achievable():
    assert [achievable_size("si", n) for n in (64, 512, 1728, 8000, 27000)] == [
        64,
        512,
        1728,
        8000,
        27000,
    ]
    assert abs(achievable_size("si", 70000) - 70000) < 1000
    assert max(diamond_repeats_for(70000)) - min(diamond_repeats_for(70000)) <= 1
    assert [achievable_size("sio2", n) for n in (64, 512, 70000)] == [63, 513, 69999]
    assert sio2_formula_units_for(1) == 1


def test_sio2_stoichiometry_density_and_minimum_distances():
    atoms = amorphous_sio2(64, seed=3)
    symbols = np.array(atoms.get_chemical_symbols())
    assert (symbols == "Si").sum() == 64 and (symbols == "O").sum() == 128
    grams_per_cm3 = atoms.get_masses().sum() / AVOGADRO / (atoms.get_volume() * 1e-24)
    assert grams_per_cm3 == pytest.approx(2.2, rel=1e-3)
    distances = atoms.get_all_distances(mic=True)
    np.fill_diagonal(distances, np.inf)
    si, o = symbols == "Si", symbols == "O"
    assert distances[np.ix_(si, si)].min() >= 2.8
    assert distances[np.ix_(o, o)].min() >= 2.2
    assert distances[np.ix_(si, o)].min() >= 1.5
    again = amorphous_sio2(64, seed=3)
    assert np.array_equal(atoms.positions, again.positions)
    assert len(build_system("sio2", 100)) == 99


def test_skip_logic_projects_time_from_previous_size():
    config = HarnessConfig(steps=3, warmup=1, max_seconds_per_point=10.0)
    assert skip_reason(None, 64, config) is None
    previous = point("m", 100, seconds=0.1)  # 0.4 s for the point; 10x atoms -> 4 s
    assert skip_reason(previous, 1000, config) is None
    reason = skip_reason(previous, 10000, config)  # 40 s > 10 s
    assert reason.startswith("skipped: projected time > budget")
    skipped = PointResult("m", "student", "si", 10000, 10000, "skipped", reason)
    assert skip_reason(skipped, 100000, config) == reason
    failed = point("m", 100, 0.1, status="failed")
    assert skip_reason(failed, 1000, config).startswith("skipped: failed")
    lammps = skip_reason(previous, 1000, config, steps_per_timing=10)  # 40 s
    assert lammps.startswith("skipped: projected time")


def test_skip_logic_projects_memory():
    config = HarnessConfig(max_seconds_per_point=1e9, max_memory_mib=1000.0)
    previous = point("m", 100, 0.01, peak=400.0, base=300.0)  # 1 MiB per atom
    assert skip_reason(previous, 500, config) is None
    assert skip_reason(previous, 1000, config).startswith("skipped: projected memory")


def test_ratio_table_only_compares_points_measured_together():
    results = [
        point("s", 64, 0.001),
        point("s", 512, 0.004),
        point("p", 64, 0.1, role="peer"),
        point("p", 512, 0.0, role="peer", status="skipped"),
        point("t", 64, 0.0001, role="peer", system="si"),
        point("classical", 64, 0.0, role="peer", system="si", status="not applicable"),
    ]
    table = ratio_table(results, "si")
    assert "| s / p | 100x | - |" in table
    assert "| s / t | 0.1x | - |" in table
    assert "classical" not in table
    assert format_ratio(0.0123) == "0.012x" and format_ratio(3.21) == "3.2x"
    timings = timing_table(results, "si")
    assert "skipped (time)" in timings and "n/a" in timings


def test_harness_students_and_fake_peer_in_process(tmp_path):
    config = HarnessConfig(
        systems=("si", "sio2"), sizes=(8, 24), steps=1, warmup=0, threads=1, isolate=False
    )
    models = [student_spec("nano-xs"), fake_peer()]
    results = run_harness(models, config, log=lambda line: None)
    assert [(r.system, r.model, r.num_atoms) for r in results] == [
        ("si", "nano-xs", 8),
        ("si", "nano-xs", 16),
        ("si", "fake", 8),
        ("si", "fake", 16),
        ("sio2", "nano-xs", 9),
        ("sio2", "nano-xs", 24),
        ("sio2", "fake", 9),
        ("sio2", "fake", 24),
    ]
    assert all(r.ok and r.seconds_per_step > 0 and r.ns_per_day > 0 for r in results)
    assert "| nano-xs / fake |" in ratio_table(results, "sio2")
    paths = write_harness_outputs(results, models, config, tmp_path / "speed.json", "cmd")
    payload = json.loads(paths["json"].read_text())
    assert payload["command"] == "cmd" and len(payload["results"]) == 8
    assert "untrained" in payload["note"]
    report = paths["md"].read_text()
    assert "Command: `cmd`" in report and "untrained" in report
    assert paths["png"].stat().st_size > 0


def test_subprocess_point_reports_positive_peak_memory(tmp_path):
    from ase.io import write

    structure = tmp_path / "si.extxyz"
    write(structure, build_system("si", 8))
    request = {
        "spec": student_spec("nano-xs").to_dict(),
        "structure": str(structure),
        "steps": 1,
        "warmup": 0,
        "threads": 1,
    }
    result = run_isolated(worker_command(), request, timeout=120, threads=1)
    assert result["status"] == "ok", result
    assert result["peak_rss_mib"] > 0 and result["peak_rss_mib"] >= result["baseline_rss_mib"]
    assert result["num_atoms"] == 8 and result["seconds_per_step"] > 0
    assert peak_rss_mib() > 0


def test_worker_failures_are_recorded_not_raised():
    crash = [sys.executable, "-c", "import sys; sys.exit(3)"]
    result = run_isolated(crash, {}, timeout=30)
    assert result["status"] == "failed" and "code 3" in result["reason"]
    assert parse_result(f"noise\n{RESULT_MARKER}{json.dumps({'status': 'ok'})}\n") == {
        "status": "ok"
    }


def test_missing_mace_env_gives_clear_message(tmp_path):
    config = HarnessConfig(sizes=(8,), systems=("si",), mace_root=tmp_path)
    results = run_harness([peer_spec("mace-small")], config, log=lambda line: None)
    assert results[0].status == "not measured"
    assert results[0].reason == MACE_MISSING == "not measured: run benchmarks/peers/mace_env.sh"
    report = markdown_report(results, [peer_spec("mace-small")], config, "cmd", "x.png")
    assert MACE_MISSING in report


def test_missing_lammps_gives_clear_message(monkeypatch):
    import nanomlip.bench.speed as speed

    monkeypatch.setattr(speed, "lammps_available", lambda: False)
    config = HarnessConfig(sizes=(8,), systems=("si",))
    results = run_harness([peer_spec("tersoff")], config, log=lambda line: None)
    assert results[0].status == "not measured"
    assert ".[bench]" in results[0].reason


def test_classical_peer_is_not_applicable_on_other_system(tmp_path):
    config = HarnessConfig(sizes=(8,), systems=("sio2",))
    results = run_harness([peer_spec("tersoff")], config, log=lambda line: None)
    assert results[0].status == "not applicable"
    plot_scaling(results, tmp_path / "empty.png", ("sio2",))


def test_cli_writes_json_markdown_and_png(tmp_path, capsys):
    from nanomlip.cli.main import main

    out = tmp_path / "speed.json"
    argv = ["bench", "speed", "--presets", "nano-xs", "--peers", "none", "--systems", "sio2"]
    argv += ["--sizes", "9", "--steps", "1", "--threads", "1", "--in-process", "--out", str(out)]
    assert main(argv) == 0
    assert out.exists() and out.with_suffix(".md").exists() and out.with_suffix(".png").exists()
    assert "Command: `nanomlip " in out.with_suffix(".md").read_text()
    assert "nano-xs" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore:.*UNTRAINED model")
def test_cli_times_a_trained_checkpoint_beside_the_presets(tmp_path, capsys):
    from nanomlip.cli.main import main
    from nanomlip.models import build_model
    from nanomlip.models.checkpoint import save_checkpoint

    checkpoint = tmp_path / "paired.safetensors"
    save_checkpoint(build_model("nano-xs", species_pair_radial=True), checkpoint)
    out = tmp_path / "speed.json"
    argv = ["bench", "speed", "--presets", "nano-xs", "--models", f"paired=student:{checkpoint}"]
    argv += ["--peers", "none", "--systems", "sio2", "--sizes", "9", "--steps", "1"]
    argv += ["--threads", "1", "--in-process", "--out", str(out)]
    assert main(argv) == 0
    timed = {point["model"] for point in json.loads(out.read_text())["results"]}
    assert timed == {"nano-xs", "paired"}
    assert "trained weights" in out.with_suffix(".md").read_text()


def test_cli_speed_models_must_be_uniquely_labelled_students():
    from nanomlip.cli.main import main

    base = ["bench", "speed", "--peers", "none", "--sizes", "8", "--presets", "nano-xs"]
    with pytest.raises(SystemExit, match="time teachers with --peers"):
        main([*base, "--models", "teacher:sevennet:7net-0"])
    with pytest.raises(SystemExit, match="two models are labelled nano-xs"):
        main([*base, "--models", "nano-xs=student:nano-5.0"])


def test_cli_rejects_unknown_peer():
    from nanomlip.cli.main import main

    with pytest.raises(SystemExit, match="unknown peer"):
        main(["bench", "speed", "--peers", "nope", "--sizes", "8"])


def test_allocator_settings_reach_the_worker_environment(monkeypatch):
    from nanomlip.bench.peers import allocator_environment

    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_max=7")
    show = [
        sys.executable,
        "-c",
        "import json, os; print('"
        + RESULT_MARKER
        + "' + json.dumps({k: os.environ.get(k) for k in "
        "('GLIBC_TUNABLES', 'NANOMLIP_HEAP_ALLOCATOR')}))",
    ]
    default = run_isolated(show, {}, timeout=30, environment=allocator_environment("default"))
    assert default == {"GLIBC_TUNABLES": None, "NANOMLIP_HEAP_ALLOCATOR": "0"}
    heap = run_isolated(show, {}, timeout=30, environment=allocator_environment("heap"))
    assert "glibc.malloc.mmap_max=0" in heap["GLIBC_TUNABLES"]
    assert heap["NANOMLIP_HEAP_ALLOCATOR"] is None
    with pytest.raises(ValueError, match="unknown allocator setting"):
        allocator_environment("jemalloc")


def test_ratios_are_like_for_like_per_allocator_and_shipped_on_request():
    from nanomlip.bench.speed import with_allocator

    results = [
        point("s", 100, 1.0),
        point("p", 100, 30.0, role="peer"),
        point("s", 100, 2.0),
        point("p", 100, 40.0, role="peer"),
    ]
    results[0].allocator = results[1].allocator = "heap"
    results[2].allocator = results[3].allocator = "default"
    heap, default = with_allocator(results, "heap"), with_allocator(results, "default")
    assert "| s / p | 30x |" in ratio_table(heap, "si")
    assert "| s / p | 20x |" in ratio_table(default, "si")
    assert "| s / p | 40x |" in ratio_table(heap, "si", peer_results=default)


def test_isolated_harness_measures_each_allocator_setting(tmp_path):
    config = HarnessConfig(systems=("si",), sizes=(8,), steps=1, warmup=0, threads=1)
    results = run_harness([student_spec("nano-xs")], config, log=lambda line: None)
    assert [(r.allocator, r.status) for r in results] == [("default", "ok"), ("heap", "ok")]
    report = markdown_report(results, [student_spec("nano-xs")], config, "cmd", "x.png")
    assert "### Allocator `default`" in report and "### Allocator `heap`" in report


@pytest.mark.teacher
def test_sevennet_nano_architecture_peer_is_built_by_sevenn():
    pytest.importorskip("sevenn")

    calculator, notes = calculator_for(peer_spec("sevennet-nano-arch"), "cpu")
    atoms = build_system("si", 8)
    atoms.calc = calculator
    assert np.isfinite(atoms.get_potential_energy())
    assert atoms.get_forces().shape == (8, 3)
    assert any("random weights" in note for note in notes)
    assert "RANDOM weights" in peer_spec("sevennet-nano-arch").description
