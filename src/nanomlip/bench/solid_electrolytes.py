"""Harness of ``nanomlip bench solid-electrolytes``: lattices and Li diffusion, student vs teacher.

Per material (:mod:`nanomlip.bench.solid_structures`) and model (the student always; the
teacher relaxes every material and runs the MD on ``teacher_materials``):

1. relax the ordered cell, positions and cell (FIRE + ``FrechetCellFilter``), and compare
   its lattice (a, b, c, α, β, γ of the built cell) with experiment and with the teacher;
2. run Langevin NVT at each temperature on the relaxed cell repeated ``md_repeat`` times,
   drop ``equilibration_ps``, and take the Li tracer diffusivity with its standard error
   (:func:`nanomlip.md.observables.diffusivity`);
3. fit the Arrhenius law to the temperatures with a positive D and extrapolate to 300 K.

Every step is cached under ``work_dir`` (``<material>/<role>/relax.json``, ``md_<T>K.json``)
and every finished material is a record of ``results.json``, so a killed run continues
where it stopped. Trajectories stay in ``work_dir`` (not meant to be committed).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from ase import Atoms
from ase.io import read, write

from nanomlip.bench.electrolyte_common import (
    BenchCalculators,
    ResultStore,
    cached_json,
    mean_abs_percent,
)
from nanomlip.bench.solid_structures import SOLID_ELECTROLYTES, SolidElectrolyte, build_structure

#: Lattice fields of a record, in order.
LATTICE_FIELDS: tuple[str, ...] = ("a", "b", "c", "alpha", "beta", "gamma")

#: Materials the teacher runs MD on by default: an argyrodite, LGPS and Li3N, three classic fast
#: Li conductors whose MD cells (50-108 atoms) the ~30x slower teacher runs in a CPU budget.
DEFAULT_TEACHER_MATERIALS: tuple[str, ...] = ("Li6PS5Cl", "Li10GeP2S12", "Li3N")


@dataclass(frozen=True)
class SolidBenchConfig:
    """Settings of the solid-electrolyte benchmark.

    Attributes:
        materials: Names from :data:`SOLID_ELECTROLYTES`.
        teacher_materials: The subset on which the teacher also runs the MD.
        teacher_relax_all: Relax every material with the teacher too (lattices against the
            teacher for all 16; a relaxation costs far less than the MD).
        temperatures_K: NVT temperatures, in K.
        md_ps: Length of each MD run, in ps.
        equilibration_ps: Initial part of each run left out of the analysis, in ps.
        timestep_fs: MD time step, in fs.
        frame_every: Steps between analysed frames.
        min_lag_ps: Shortest MSD lag in the diffusivity fit, in ps.
        relax_fmax: Force (and scaled stress) threshold of the relaxation, in eV/Å.
        relax_steps: Maximum relaxation steps.
        seed: Seed of the initial velocities and the Langevin noise.
        md_repeat: Overrides every material's MD repeat (e.g. (1, 1, 1) for tests).
    """

    materials: tuple[str, ...] = tuple(SOLID_ELECTROLYTES)
    teacher_materials: tuple[str, ...] = DEFAULT_TEACHER_MATERIALS
    teacher_relax_all: bool = True
    temperatures_K: tuple[float, ...] = (600.0, 800.0, 1000.0)
    md_ps: float = 20.0
    equilibration_ps: float = 2.0
    timestep_fs: float = 2.0
    frame_every: int = 10
    min_lag_ps: float = 1.0
    relax_fmax: float = 0.05
    relax_steps: int = 300
    seed: int = 0
    md_repeat: tuple[int, int, int] | None = None

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad setting."""
        unknown = sorted(set(self.materials) - set(SOLID_ELECTROLYTES))
        if unknown:
            raise ValueError(
                f"unknown solid electrolyte(s) {unknown}; choose from {list(SOLID_ELECTROLYTES)}"
            )
        extra = sorted(set(self.teacher_materials) - set(SOLID_ELECTROLYTES))
        if extra:
            raise ValueError(f"unknown teacher material(s) {extra}")
        if not self.temperatures_K or min(self.temperatures_K) <= 0:
            raise ValueError("give at least one positive MD temperature")
        if self.equilibration_ps >= self.md_ps:
            raise ValueError("the equilibration must be shorter than the MD run")
        if self.timestep_fs <= 0 or self.frame_every < 1:
            raise ValueError("the timestep must be positive and frame_every >= 1")

    @property
    def md_steps(self) -> int:
        """MD steps per run."""
        return int(round(self.md_ps * 1000.0 / self.timestep_fs))


