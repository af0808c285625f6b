"""Molecular dynamics driver: NVE, NVT and NPT with ASE integrators.

===================  ===========================================  =======================
``ensemble``         Integrator (ASE)                             Coupling parameters
===================  ===========================================  =======================
``nve``              ``VelocityVerlet``                           none
``nvt-langevin``     ``Langevin`` (BAOAB-like, stochastic)        friction γ (1/ps)
``nvt-nose-hoover``  ``NoseHooverChainNVT``                       τ_T (fs)
``npt-mtk``          ``IsotropicMTKNPT`` / ``MTKNPT`` (aniso)     τ_T, τ_P (fs)
``npt-berendsen``    ``NPTBerendsen`` / ``Inhomogeneous_...``     τ_T, τ_P (fs), bulk
                                                                  modulus B (GPa)
===================  ===========================================  =======================

Velocity Verlet advances ``p ← p + F dt/2; r ← r + p dt/m; p ← p + F(r) dt/2``; the
thermostats and barostats wrap that update. Defaults follow common practice and ASE's
advice: τ_T = 100 dt, τ_P = 1000 dt, γ = 10 ps⁻¹. Berendsen rescales the volume by
``μ³ = 1 - (dt / τ_P) (P₀ - P) / B``, so it needs an estimate of the bulk modulus B
(only the relaxation speed depends on it).

The run writes a trajectory frame every ``traj_every`` steps and a thermo row every
``log_every`` steps (both also at step 0 and the final step), flushing each write, and
stops with :class:`~nanomlip.md.errors.SimulationError` when the energy or forces become
non-finite or the temperature passes ``max_temperature_K``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import BaseCalculator
from ase.md.langevin import Langevin
from ase.md.md import MolecularDynamics
from ase.md.nose_hoover_chain import MTKNPT, IsotropicMTKNPT, NoseHooverChainNVT
from ase.md.nptberendsen import Inhomogeneous_NPTBerendsen, NPTBerendsen
from ase.md.verlet import VelocityVerlet

from nanomlip._progress import RateMeter, format_rate, progress_bar
from nanomlip.md.errors import SimulationError
from nanomlip.md.io import TrajectoryWriter, read_last_frame, trajectory_path
from nanomlip.md.settings import MDConfig, MDResult
from nanomlip.md.thermo import (
    ThermoLog,
    ThermoRow,
    energy_drift,
    temperature_K,
    thermo_row,
    truncate_thermo_log,
)

if TYPE_CHECKING:
    from nanomlip.md.trust import TrustCheck

#: Name of the thermo log inside the output directory.
THERMO_FILE: str = "thermo.csv"


def initialize_velocities(atoms: Atoms, temperature: float, rng: np.random.Generator) -> None:
    """Draw Maxwell-Boltzmann momenta at exactly ``temperature`` (K), without net drift.

    Each Cartesian component is drawn as ``p = sqrt(m k_B T) ξ`` with ξ ~ N(0, 1); the
    centre-of-mass momentum is then removed (``p_i ← p_i - m_i Σ_j p_j / Σ_j m_j``) and
    the momenta are rescaled so that 2K / (3 N k_B) = T exactly.

    Args:
        atoms: Structure; its momenta are overwritten.
        temperature: Target temperature, in K (0 gives zero momenta).
        rng: Random generator (seeded for reproducibility).
    """
    masses = atoms.get_masses()[:, None]
    if temperature <= 0 or len(atoms) == 0:
        atoms.set_momenta(np.zeros((len(atoms), 3)))
        return
    momenta = np.sqrt(masses * units.kB * temperature) * rng.standard_normal((len(atoms), 3))
    momenta -= masses * momenta.sum(axis=0) / masses.sum()
    atoms.set_momenta(momenta)
    current = temperature_K(atoms)
    if current > 0:
        atoms.set_momenta(momenta * math.sqrt(temperature / current))


def make_integrator(atoms: Atoms, config: MDConfig, rng: np.random.Generator) -> MolecularDynamics:
    """Build the ASE integrator for ``config.ensemble`` acting on ``atoms``.

    Args:
        atoms: Structure with a calculator and momenta.
        config: Run settings (validated).
        rng: Random generator for the Langevin noise.

    Returns:
        The integrator; advance it with ``step()``.
    """
    dt = config.timestep_fs * units.fs
    temperature = config.temperature_K
    pressure_au = config.pressure_GPa * units.GPa
    if config.ensemble == "nve":
        return VelocityVerlet(atoms, timestep=dt)
    if config.ensemble == "nvt-langevin":
        friction = config.friction_per_ps / (1000.0 * units.fs)
        # fixcm=False: ASE's centre-of-mass fix biases Langevin sampling for small systems.
        return Langevin(
            atoms, dt, temperature_K=temperature, friction=friction, fixcm=False, rng=rng
        )
    if config.ensemble == "nvt-nose-hoover":
        return NoseHooverChainNVT(atoms, dt, temperature_K=temperature, tdamp=config.tdamp)
    if config.ensemble == "npt-mtk":
        mtk = MTKNPT if config.anisotropic else IsotropicMTKNPT
        return mtk(
            atoms,
            dt,
            temperature_K=temperature,
            pressure_au=pressure_au,
            tdamp=config.tdamp,
            pdamp=config.pdamp,
        )
    berendsen = Inhomogeneous_NPTBerendsen if config.anisotropic else NPTBerendsen
    return berendsen(
        atoms,
        dt,
        temperature_K=temperature,
        pressure_au=pressure_au,
        taut=config.tdamp,
        taup=config.pdamp,
        compressibility_au=1.0 / (config.bulk_modulus_GPa * units.GPa),
    )


def check_ensemble_support(atoms: Atoms, config: MDConfig) -> None:
    """Raise ``ValueError`` when ``atoms`` cannot run ``config.ensemble``.

    NPT needs a structure periodic in all three directions and a calculator with stress;
    ASE's MTK integrators also refuse constraints.
    """
    if not config.is_npt:
        return
    if config.ensemble == "npt-mtk" and atoms.constraints:
        raise ValueError("npt-mtk does not support constraints; remove them or use npt-berendsen")
    if not atoms.pbc.all():
        raise ValueError(f"{config.ensemble} needs a structure periodic in all three directions")
    try:
        atoms.get_stress()
    except Exception as error:
        message = f"{config.ensemble} needs a calculator that gives stress: {error}"
        raise ValueError(message) from error


def check_stability(atoms: Atoms, step: int, time_ps: float, max_temperature: float) -> None:
    """Raise :class:`SimulationError` if the state at ``step`` is unphysical.

    Args:
        atoms: Current state with its calculator.
        step: Step index, for the message.
        time_ps: Simulated time, in ps, for the message.
        max_temperature: Temperature ceiling, in K.
    """
    where = f"step {step} (t = {time_ps:.6g} ps)"
    energy = atoms.get_potential_energy()
    if not math.isfinite(energy):
        raise SimulationError(f"{where}: the potential energy is {energy}")
    bad = int((~np.isfinite(atoms.get_forces())).any(axis=1).sum())
    if bad:
        raise SimulationError(f"{where}: forces are not finite (NaN/inf) on {bad} atom(s)")
    temperature = temperature_K(atoms)
    if not math.isfinite(temperature) or temperature > max_temperature:
        raise SimulationError(
            f"{where}: temperature {temperature:.1f} K exceeds the limit "
            f"{max_temperature:.1f} K (timestep too large or the model is extrapolating?)"
        )


def ns_per_day(steps: int, timestep_fs: float, wall_s: float) -> float:
    """Throughput: simulated ns per day of wall time (``steps · dt`` over ``wall_s``)."""
    if wall_s <= 0:
        return math.inf if steps else 0.0
    return steps * timestep_fs * 1e-6 / wall_s * 86400.0


def _start_outputs(out_dir: Path, config: MDConfig, start_step: int) -> list[ThermoRow]:
    """Prepare the output files; returns the thermo rows kept from an earlier run."""
    out_dir.mkdir(parents=True, exist_ok=True)
    trajectory = trajectory_path(out_dir, config.traj_format)
    thermo = out_dir / THERMO_FILE
    if start_step == 0:
        trajectory.unlink(missing_ok=True)
        thermo.unlink(missing_ok=True)
        return []
    return truncate_thermo_log(thermo, start_step) if thermo.is_file() else []


class _Progress:
    """Progress bar (or log lines) with live overall and steady-state ns/day."""

    def __init__(self, total: int, initial: int, enabled: bool, timestep_fs: float) -> None:
        self._bar = progress_bar(
            total, desc="md", unit="step", enabled=enabled, initial=initial, file=sys.stderr
        )
        self._fs = timestep_fs
        self.meter = RateMeter()

    def update(self, temperature: float) -> None:
        self.meter.tick()
        self._bar.update(1)
        self._bar.set_postfix(
            ns_day=format_rate(self.ns_per_day(self.meter.overall())),
            steady=format_rate(self.ns_per_day(self.meter.steady())),
            T=f"{temperature:.0f}K",
            refresh=False,
        )

    def ns_per_day(self, steps_per_second: float) -> float:
        """Simulated ns per day at ``steps_per_second``."""
        return steps_per_second * self._fs * 1e-6 * 86400.0

    def close(self) -> None:
        self._bar.close()


def run_md(
    atoms: Atoms,
    config: MDConfig,
    out_dir: str | Path,
    *,
    calculator: BaseCalculator | None = None,
    start_step: int = 0,
    start_time_ps: float = 0.0,
    progress: bool = False,
    on_step: Callable[[int, Atoms], None] | None = None,
    drift_from_step: int = 0,
    on_start: Callable[[Path], object] | None = None,
    trust: TrustCheck | None = None,
) -> MDResult:
    """Integrate ``atoms`` for ``config.steps`` steps, writing trajectory and thermo log.

    A fresh run (``start_step == 0``) draws Maxwell-Boltzmann velocities from
    ``config.seed`` and overwrites earlier output in ``out_dir`` (only once the first
    energy and forces are known to be finite); a continued run
    (see :func:`load_restart`) keeps the momenta of ``atoms``, drops thermo rows after
    ``start_step`` and appends. Thermostat chain and barostat variables restart from
    zero, and the Langevin noise is re-seeded from ``(seed, start_step)``, so a
    continued run is reproducible but not bit-identical to an uninterrupted one.

    Args:
        atoms: Initial state; advanced in place.
        config: Run settings.
        out_dir: Directory for ``trajectory.extxyz`` (or ``.traj``) and ``thermo.csv``.
        calculator: Any ASE calculator; ``None`` keeps the one attached to ``atoms``.
        start_step: Step index of ``atoms`` (0 for a fresh run).
        start_time_ps: Simulated time of ``atoms``, in ps.
        progress: Show a tqdm progress bar with live ns/day on stderr.
        on_step: Optional callback ``(step, atoms)`` after every step.
        drift_from_step: The NVE energy drift is fitted to the thermo rows from this step
            on (a run continued in NVE after an NVT stretch passes the switching step).
        on_start: Optional callback ``(out_dir)`` once the first state is checked and the
            output files are prepared (the command line writes its run record there).
        trust: Optional teacher spot checks (:mod:`nanomlip.md.trust`): their force
            errors go into extra thermo columns, and a check past its stop threshold
            ends the run with :class:`~nanomlip.md.trust.TrustError`.

    Returns:
        An :class:`MDResult`.

    Raises:
        ValueError: For invalid settings or an ensemble the structure cannot run.
        SimulationError: When the run becomes unstable; frames and rows written before
            are kept, and the message names the step and the last frame on disk.
    """
    config.validate()
    if calculator is not None:
        atoms.calc = calculator
    if atoms.calc is None:
        raise ValueError("md needs a calculator: pass one or attach it to the atoms")
    if start_step < 0:
        raise ValueError(f"start_step must be >= 0, got {start_step}")
    check_ensemble_support(atoms, config)
    out_dir = Path(out_dir)
    rng = np.random.default_rng([config.seed, start_step])
    if start_step == 0:
        initialize_velocities(atoms, config.temperature_K, rng)
    # Evaluate the first state before any file is touched: a bad start keeps old output.
    start = time.perf_counter()
    check_stability(atoms, start_step, start_time_ps, config.temperature_limit_K)
    recorder = _Recorder(atoms, config, out_dir, start_step, start_time_ps, trust)
    if on_start is not None:
        on_start(out_dir)
    dyn = make_integrator(atoms, config, rng)
    bar = _Progress(config.steps, min(start_step, config.steps), progress, config.timestep_fs)
    bar.meter.start = start  # the overall rate counts the first evaluation too
    try:
        step = _integrate(dyn, recorder, bar, on_step)
    except SimulationError as error:
        last = recorder.writer.last_step
        where = "none" if last is None else f"step {last}"
        raise type(error)(
            f"{error}; stopped, output kept up to the last frame written ({where}) in {out_dir}"
        ) from None
    finally:
        bar.close()
    wall = time.perf_counter() - start
    return MDResult(
        atoms=atoms,
        first_step=start_step,
        last_step=step,
        wall_s=wall,
        ns_per_day=ns_per_day(step - start_step, config.timestep_fs, wall),
        steady_ns_per_day=bar.ns_per_day(bar.meter.steady()),
        energy_drift_meV_atom_ps=recorder.drift(drift_from_step, len(atoms)),
        trajectory=recorder.writer.path,
        thermo=out_dir / THERMO_FILE,
    )


def _integrate(
    dyn: MolecularDynamics,
    recorder: _Recorder,
    bar: _Progress,
    on_step: Callable[[int, Atoms], None] | None,
) -> int:
    """Step ``dyn`` to ``config.steps``, recording as due; returns the last step taken."""
    atoms, config, step = recorder.atoms, recorder.config, recorder.start_step
    with ThermoLog(recorder.out_dir / THERMO_FILE, recorder.columns) as log:
        if step == 0:
            recorder.record(log, 0, final=config.steps == 0)
        while step < config.steps:
            dyn.step()  # type: ignore[attr-defined]  # every ASE integrator defines step
            dyn.nsteps += 1
            step += 1
            check_stability(atoms, step, recorder.time_at(step), config.temperature_limit_K)
            recorder.record(log, step, final=step == config.steps)
            if on_step is not None:
                on_step(step, atoms)
            bar.update(temperature_K(atoms))
    return step


class _Recorder:
    """Thermo rows, trajectory frames and teacher spot checks of one :func:`run_md` call.

    Creating it prepares the output files (:func:`_start_outputs`).
    """

    def __init__(
        self,
        atoms: Atoms,
        config: MDConfig,
        out_dir: Path,
        start_step: int,
        start_time_ps: float,
        trust: TrustCheck | None,
    ) -> None:
        self.atoms = atoms
        self.config = config
        self.out_dir = out_dir
        self.start_step = start_step
        self.start_time_ps = start_time_ps
        self.trust = trust
        self.history = _start_outputs(out_dir, config, start_step)
        self.writer = TrajectoryWriter(
            trajectory_path(out_dir, config.traj_format), config.traj_format
        )
        if start_step > 0:
            self.writer.last_step = start_step
        self.columns = trust.columns if trust is not None else ()

    def time_at(self, step: int) -> float:
        """Simulated time (ps) of ``step``."""
        return self.start_time_ps + (step - self.start_step) * self.config.timestep_fs * 1e-3

    def record(self, log: ThermoLog, step: int, final: bool) -> None:
        """Log, write and spot-check the state of ``step`` where due."""
        atoms, config, trust = self.atoms, self.config, self.trust
        sample = trust.measure(atoms, step) if trust is not None and trust.due(step) else None
        if step % config.log_every == 0 or final or sample is not None:
            row = thermo_row(atoms, step, self.time_at(step))
            log.write(row, sample.values() if sample is not None else ())
            self.history.append(row)
        if step % config.traj_every == 0 or final:
            self.writer.write(atoms, step, self.time_at(step))
        if sample is not None and trust is not None:
            trust.enforce(sample, self.time_at(step))

    def drift(self, from_step: int, num_atoms: int) -> float | None:
        """NVE energy drift (meV/atom/ps) over the rows from ``from_step``; ``None`` otherwise."""
        if self.config.ensemble != "nve":
            return None
        rows = [r for r in self.history if r.step >= from_step]
        return energy_drift([r.time_ps for r in rows], [r.etot_eV for r in rows], num_atoms)


def load_restart(out_dir: str | Path, traj_format: str = "extxyz") -> tuple[Atoms, int, float]:
    """State to continue a run from: the last frame of the trajectory in ``out_dir``.

    Args:
        out_dir: Output directory of an earlier :func:`run_md`.
        traj_format: Format of its trajectory.

    Returns:
        ``(atoms, step, time_ps)``: positions, momenta and cell of the last frame, and
        where it sits in the run; pass them to :func:`run_md` as ``atoms``,
        ``start_step`` and ``start_time_ps``.
    """
    return read_last_frame(trajectory_path(out_dir, traj_format))


def format_md_summary(result: MDResult, config: MDConfig) -> str:
    """One-line human summary of an :class:`MDResult`."""
    simulated_ps = result.steps_run * config.timestep_fs * 1e-3
    line = (
        f"md {config.ensemble}: {result.steps_run} steps (step {result.first_step} → "
        f"{result.last_step}, {simulated_ps:.4g} ps) in {result.wall_s:.2f} s, "
        f"{result.ns_per_day:.3g} ns/day overall, "
        f"{format_rate(result.steady_ns_per_day)} ns/day steady-state, "
        f"final T = {temperature_K(result.atoms):.1f} K"
    )
    if result.energy_drift_meV_atom_ps is not None:
        line += f", energy drift = {result.energy_drift_meV_atom_ps:.4g} meV/atom/ps"
    return line
