"""Harness of ``nanomlip bench liquid-electrolytes``: E/F/S errors and NPT densities.

Per solvent (:mod:`nanomlip.bench.liquid_solvents`):

1. pack a box at the experimental density (RDKit conformer + packmol);
2. run hot Langevin NVT with the student + D3 and take ``snapshots`` frames from it;
   evaluate them with student + D3 and teacher + D3 and record the energy (meV/atom),
   force (meV/Å) and stress (GPa) mean absolute errors. D3 is the same term in both, so
   these equal the errors without it;
3. run isotropic MTK NPT at 1 bar and the reference temperature with the student + D3 and
   with the student alone; after ``equilibration_ps`` the density is averaged, with a
   block-averaged standard error (:func:`nanomlip.md.observables.block_average`);
4. on ``teacher_solvents``, the same NPT run with the teacher + D3.

Steps are cached under ``work_dir`` and finished solvents are records of
``results.json`` (one per solvent, the fields the issue names first), so a killed run
resumes. Trajectories stay in ``work_dir``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from ase import Atoms, units
from ase.io import read, write

from nanomlip.bench.electrolyte_common import BenchCalculators, ResultStore, cached_json
from nanomlip.bench.liquid_solvents import SOLVENTS, Solvent, build_box, molecule_count

#: Solvents the teacher's NPT density runs on by default: a cyclic and a linear carbonate
#: and an ether, the three classes of the benchmark, in the CPU budget of the teacher.
DEFAULT_TEACHER_SOLVENTS: tuple[str, ...] = ("EC", "DMC", "DME")

#: One bar in GPa.
BAR_GPA: float = 1e-4


@dataclass(frozen=True)
class LiquidBenchConfig:
    """Settings of the liquid-electrolyte benchmark.

    Attributes:
        solvents: Names from :data:`SOLVENTS`.
        teacher_solvents: The subset on which the teacher also runs NPT.
        target_atoms: Atoms per box (the nearest whole number of molecules).
        hot_temperature_K: Temperature of the MD that gives the E/F/S snapshots, in K.
        hot_steps: Steps of that MD.
        snapshots: Frames taken from it (evenly spaced, the first excluded).
        npt_ps: Length of each NPT run, in ps.
        equilibration_ps: Initial part of the NPT run left out of the average, in ps.
        timestep_fs: MD time step, in fs.
        log_every: Steps between density samples.
        without_d3: Also run the student's NPT without D3.
        without_d3_solvents: The solvents of that run (``None``: all of ``solvents``).
        seed: Seed of packing, velocities and noise.
    """

    solvents: tuple[str, ...] = tuple(SOLVENTS)
    teacher_solvents: tuple[str, ...] = DEFAULT_TEACHER_SOLVENTS
    target_atoms: int = 400
    hot_temperature_K: float = 500.0
    hot_steps: int = 2000
    snapshots: int = 10
    npt_ps: float = 30.0
    equilibration_ps: float = 10.0
    timestep_fs: float = 1.0
    log_every: int = 20
    without_d3: bool = True
    without_d3_solvents: tuple[str, ...] | None = None
    seed: int = 0

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad setting."""
        unknown = sorted(set(self.solvents) - set(SOLVENTS))
        if unknown:
            raise ValueError(f"unknown solvent(s) {unknown}; choose from {list(SOLVENTS)}")
        extra = sorted(set(self.teacher_solvents) - set(SOLVENTS))
        if extra:
            raise ValueError(f"unknown teacher solvent(s) {extra}")
        extra = sorted(set(self.without_d3_solvents or ()) - set(SOLVENTS))
        if extra:
            raise ValueError(f"unknown without-D3 solvent(s) {extra}")
        if self.equilibration_ps >= self.npt_ps:
            raise ValueError("the equilibration must be shorter than the NPT run")
        if self.snapshots < 1 or self.hot_steps < self.snapshots:
            raise ValueError("need snapshots >= 1 and hot_steps >= snapshots")
        if self.target_atoms < 2 or self.timestep_fs <= 0 or self.log_every < 1:
            raise ValueError("target_atoms >= 2, a positive timestep and log_every >= 1")

    @property
    def npt_steps(self) -> int:
        """NPT steps per run."""
        return int(round(self.npt_ps * 1000.0 / self.timestep_fs))