def lattice_record(atoms: Atoms) -> dict[str, float]:
    """a, b, c (Å), α, β, γ (degrees) and the volume (Å³) of a cell."""
    values = dict(zip(LATTICE_FIELDS, (float(x) for x in atoms.cell.cellpar())))
    return {**values, "volume": float(atoms.get_volume())}


def lattice_error_percent(lattice: dict[str, float] | None, reference: dict[str, float] | None):
    """Mean |Δ| / reference of a, b, c in %, or ``None`` when either is missing."""
    if not lattice or not reference:
        return None
    return mean_abs_percent([(lattice[k], reference[k]) for k in ("a", "b", "c")])


def relax_material(
    atoms: Atoms, calculators: BenchCalculators, role: str, config: SolidBenchConfig, folder: Path
) -> dict[str, Any]:
    """Relax cell and positions with one model; writes ``relaxed.extxyz`` beside the JSON."""
    from nanomlip.md import relax

    relaxed = atoms.copy()
    result = relax(
        relaxed,
        calculators.calculator(role),
        fmax=config.relax_fmax,
        steps=config.relax_steps,
        cell=True,
        logfile=str(folder / "relax.log"),
    )
    write(folder / "relaxed.extxyz", relaxed, format="extxyz")
    return {
        "lattice": lattice_record(relaxed),
        "converged": result.converged,
        "steps": result.steps,
        "energy_eV_per_atom": result.energy_eV / len(relaxed),
        "pressure_GPa": result.pressure_GPa,
    }


def md_run(
    cell: Atoms,
    repeat: tuple[int, int, int],
    temperature_K: float,
    calculators: BenchCalculators,
    role: str,
    config: SolidBenchConfig,
    folder: Path,
) -> dict[str, Any]:
    """One NVT run into ``folder/md_{T}K/``: its size and speed, or why it stopped."""
    from nanomlip.md import MDConfig, SimulationError, run_md

    atoms = cell.repeat(repeat)
    md_config = MDConfig(
        ensemble="nvt-langevin",
        temperature_K=temperature_K,
        timestep_fs=config.timestep_fs,
        steps=config.md_steps,
        seed=config.seed,
        traj_every=config.frame_every,
        log_every=config.frame_every,
    )
    record: dict[str, Any] = {"temperature_K": temperature_K, "num_atoms": len(atoms)}
    try:
        result = run_md(
            atoms,
            md_config,
            _run_dir(folder, temperature_K),
            calculator=calculators.calculator(role),
        )
    except (SimulationError, ValueError) as error:  # unstable run, or atoms that overlap
        return {**record, "error": f"MD stopped: {error}"}
    return {**record, "ns_per_day": result.ns_per_day}


def _run_dir(folder: Path, temperature_K: float) -> Path:
    return folder / f"md_{temperature_K:g}K"


#: Keys of a cached run record that describe the run itself (the rest is re-derived).
RUN_KEYS: tuple[str, ...] = ("temperature_K", "num_atoms", "ns_per_day", "error")


