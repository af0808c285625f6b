"""Relaxations that keep their trajectory: one structure at a time, or many in lockstep.

Both run ASE's FIRE on a ``FrechetCellFilter`` (positions and cell) and return the same
frames: the start, the start again (ASE's observer at step 0), every step's structure and
the last one again, as the ``corpus`` sampler has always kept them.

:func:`relax_together` moves many structures with one batched teacher call per step
(:data:`nanomlip.teachers.Labeler`) instead of one call per structure and step: a
teacher's cost on a small cell is mostly fixed overhead, so a chunk's eight seeds relax in
about the time of one. Each structure keeps its own optimiser state and stops at its own
convergence, so the trajectories are those of :func:`relaxation_trajectory` to the
rounding of the batched evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence

from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.calculators.singlepoint import SinglePointCalculator

from nanomlip.teachers import Labeler


def bare_copy(atoms: Atoms) -> Atoms:
    """Numbers, positions, cell, pbc and info of ``atoms``; no calculator, no arrays."""
    copy = Atoms(atoms.numbers, atoms.positions, cell=atoms.cell.array, pbc=atoms.pbc)
    copy.info.update(atoms.info)
    return copy


def relaxation_trajectory(
    atoms: Atoms, calculator: Calculator, fmax: float, steps: int
) -> list[Atoms]:
    """Frames of a FIRE relaxation of positions and cell (ASE's ``FrechetCellFilter``).

    Args:
        atoms: Start structure (not modified).
        calculator: The driver.
        fmax: Convergence threshold on forces (eV/Å) and on the filter's stress term.
        steps: Largest number of optimiser steps.

    Returns:
        The start, every step's structure and the last one, without calculators.
    """
    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE

    moving = atoms.copy()
    moving.calc = calculator
    frames = [atoms.copy()]
    optimizer = FIRE(FrechetCellFilter(moving), logfile=None)
    optimizer.attach(lambda: frames.append(bare_copy(moving)), interval=1)
    optimizer.run(fmax=fmax, steps=steps)
    frames.append(bare_copy(moving))
    return frames


def relax_together(
    starts: Sequence[Atoms], labeler: Labeler, fmax: float, steps: int
) -> list[list[Atoms]]:
    """Relax every structure as :func:`relaxation_trajectory` does, one batched call per step.

    Args:
        starts: Start structures, 3D-periodic (stress drives the cell); not modified.
        labeler: Energies, forces and stresses of a list of structures in one call.
        fmax: Convergence threshold on forces (eV/Å) and on the filter's stress term.
        steps: Largest number of optimiser steps per structure.

    Returns:
        One trajectory per start, in order, framed as :func:`relaxation_trajectory`'s.

    Raises:
        Whatever ``labeler`` raises: callers that must isolate a failing structure relax it
        alone.
    """
    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE

    moving = [atoms.copy() for atoms in starts]
    optimizers = [FIRE(FrechetCellFilter(atoms), logfile=None) for atoms in moving]
    frames = [[atoms.copy()] for atoms in starts]
    active = list(range(len(moving)))
    _attach_labels([moving[i] for i in active], labeler)
    for optimizer in optimizers:
        optimizer.fmax = fmax
    while active:
        for i in active:
            frames[i].append(bare_copy(moving[i]))
        active = [
            i
            for i in active
            if optimizers[i].nsteps < steps
            and not optimizers[i].gradient_converged(optimizers[i].optimizable.get_gradient())
        ]
        for i in active:
            optimizers[i].step()
            optimizers[i].nsteps += 1
        if active:
            _attach_labels([moving[i] for i in active], labeler)
    for trajectory, atoms in zip(frames, moving, strict=True):
        trajectory.append(bare_copy(atoms))
    return frames


def _attach_labels(structures: list[Atoms], labeler: Labeler) -> None:
    """Give each structure a single-point calculator holding its label."""
    for atoms, label in zip(structures, labeler(structures), strict=True):
        atoms.calc = SinglePointCalculator(
            atoms, energy=label.energy, forces=label.forces, stress=label.stress
        )
