"""Settings and result of a molecular-dynamics run (:func:`nanomlip.md.dynamics.run_md`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ase import Atoms, units

from nanomlip.md.io import TRAJECTORY_FORMATS

#: Ensembles understood by :func:`nanomlip.md.dynamics.make_integrator`.
ENSEMBLES: tuple[str, ...] = (
    "nve",
    "nvt-langevin",
    "nvt-nose-hoover",
    "npt-mtk",
    "npt-berendsen",
)

#: Temperature ceiling (K) for NVE runs and for a target temperature of 0 K.
DEFAULT_NVE_MAX_TEMPERATURE_K: float = 5000.0

#: Settings of :class:`MDConfig` that must be finite numbers (or ``None``).
_FLOAT_SETTINGS = (
    "temperature_K",
    "pressure_GPa",
    "timestep_fs",
    "max_temperature_K",
    "friction_per_ps",
    "tdamp_fs",
    "pdamp_fs",
    "bulk_modulus_GPa",
)


@dataclass(frozen=True)
class MDConfig:
    """Settings of an MD run.

    Attributes:
        ensemble: One of :data:`ENSEMBLES`.
        temperature_K: Target temperature (thermostats) and initial-velocity
            temperature (all ensembles), in K.
        pressure_GPa: Target pressure for NPT, in GPa.
        timestep_fs: Integration time step dt, in fs.
        steps: Total number of steps of the run; a restart continues up to this number.
        seed: Seed of the initial Maxwell-Boltzmann velocities and the Langevin noise.
        traj_every: Write a trajectory frame every this many steps.
        log_every: Write a thermo row every this many steps.
        traj_format: ``"extxyz"`` or ``"traj"``.
        anisotropic: Let the three cell vectors fluctuate independently (NPT only).
        max_temperature_K: Stop above this temperature, in K; ``None`` means 10 × the
            target, or :data:`DEFAULT_NVE_MAX_TEMPERATURE_K` for NVE (unless 10 × the
            initial temperature is higher) and for a 0 K target.
        friction_per_ps: Langevin friction γ, in 1/ps.
        tdamp_fs: Thermostat time constant τ_T, in fs; ``None`` means 100 dt.
        pdamp_fs: Barostat time constant τ_P, in fs; ``None`` means 1000 dt.
        bulk_modulus_GPa: Bulk modulus estimate B for the Berendsen barostat, in GPa.
    """

    ensemble: str = "nvt-langevin"
    temperature_K: float = 300.0
    pressure_GPa: float = 0.0
    timestep_fs: float = 1.0
    steps: int = 1000
    seed: int = 0
    traj_every: int = 10
    log_every: int = 10
    traj_format: str = "extxyz"
    anisotropic: bool = False
    max_temperature_K: float | None = None
    friction_per_ps: float = 10.0
    tdamp_fs: float | None = None
    pdamp_fs: float | None = None
    bulk_modulus_GPa: float = 100.0

    @property
    def is_npt(self) -> bool:
        """Whether the ensemble changes the cell."""
        return self.ensemble.startswith("npt")

    @property
    def temperature_limit_K(self) -> float:
        """The temperature above which the run is stopped, in K."""
        if self.max_temperature_K is not None:
            return self.max_temperature_K
        if self.ensemble == "nve":
            return max(DEFAULT_NVE_MAX_TEMPERATURE_K, 10.0 * self.temperature_K)
        if self.temperature_K <= 0:
            return DEFAULT_NVE_MAX_TEMPERATURE_K
        return 10.0 * self.temperature_K

    @property
    def tdamp(self) -> float:
        """Thermostat time constant τ_T in ASE time units."""
        return (self.tdamp_fs or 100.0 * self.timestep_fs) * units.fs

    @property
    def pdamp(self) -> float:
        """Barostat time constant τ_P in ASE time units."""
        return (self.pdamp_fs or 1000.0 * self.timestep_fs) * units.fs

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first invalid setting."""
        for name in _FLOAT_SETTINGS:
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value}")
        checks: list[tuple[bool, str]] = [
            (
                self.ensemble in ENSEMBLES,
                f"unknown ensemble {self.ensemble!r}; choose one of {list(ENSEMBLES)}",
            ),
            (self.timestep_fs > 0, f"the timestep must be positive, got {self.timestep_fs} fs"),
            (self.steps >= 0, f"steps must be zero or positive, got {self.steps}"),
            (self.temperature_K >= 0, f"temperature must be >= 0 K, got {self.temperature_K}"),
            (self.traj_every >= 1, f"traj_every must be >= 1, got {self.traj_every}"),
            (self.log_every >= 1, f"log_every must be >= 1, got {self.log_every}"),
            (
                self.traj_format in TRAJECTORY_FORMATS,
                f"unknown trajectory format {self.traj_format!r}; "
                f"choose one of {list(TRAJECTORY_FORMATS)}",
            ),
            (self.is_npt or not self.anisotropic, "anisotropic applies only to NPT ensembles"),
            (self.friction_per_ps > 0, "the Langevin friction must be positive"),
            ((self.tdamp_fs or 1.0) > 0, "the thermostat time constant must be positive"),
            ((self.pdamp_fs or 1.0) > 0, "the barostat time constant must be positive"),
            (self.bulk_modulus_GPa > 0, "the bulk modulus must be positive"),
            (self.temperature_limit_K > 0, "the maximum temperature must be positive"),
            (
                self.ensemble == "nve" or self.temperature_K > 0,
                f"{self.ensemble} needs a positive target temperature",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


@dataclass(frozen=True)
class MDResult:
    """Outcome of :func:`run_md`.

    Attributes:
        atoms: Final state (the input object, advanced in place).
        first_step: Step the run started from (0, or the restart step).
        last_step: Step the run ended at.
        wall_s: Wall time of the integration loop, in s.
        ns_per_day: Simulated nanoseconds per day of wall time (start-up included).
        steady_ns_per_day: The same without the first 10 % of the steps, where start-up
            costs fall (see :class:`nanomlip._progress.RateMeter`); ``nan`` under two steps.
        energy_drift_meV_atom_ps: NVE energy drift from a linear fit of E_tot(t) over
            the logged rows from ``drift_from_step`` of :func:`run_md` on (restarts
            included), in meV/atom/ps; ``None`` otherwise.
        trajectory: Path of the trajectory file.
        thermo: Path of the thermo log.
    """

    atoms: Atoms
    first_step: int
    last_step: int
    wall_s: float
    ns_per_day: float
    steady_ns_per_day: float
    energy_drift_meV_atom_ps: float | None
    trajectory: Path
    thermo: Path

    @property
    def steps_run(self) -> int:
        """Number of steps integrated by this call."""
        return self.last_step - self.first_step
