"""Geometry optimisation of positions and, optionally, the cell.

The cell is relaxed with :class:`ase.filters.FrechetCellFilter`, which adds the cell
deformation (log of the deformation gradient) to the degrees of freedom and, for a
target pressure P, minimises the enthalpy H = E + P V. Convergence means that every
generalised force, atomic forces (eV/Å) and the filter's scaled stress components alike,
is below ``fmax``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import BaseCalculator
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS, FIRE
from ase.optimize.optimize import Optimizer

from nanomlip.md.errors import SimulationError

#: Optimizers selectable by name (upper case).
OPTIMIZERS: dict[str, type[Optimizer]] = {"FIRE": FIRE, "BFGS": BFGS}


@dataclass(frozen=True)
class RelaxResult:
    """Outcome of :func:`relax`.

    Attributes:
        atoms: The relaxed structure (the input object, modified in place).
        energy_eV: Final potential energy, in eV.
        max_force_eV_A: Largest atomic force norm at the end, in eV/Å.
        steps: Optimizer steps taken.
        converged: Whether ``fmax`` was reached within the step budget.
        volume_A3: Final cell volume in Å³, ``None`` when not periodic.
        pressure_GPa: Final virial pressure -tr(σ)/3 in GPa, ``None`` when not periodic
            or when the calculator gives no stress.
    """

    atoms: Atoms
    energy_eV: float
    max_force_eV_A: float
    steps: int
    converged: bool
    volume_A3: float | None
    pressure_GPa: float | None


def _check_finite(atoms: Atoms, step: int) -> None:
    energy = atoms.get_potential_energy()
    forces = atoms.get_forces()
    if not math.isfinite(energy):
        raise SimulationError(f"step {step}: the potential energy is {energy}")
    bad = int((~np.isfinite(forces)).any(axis=1).sum())
    if bad:
        raise SimulationError(f"step {step}: forces are not finite on {bad} atom(s)")


def _virial_pressure_GPa(atoms: Atoms) -> float | None:
    if not atoms.pbc.all():
        return None
    try:
        stress = atoms.get_stress(voigt=False)
    except Exception:  # the calculator may simply not implement stress
        return None
    return float(-np.trace(stress) / 3.0 / units.GPa)


def relax(
    atoms: Atoms,
    calculator: BaseCalculator | None = None,
    *,
    fmax: float = 0.05,
    steps: int = 500,
    optimizer: str = "FIRE",
    cell: bool = False,
    pressure_GPa: float = 0.0,
    logfile: str | Path | IO[str] | None = None,
    trajectory: str | Path | None = None,
) -> RelaxResult:
    """Minimise the energy (or enthalpy) of ``atoms`` in place.

    Args:
        atoms: Structure to relax; modified in place.
        calculator: Any ASE calculator; ``None`` keeps the one attached to ``atoms``.
        fmax: Convergence threshold on the largest force, in eV/Å.
        steps: Maximum number of optimizer steps.
        optimizer: ``"FIRE"`` or ``"BFGS"`` (case-insensitive).
        cell: Relax the cell as well, via :class:`ase.filters.FrechetCellFilter`.
        pressure_GPa: Target hydrostatic pressure for a cell relaxation, in GPa.
        logfile: Optimizer log (path, open file, ``"-"`` for stdout, or ``None``).
        trajectory: Optional ASE ``.traj`` file recording every step.

    Returns:
        A :class:`RelaxResult`.

    Raises:
        ValueError: For invalid options (unknown optimizer, non-positive ``fmax``,
            negative ``steps``, a pressure without ``cell``, a cell relaxation of a
            non-periodic structure, no calculator).
        SimulationError: If the energy or forces become NaN or infinite.
    """
    name = optimizer.upper()
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {sorted(OPTIMIZERS)}")
    if not fmax > 0:
        raise ValueError(f"fmax must be positive, got {fmax}")
    if steps < 0:
        raise ValueError(f"steps must be zero or positive, got {steps}")
    if pressure_GPa != 0.0 and not cell:
        raise ValueError("a target pressure needs a cell relaxation (cell=True / --cell)")
    if cell and not atoms.pbc.all():
        raise ValueError("a cell relaxation needs a structure periodic in all three directions")
    if calculator is not None:
        atoms.calc = calculator
    if atoms.calc is None:
        raise ValueError("relax needs a calculator: pass one or attach it to the atoms")

    target: Atoms | FrechetCellFilter = atoms
    if cell:
        target = FrechetCellFilter(atoms, scalar_pressure=pressure_GPa * units.GPa)
    opt = OPTIMIZERS[name](cast(Atoms, target), logfile=logfile, trajectory=trajectory)
    opt.attach(lambda: _check_finite(atoms, opt.nsteps), interval=1)
    with opt:
        converged = bool(opt.run(fmax=fmax, steps=steps))

    forces = atoms.get_forces()
    return RelaxResult(
        atoms=atoms,
        energy_eV=float(atoms.get_potential_energy()),
        max_force_eV_A=float(np.linalg.norm(forces, axis=1).max()) if len(atoms) else 0.0,
        steps=int(opt.nsteps),
        converged=converged,
        volume_A3=float(atoms.get_volume()) if atoms.pbc.all() else None,
        pressure_GPa=_virial_pressure_GPa(atoms),
    )


def format_relax_summary(result: RelaxResult) -> str:
    """One-line human summary of a :class:`RelaxResult`."""
    atoms = result.atoms
    line = (
        f"{atoms.get_chemical_formula()}: E = {result.energy_eV:.6f} eV "
        f"({result.energy_eV / max(len(atoms), 1):.6f} eV/atom), "
        f"max|F| = {result.max_force_eV_A:.4f} eV/Å, steps = {result.steps}, "
        f"{'converged' if result.converged else 'NOT converged'}"
    )
    if result.volume_A3 is not None:
        line += f", V = {result.volume_A3:.4f} Å³"
    if result.pressure_GPa is not None:
        line += f", P = {result.pressure_GPa:.4f} GPa"
    return line
