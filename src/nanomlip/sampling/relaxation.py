"""Relaxations that keep their trajectory: one structure at a time, or many in lockstep.

Both run ASE's FIRE on a ``FrechetCellFilter`` (positions and cell) and return the same
frames: the start, the start again (ASE's observer at step 0), every step's structure and
the last one again, as the ``corpus`` sampler has always kept them.

:func:`relax_together` moves many structures with one batched teacher call per step
(:data:`nanomlip.teachers.Labeler`) instead of one call per structure and step. Where a
teacher's cost on a small cell is mostly fixed overhead (a GPU), a chunk's eight seeds relax
in about the time of one; on one CPU thread the cost is per atom and batching is neutral.
Each structure keeps its own optimiser state and stops at its own convergence, so the
trajectories are those of :func:`relaxation_trajectory` to the rounding of the batched
evaluation. Its frames keep the driver's label as a ``SinglePointCalculator``
(:func:`driver_label`): where the driver is the teacher, frames along a trajectory need no
second teacher call.
"""

from __future__ import annotations

from collections.abc import Sequence

from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.calculators.singlepoint import SinglePointCalculator

from nanomlip.teachers import Label, Labeler

#: ``atoms.info`` key of a frame whose calculator holds the MD driver's label.
INFO_DRIVER_LABEL = "driver_label"


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
    active = list(range(len(moving)))
    _attach_labels([moving[i] for i in active], labeler)
    frames = [[labelled_copy(atoms)] for atoms in moving]  # the start
    for optimizer in optimizers:
        optimizer.fmax = fmax
    while active:
        for i in active:
            frames[i].append(labelled_copy(moving[i]))
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
        trajectory.append(labelled_copy(atoms))
    return frames


def labelled_copy(atoms: Atoms) -> Atoms:
    """:func:`bare_copy` that keeps the label ``atoms``' single-point calculator holds."""
    copy = bare_copy(atoms)
    label = driver_label(atoms)
    return copy if label is None else attach_label(copy, label)


def attach_label(atoms: Atoms, label: Label) -> Atoms:
    """Give ``atoms`` a single-point calculator holding ``label``, marked as the driver's."""
    results = {"energy": label.energy, "forces": label.forces}
    if label.stress is not None:
        results["stress"] = label.stress
    if label.energies is not None:
        results["energies"] = label.energies
    atoms.calc = SinglePointCalculator(atoms, **results)
    atoms.info[INFO_DRIVER_LABEL] = True
    return atoms


def driver_label(atoms: Atoms) -> Label | None:
    """The MD driver's label that a frame carries (:func:`attach_label`), else ``None``.

    ``None`` too when the frame moved after it was labelled (positions or cell changed).
    """
    calc = atoms.calc
    if not atoms.info.get(INFO_DRIVER_LABEL) or not isinstance(calc, SinglePointCalculator):
        return None
    if calc.check_state(atoms):
        return None
    results = calc.results
    stress = results.get("stress")
    return Label(
        energy=float(results["energy"]),
        forces=results["forces"],
        stress=stress if atoms.pbc.all() and stress is not None else None,
        energies=results.get("energies"),
    )


def _attach_labels(structures: list[Atoms], labeler: Labeler) -> None:
    """Give each structure a single-point calculator holding its label."""
    for atoms, label in zip(structures, labeler(structures), strict=True):
        attach_label(atoms, label)
