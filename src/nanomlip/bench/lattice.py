"""Relaxed lattice constants and energies of textbook crystals, students beside teachers.

Every model relaxes every compound of :func:`~nanomlip.bench.lattice_systems.textbook_compounds`
(cell and positions, ASE's ``FrechetCellFilter`` with BFGS, the space group held by ASE's
``FixSymmetry``) from the same experimental start. The conventional lattice constants
``a`` (and ``c`` for hexagonal, tetragonal and trigonal cells) come from spglib's
standardised cell. The first model named ``teacher`` (or the last model) is the reference:
each other model's lattice errors are relative to its constants, and its energy error is
the model's energy at the reference's relaxed structure minus the reference's, per atom.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from ase import Atoms

from nanomlip.bench.eos import unknown_elements
from nanomlip.bench.lattice_systems import Compound, textbook_compounds
from nanomlip.bench.models import BenchModel

#: Convergence of the relaxations, eV/Å (and the filter's scaled stress).
FMAX = 0.005
#: Largest number of optimiser steps per relaxation.
MAX_STEPS = 300


@dataclass
class Relaxation:
    """One model's relaxed compound.

    Attributes:
        a: Conventional ``a``, Å.
        c: Conventional ``c``, Å (``None`` for cubic crystals).
        volume_per_atom: Å^3.
        energy_per_atom: eV at the relaxed structure.
        steps: Optimiser steps.
        converged: Whether ``FMAX`` was reached.
        cell: Relaxed cell, Å, shape (3, 3); positions in ``positions``, shape (n, 3).
    """

    a: float
    c: float | None
    volume_per_atom: float
    energy_per_atom: float
    steps: int
    converged: bool
    cell: list[list[float]] = field(repr=False)
    positions: list[list[float]] = field(repr=False)

    def atoms(self, numbers: Sequence[int]) -> Atoms:
        return Atoms(numbers=numbers, positions=self.positions, cell=self.cell, pbc=True)


@dataclass
class CompoundResult:
    """All models on one compound; ``skipped`` says why a model has no result."""

    name: str
    family: str
    numbers: list[int]
    start_a: float
    start_c: float | None
    relaxed: dict[str, Relaxation] = field(default_factory=dict)
    energy_at_reference: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def conventional_constants(atoms: Atoms, hexagonal: bool) -> tuple[float, float | None]:
    """``(a, c)`` of the spglib-standardised conventional cell (``c`` only if asked)."""
    import spglib

    cell = (atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers)
    standard = spglib.standardize_cell(cell, to_primitive=False, symprec=1e-3)
    lengths = np.linalg.norm(standard[0], axis=1) if standard else atoms.cell.lengths()
    return float(lengths[0]), float(lengths[2]) if hexagonal else None


def relax_compound(model: BenchModel, compound: Compound) -> Relaxation:
    """Relax ``compound`` with ``model`` under its own symmetry (cell and positions)."""
    from ase.constraints import FixSymmetry

    from nanomlip.md.relax import relax

    atoms = compound.atoms()
    atoms.set_constraint(FixSymmetry(atoms, symprec=1e-3))
    result = relax(atoms, model.calculator, fmax=FMAX, steps=MAX_STEPS, optimizer="BFGS", cell=True)
    atoms.set_constraint()
    a, c = conventional_constants(atoms, compound.c is not None)
    return Relaxation(
        a=a,
        c=c,
        volume_per_atom=float(atoms.get_volume()) / len(atoms),
        energy_per_atom=result.energy_eV / len(atoms),
        steps=result.steps,
        converged=result.converged,
        cell=atoms.cell.array.tolist(),
        positions=atoms.positions.tolist(),
    )


def reference_label(models: Sequence[BenchModel]) -> str:
    """The first teacher's label, or the last model's."""
    teachers = [m.label for m in models if m.kind == "teacher"]
    return teachers[0] if teachers else models[-1].label


def run_lattice_benchmark(
    models: Sequence[BenchModel], names: Sequence[str] | None = None, progress: bool = True
) -> list[CompoundResult]:
    """Relax every compound (or those in ``names``) with every model.

    Raises:
        ValueError: ``names`` holds a compound that is not in the set.
    """
    compounds = textbook_compounds()
    if names is not None:
        unknown = sorted(set(names) - {c.name for c in compounds})
        if unknown:
            raise ValueError(
                f"unknown compounds {unknown}; choose from {[c.name for c in compounds]}"
            )
        compounds = [c for c in compounds if c.name in set(names)]
    reference = reference_label(models)
    results = []
    for compound in compounds:
        result = _evaluate_compound(models, compound, reference)
        if progress:
            print(_progress_line(result, reference), flush=True)
        results.append(result)
    return results


def _evaluate_compound(
    models: Sequence[BenchModel], compound: Compound, reference: str
) -> CompoundResult:
    atoms = compound.atoms()
    result = CompoundResult(
        compound.name, compound.family, atoms.numbers.tolist(), compound.a, compound.c
    )
    for model in models:
        missing = unknown_elements(atoms, model.elements)
        if missing:
            result.skipped[model.label] = f"elements unknown to the model: {missing}"
            continue
        try:
            result.relaxed[model.label] = relax_compound(model, compound)
        except (ValueError, RuntimeError, NotImplementedError) as error:
            result.skipped[model.label] = f"{type(error).__name__}: {error}"
    if reference in result.relaxed:
        at_reference = result.relaxed[reference].atoms(result.numbers)
        for model in models:
            if model.label in result.relaxed:
                at_reference.calc = model.calculator
                energy = float(at_reference.get_potential_energy()) / len(at_reference)
                result.energy_at_reference[model.label] = energy
    return result


def lattice_errors_percent(result: CompoundResult, label: str, reference: str) -> list[float]:
    """Signed errors (%) of ``a`` and (if any) ``c`` of ``label`` against ``reference``."""
    if label not in result.relaxed or reference not in result.relaxed:
        return []
    model, ref = result.relaxed[label], result.relaxed[reference]
    errors = [100.0 * (model.a - ref.a) / ref.a]
    if model.c is not None and ref.c is not None:
        errors.append(100.0 * (model.c - ref.c) / ref.c)
    return errors


def energy_error_meV(result: CompoundResult, label: str, reference: str) -> float | None:
    """``E_label - E_reference`` at the reference's relaxed structure, meV/atom."""
    energies = result.energy_at_reference
    if label not in energies or reference not in energies:
        return None
    return 1000.0 * (energies[label] - energies[reference])