def li_diffusion(run: dict[str, Any], folder: Path, config: SolidBenchConfig) -> dict[str, Any]:
    """The Li diffusivity of a finished run's production part, read from its trajectory.

    It is computed afresh on every call (seconds), so that a better estimator applies to
    runs made before it; ``run`` is the cached record of :func:`md_run`.
    """
    from nanomlip.md import diffusivity

    record = {key: run[key] for key in RUN_KEYS if key in run}
    if "ns_per_day" not in record:  # the MD itself stopped
        return record
    record.pop("error", None)  # an old cache's analysis error: analysed again below
    trajectory = _run_dir(folder, run["temperature_K"]) / "trajectory.extxyz"
    frames = cast(list[Atoms], read(trajectory, index=":"))
    interval_fs = config.frame_every * config.timestep_fs
    skip = int(math.ceil(config.equilibration_ps * 1000.0 / interval_fs))
    try:
        fit = diffusivity(frames[skip:], "Li", run["temperature_K"], interval_fs, config.min_lag_ps)
    except ValueError as error:
        return {**record, "error": str(error)}
    step = max(1, len(fit.lag_ps) // 50)
    return {
        **record,
        "D_cm2_s": fit.diffusivity_cm2_s,
        "D_err_cm2_s": fit.diffusivity_err_cm2_s,
        "D_fit_err_cm2_s": fit.fit_err_cm2_s,
        "D_block_err_cm2_s": fit.block_err_cm2_s,
        "D_blocks": fit.blocks_used,
        "max_framework_displacement_A": fit.max_framework_displacement_A,
        "msd_lag_ps": fit.lag_ps[::step],
        "msd_A2": fit.msd_A2[::step],
    }


def arrhenius_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """E_a and D(300 K) from the runs with a positive D (fewer than two: ``None`` values)."""
    from nanomlip.md import fit_arrhenius

    usable = [r for r in runs if (r.get("D_cm2_s") or 0) > 0]
    empty = {"Ea_eV": None, "Ea_err_eV": None, "D300_cm2_s": None, "D300_err_cm2_s": None}
    if len({r["temperature_K"] for r in usable}) < 2:
        return {**empty, "arrhenius_points": len(usable)}
    fit = fit_arrhenius(
        [r["temperature_K"] for r in usable],
        [r["D_cm2_s"] for r in usable],
        [r["D_err_cm2_s"] for r in usable],
    )
    d300, d300_err = fit.diffusivity_at(300.0)
    return {
        "Ea_eV": fit.activation_energy_eV,
        "Ea_err_eV": fit.activation_energy_err_eV,
        "D300_cm2_s": d300,
        "D300_err_cm2_s": d300_err,
        "arrhenius_points": len(usable),
    }


def run_model(
    material: SolidElectrolyte,
    calculators: BenchCalculators,
    role: str,
    config: SolidBenchConfig,
    work_dir: Path,
    log: Callable[[str], None] = print,
    with_md: bool = True,
) -> dict[str, Any]:
    """Relaxation, then (``with_md``) MD at every temperature and the Arrhenius fit (cached)."""
    folder = work_dir / material.name / role
    folder.mkdir(parents=True, exist_ok=True)
    atoms = build_structure(material)
    relaxed = cached_json(
        folder / "relax.json",
        lambda: relax_material(atoms, calculators, role, config, folder),
    )
    if not with_md:
        return {"relax": relaxed, "md": []}
    cell = cast(Atoms, read(folder / "relaxed.extxyz"))
    repeat = config.md_repeat or material.md_repeat
    runs = []
    for temperature in config.temperatures_K:
        run = cached_json(
            folder / f"md_{temperature:g}K.json",
            functools.partial(md_run, cell, repeat, temperature, calculators, role, config, folder),
        )
        runs.append(li_diffusion(run, folder, config))
        log(f"  {material.name} {role} {temperature:g} K: {_run_line(runs[-1])}")
    return {"relax": relaxed, "md": runs, **arrhenius_summary(runs)}


def _run_line(run: dict[str, Any]) -> str:
    if "error" in run:
        return f"no D ({run['error'][:80]})"
    return f"D = {run['D_cm2_s']:.3g} ± {run['D_err_cm2_s']:.2g} cm²/s"


def material_record(
    material: SolidElectrolyte,
    models: dict[str, dict[str, Any]],
    teacher_spec: str | None,
) -> dict[str, Any]:
    """The ``results.json`` record of one material from its per-model results."""
    experiment = dict(zip(LATTICE_FIELDS, material.lattice))
    student = models["student"]
    teacher = models.get("teacher")
    lattice_student = student["relax"]["lattice"]
    lattice_teacher = teacher["relax"]["lattice"] if teacher else None
    record: dict[str, Any] = {
        "name": material.name,
        "formula": build_structure(material).get_chemical_formula(),
        "family": material.family,
        "space_group": material.space_group,
        "lattice_exp": experiment,
        "lattice_exp_source": material.source,
        "lattice_exp_to_check": material.check_source,
        "ordering": material.ordering,
        "lattice_student": lattice_student,
        "lattice_teacher": lattice_teacher,
        "lattice_err_pct_student_vs_exp": lattice_error_percent(lattice_student, experiment),
        "lattice_err_pct_teacher_vs_exp": lattice_error_percent(lattice_teacher, experiment),
        "lattice_err_pct_student_vs_teacher": lattice_error_percent(
            lattice_student, lattice_teacher
        ),
        "teacher": teacher_spec if teacher else None,
    }
    for role, result in models.items():
        if not result["md"]:
            continue
        record[f"diffusion_{role}"] = {
            "D_cm2_s": {f"{r['temperature_K']:g}": r.get("D_cm2_s") for r in result["md"]},
            "D_err_cm2_s": {f"{r['temperature_K']:g}": r.get("D_err_cm2_s") for r in result["md"]},
            **{k: result[k] for k in ("Ea_eV", "Ea_err_eV", "D300_cm2_s", "D300_err_cm2_s")},
            "runs": result["md"],
        }
    if teacher and teacher["md"]:
        record["D_ratio_student_over_teacher"] = _ratios(student["md"], teacher["md"])
    return record


def _ratios(student: list[dict], teacher: list[dict]) -> dict[str, float | None]:
    by_t = {r["temperature_K"]: r.get("D_cm2_s") for r in teacher}
    ratios = {}
    for run in student:
        d_s, d_t = run.get("D_cm2_s"), by_t.get(run["temperature_K"])
        known = d_s is not None and d_t is not None and d_t > 0
        ratios[f"{run['temperature_K']:g}"] = d_s / d_t if known else None  # type: ignore[operator]
    return ratios


@dataclass
class SolidBenchRun:
    """Outcome of :func:`run_solid_benchmark`: the records and where they were written."""

    records: list[dict[str, Any]]
    results_path: Path
    config: dict[str, Any] = field(default_factory=dict)


def run_solid_benchmark(
    config: SolidBenchConfig,
    calculators: BenchCalculators,
    out_dir: Path,
    work_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> SolidBenchRun:
    """Run (or continue) the benchmark; finished materials in ``results.json`` are kept."""
    config.validate()
    work_dir = work_dir or out_dir / "work"
    store = ResultStore(out_dir / "results.json")
    for name in config.materials:
        if store.has(name):
            log(f"{name}: done earlier, kept")
            continue
        material = SOLID_ELECTROLYTES[name]
        teacher_md = name in config.teacher_materials
        models = {"student": run_model(material, calculators, "student", config, work_dir, log)}
        if teacher_md or config.teacher_relax_all:
            models["teacher"] = run_model(
                material, calculators, "teacher", config, work_dir, log, with_md=teacher_md
            )
        teacher_spec = calculators.teacher_spec() if "teacher" in models else None
        store.put(material_record(material, models, teacher_spec))
        log(f"{name}: done")
    return SolidBenchRun(store.records(), store.path, asdict(config))