def hot_snapshots(
    box: Atoms, calculators: BenchCalculators, config: LiquidBenchConfig, folder: Path
) -> list[Atoms]:
    """Frames of a hot NVT run of the student + D3 (written to ``snapshots.extxyz``)."""
    from nanomlip.md import MDConfig, run_md

    every = max(1, config.hot_steps // config.snapshots)
    md_config = MDConfig(
        ensemble="nvt-langevin",
        temperature_K=config.hot_temperature_K,
        timestep_fs=config.timestep_fs,
        steps=every * config.snapshots,
        seed=config.seed,
        traj_every=every,
        log_every=every,
    )
    result = run_md(
        box.copy(), md_config, folder / "hot_md", calculator=calculators.student_calculator()
    )
    frames = read(result.trajectory, index=":")[1:]
    clean = [Atoms(f.numbers, positions=f.positions, cell=f.cell, pbc=True) for f in frames]
    write(folder / "snapshots.extxyz", clean, format="extxyz")
    return clean


def _labels(frames: list[Atoms], calculator: Any) -> dict[str, np.ndarray]:
    energies, forces, stresses = [], [], []
    for frame in frames:
        atoms = frame.copy()
        atoms.calc = calculator
        energies.append(atoms.get_potential_energy() / len(atoms))
        forces.append(atoms.get_forces())
        stresses.append(atoms.get_stress())
    return {"energy": np.array(energies), "forces": np.array(forces), "stress": np.array(stresses)}


def efs_errors(
    box: Atoms, calculators: BenchCalculators, config: LiquidBenchConfig, folder: Path
) -> dict[str, Any]:
    """Student + D3 vs teacher + D3 on hot snapshots: E (meV/atom), F (meV/Å), S (GPa) MAE."""
    frames = hot_snapshots(box, calculators, config, folder)
    student = _labels(frames, calculators.student_calculator())
    teacher = _labels(frames, calculators.teacher_calculator())
    return {
        "snapshots": len(frames),
        "energy_mae_meV_atom": float(np.abs(student["energy"] - teacher["energy"]).mean() * 1e3),
        "force_mae_meV_A": float(np.abs(student["forces"] - teacher["forces"]).mean() * 1e3),
        "stress_mae_GPa": float(np.abs(student["stress"] - teacher["stress"]).mean() / units.GPa),
    }


def npt_density(
    box: Atoms,
    temperature_K: float,
    calculator: Any,
    config: LiquidBenchConfig,
    run_dir: Path,
) -> dict[str, Any]:
    """Isotropic MTK NPT at 1 bar; mean density after equilibration with its block error."""
    from nanomlip.md import MDConfig, SimulationError, block_average, read_thermo_log, run_md

    md_config = MDConfig(
        ensemble="npt-mtk",
        temperature_K=temperature_K,
        pressure_GPa=BAR_GPA,
        timestep_fs=config.timestep_fs,
        steps=config.npt_steps,
        seed=config.seed,
        traj_every=config.log_every * 10,
        log_every=config.log_every,
    )
    try:
        result = run_md(box.copy(), md_config, run_dir, calculator=calculator)
    except (SimulationError, ValueError) as error:  # unstable run, or atoms that overlap
        return {"error": f"NPT stopped: {error}"}
    rows = read_thermo_log(result.thermo)
    start = config.equilibration_ps
    density = np.array([r.density_g_cm3 for r in rows if r.time_ps >= start])
    if density.size < 2:
        return {"error": "too few density samples after equilibration"}
    mean, spread = block_average(density)
    times = [r.time_ps for r in rows]
    return {
        "density_g_cm3": mean,
        "density_err_g_cm3": spread,
        "samples": int(density.size),
        "ns_per_day": result.ns_per_day,
        "density_trace_g_cm3": [r.density_g_cm3 for r in rows][:: max(1, len(rows) // 100)],
        "time_trace_ps": times[:: max(1, len(rows) // 100)],
    }


def run_solvent(
    solvent: Solvent,
    calculators: BenchCalculators,
    no_d3: BenchCalculators | None,
    config: LiquidBenchConfig,
    work_dir: Path,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """All steps of one solvent (cached) and its ``results.json`` record."""
    folder = work_dir / solvent.name
    folder.mkdir(parents=True, exist_ok=True)
    box_path = folder / "box.extxyz"
    if not box_path.is_file():
        molecules = molecule_count(solvent, config.target_atoms)
        write(box_path, build_box(solvent, molecules, config.seed), format="extxyz")
    box = cast(Atoms, read(box_path))
    efs = cached_json(folder / "efs.json", lambda: efs_errors(box, calculators, config, folder))
    log(
        f"  {solvent.name}: E/F/S MAE {efs['energy_mae_meV_atom']:.1f} meV/atom, "
        f"{efs['force_mae_meV_A']:.0f} meV/Å, {efs['stress_mae_GPa']:.3f} GPa"
    )
    runs = {"student_d3": calculators.student_calculator}
    chosen = config.solvents if config.without_d3_solvents is None else config.without_d3_solvents
    if no_d3 is not None and solvent.name in chosen:
        runs["student"] = no_d3.student_calculator
    if solvent.name in config.teacher_solvents:
        runs["teacher_d3"] = calculators.teacher_calculator
    densities = {}
    for label, make in runs.items():

        def density(label: str = label, make: Callable[[], Any] = make) -> dict[str, Any]:
            return npt_density(box, solvent.temperature_K, make(), config, folder / f"npt_{label}")

        densities[label] = cached_json(folder / f"npt_{label}.json", density)
        log(f"  {solvent.name} {label}: {_density_line(densities[label])}")
    return solvent_record(solvent, box, efs, densities, calculators)


def _density_line(run: dict[str, Any]) -> str:
    if "error" in run:
        return f"no density ({run['error'][:80]})"
    return f"{run['density_g_cm3']:.4f} ± {run['density_err_g_cm3']:.4f} g/cm³"


def solvent_record(
    solvent: Solvent,
    box: Atoms,
    efs: dict[str, Any],
    densities: dict[str, dict[str, Any]],
    calculators: BenchCalculators,
) -> dict[str, Any]:
    """The ``results.json`` record of one solvent."""

    def value(label: str, key: str) -> float | None:
        return densities.get(label, {}).get(key)

    return {
        "name": solvent.name,
        "smiles": solvent.smiles,
        "temperature_K": solvent.temperature_K,
        "density_g_cm3": value("student_d3", "density_g_cm3"),
        "density_err_g_cm3": value("student_d3", "density_err_g_cm3"),
        "density_exp_g_cm3": solvent.density_exp_g_cm3,
        "density_exp_source": solvent.source,
        "density_exp_to_check": solvent.check_source,
        "density_no_d3_g_cm3": value("student", "density_g_cm3"),
        "density_no_d3_err_g_cm3": value("student", "density_err_g_cm3"),
        "density_teacher_d3_g_cm3": value("teacher_d3", "density_g_cm3"),
        "density_teacher_d3_err_g_cm3": value("teacher_d3", "density_err_g_cm3"),
        "family": solvent.family,
        "num_atoms": len(box),
        "num_molecules": int(box.info.get("molecules", 0)),
        "teacher": calculators.teacher_spec(),
        "dispersion": calculators.dispersion,
        **{f"efs_{k}": v for k, v in efs.items()},
        "npt": densities,
    }


@dataclass
class LiquidBenchRun:
    """Outcome of :func:`run_liquid_benchmark`."""

    records: list[dict[str, Any]]
    results_path: Path
    config: dict[str, Any]


def run_liquid_benchmark(
    config: LiquidBenchConfig,
    calculators: BenchCalculators,
    out_dir: Path,
    work_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> LiquidBenchRun:
    """Run (or continue) the benchmark; finished solvents in ``results.json`` are kept.

    ``calculators.dispersion`` must be set (the benchmark is defined with D3).
    """
    config.validate()
    if not calculators.dispersion:
        raise ValueError("the liquid benchmark adds D3 to both models: set dispersion='d3'")
    no_d3 = None
    if config.without_d3:
        no_d3 = BenchCalculators(calculators.student, calculators.teacher, None, calculators.device)
    work_dir = work_dir or out_dir / "work"
    store = ResultStore(out_dir / "results.json")
    for name in config.solvents:
        if store.has(name):
            log(f"{name}: done earlier, kept")
            continue
        store.put(run_solvent(SOLVENTS[name], calculators, no_d3, config, work_dir, log))
        log(f"{name}: done")
    return LiquidBenchRun(store.records(), store.path, asdict(config))


def density_mae_percent(records: list[dict[str, Any]], key: str) -> float | None:
    """Mean |ρ - ρ_exp| / ρ_exp in % over the records with ``key`` known."""
    errors = [
        abs(r[key] - r["density_exp_g_cm3"]) / r["density_exp_g_cm3"] * 100
        for r in records
        if r.get(key) is not None
    ]
    return float(np.mean(errors)) if errors else None
