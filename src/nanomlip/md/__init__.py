"""Simulation drivers: geometry relaxation and molecular dynamics with any ASE calculator."""

from nanomlip.md.dispersion import D3Dispersion, make_dispersion, with_dispersion
from nanomlip.md.dynamics import (
    format_md_summary,
    initialize_velocities,
    load_restart,
    make_integrator,
    run_md,
)
from nanomlip.md.errors import SimulationError
from nanomlip.md.io import (
    TrajectoryWriter,
    make_supercell,
    read_last_frame,
    read_structure,
)
from nanomlip.md.observables import (
    ArrheniusFit,
    Diffusion,
    block_average,
    density_series,
    diffusivity,
    displacements,
    fit_arrhenius,
    radial_distribution,
)
from nanomlip.md.relax import OPTIMIZERS, RelaxResult, format_relax_summary, relax
from nanomlip.md.settings import ENSEMBLES, MDConfig, MDResult
from nanomlip.md.thermo import (
    THERMO_COLUMNS,
    ThermoLog,
    ThermoRow,
    density_g_cm3,
    energy_drift,
    pressure_GPa,
    read_thermo_log,
    temperature_K,
    thermo_row,
)

__all__ = [
    "D3Dispersion",
    "make_dispersion",
    "with_dispersion",
    "ArrheniusFit",
    "Diffusion",
    "block_average",
    "density_series",
    "diffusivity",
    "displacements",
    "fit_arrhenius",
    "radial_distribution",
    "ENSEMBLES",
    "OPTIMIZERS",
    "THERMO_COLUMNS",
    "MDConfig",
    "MDResult",
    "RelaxResult",
    "SimulationError",
    "ThermoLog",
    "ThermoRow",
    "TrajectoryWriter",
    "density_g_cm3",
    "energy_drift",
    "format_md_summary",
    "format_relax_summary",
    "initialize_velocities",
    "load_restart",
    "make_integrator",
    "make_supercell",
    "pressure_GPa",
    "read_last_frame",
    "read_structure",
    "read_thermo_log",
    "relax",
    "run_md",
    "temperature_K",
    "thermo_row",
]