@dataclass(frozen=True)
class LatticeSummary:
    """One model against the reference, over the compounds both relaxed.

    Attributes:
        label: The model.
        compounds: Number of compounds compared.
        mean_abs_error_percent: Mean |error| of every lattice constant, %.
        max_abs_error_percent: Largest |error|, %.
        worst: Compound of the largest error.
        within_1_percent: Share of compounds whose every constant is within 1 %.
        energy_mae_meV: Mean |energy error| at the reference's structures, meV/atom.
        by_family: Mean |lattice error| per family, %.
    """

    label: str
    compounds: int
    mean_abs_error_percent: float
    max_abs_error_percent: float
    worst: str
    within_1_percent: float
    energy_mae_meV: float
    by_family: dict[str, float]


def summarize(results: Sequence[CompoundResult], reference: str) -> list[LatticeSummary]:
    """A :class:`LatticeSummary` for every model but the reference."""
    labels = sorted({label for r in results for label in r.relaxed} - {reference})
    summaries = []
    for label in labels:
        per_compound = {r.name: lattice_errors_percent(r, label, reference) for r in results}
        per_compound = {name: errors for name, errors in per_compound.items() if errors}
        if not per_compound:
            continue
        flat = np.abs(np.concatenate([np.array(e) for e in per_compound.values()]))
        worst = max(per_compound, key=lambda name: max(abs(e) for e in per_compound[name]))
        energies = [energy_error_meV(r, label, reference) for r in results]
        families: dict[str, list[float]] = {}
        for r in results:
            if r.name in per_compound:
                families.setdefault(r.family, []).extend(abs(e) for e in per_compound[r.name])
        summaries.append(
            LatticeSummary(
                label=label,
                compounds=len(per_compound),
                mean_abs_error_percent=float(flat.mean()),
                max_abs_error_percent=float(flat.max()),
                worst=worst,
                within_1_percent=float(
                    np.mean([max(abs(e) for e in errs) <= 1.0 for errs in per_compound.values()])
                ),
                energy_mae_meV=float(np.mean([abs(e) for e in energies if e is not None])),
                by_family={f: float(np.mean(v)) for f, v in families.items()},
            )
        )
    return summaries


def _progress_line(result: CompoundResult, reference: str) -> str:
    parts = []
    for label, relaxed in result.relaxed.items():
        errors = lattice_errors_percent(result, label, reference) if label != reference else []
        detail = f" ({', '.join(f'{e:+.2f}%' for e in errors)})" if errors else ""
        parts.append(f"{label} a={relaxed.a:.4f}{detail}")
    parts += [f"{label} skipped" for label in result.skipped]
    return f"{result.name:>16}: " + "; ".join(parts)
