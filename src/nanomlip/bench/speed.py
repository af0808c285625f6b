"""Time per atom per MD step of nanomlip students and peer potentials, in one run.

Each "step" is what an MD step costs through the ASE calculator interface: the
positions change, then energy, forces and stress are computed (neighbour list
included). Random (untrained) student weights run at the same speed as trained
ones, since the work does not depend on the values of the weights.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from ase import Atoms
from ase.build import bulk
from ase.calculators.calculator import Calculator


@dataclass
class SpeedResult:
    """One (model, system size) measurement."""

    model: str
    system: str
    num_atoms: int
    seconds_per_step: float
    microseconds_per_atom_step: float
    steps: int


def rattled_diamond_si(repeat: int, seed: int = 0, amplitude: float = 0.05) -> Atoms:
    """Diamond Si, conventional 8-atom cell repeated ``repeat``³ times, rattled (Å)."""
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat((repeat, repeat, repeat))
    atoms.rattle(amplitude, seed=seed)
    return atoms


def time_steps(calculator: Calculator, atoms: Atoms, steps: int = 3, warmup: int = 1) -> float:
    """Median wall time (s) of one energy+forces+stress evaluation after small moves."""
    atoms = atoms.copy()
    atoms.calc = calculator
    rng = np.random.default_rng(0)
    timings = []
    for step in range(warmup + steps):
        atoms.positions += rng.normal(scale=1e-3, size=atoms.positions.shape)
        start = time.perf_counter()
        atoms.get_potential_energy()
        atoms.get_forces()
        atoms.get_stress()
        if step >= warmup:
            timings.append(time.perf_counter() - start)
    return float(np.median(timings))


def student_factory(preset: str) -> Callable[[], Calculator]:
    def make() -> Calculator:
        from nanomlip import NanoCalculator, build_model

        return NanoCalculator(model=build_model(preset), dtype="float32")

    return make


def sevennet_factory(name: str) -> Callable[[], Calculator]:
    def make() -> Calculator:
        import warnings

        from sevenn.calculator import SevenNetCalculator

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SevenNetCalculator(name, device="cpu")

    return make


def run_speed_benchmark(
    models: dict[str, Callable[[], Calculator]],
    repeats: Sequence[int] = (2, 4, 6),
    steps: int = 3,
    threads: int = 2,
    log: Callable[[str], None] = print,
) -> list[SpeedResult]:
    """Measure every model on every system size in this one process.

    Args:
        models: ``label -> factory`` returning an ASE calculator.
        repeats: Cubic repeats of the 8-atom diamond Si cell (2, 4, 6 -> 64, 512, 1728 atoms).
        steps: Timed steps per measurement (after one warm-up step).
        threads: ``torch.set_num_threads`` for the whole run.
        log: Where progress lines go.
    """
    torch.set_num_threads(threads)
    results = []
    for label, factory in models.items():
        calculator = factory()
        for repeat in repeats:
            atoms = rattled_diamond_si(repeat)
            seconds = time_steps(calculator, atoms, steps=steps)
            result = SpeedResult(
                model=label,
                system="rattled diamond Si",
                num_atoms=len(atoms),
                seconds_per_step=seconds,
                microseconds_per_atom_step=seconds / len(atoms) * 1e6,
                steps=steps,
            )
            per_atom = result.microseconds_per_atom_step
            log(f"{label:>14s} {len(atoms):6d} atoms {per_atom:10.1f} µs/atom/step")
            results.append(result)
    return results


def speed_table(results: Sequence[SpeedResult], reference: str | None) -> str:
    """Markdown table of µs/atom/step, with the speed-up over ``reference`` where measured."""
    sizes = sorted({r.num_atoms for r in results})
    by_key = {(r.model, r.num_atoms): r.microseconds_per_atom_step for r in results}
    labels = list(dict.fromkeys(r.model for r in results))
    header = "| model | " + " | ".join(f"{n} atoms" for n in sizes) + " |"
    lines = [header, "|---" * (len(sizes) + 1) + "|"]
    for label in labels:
        cells = []
        for n in sizes:
            value = by_key.get((label, n))
            if value is None:
                cells.append("-")
                continue
            text = f"{value:,.1f} µs"
            ref = by_key.get((reference, n)) if reference else None
            if ref and label != reference:
                text += f" ({ref / value:,.0f}x)"
            cells.append(text)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(results: Sequence[SpeedResult], path: Path, command: str, threads: int) -> None:
    """Save results with the machine description and the command that made them."""
    payload = {
        "command": command,
        "threads": threads,
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "note": "student weights are untrained; speed does not depend on weight values",
        "results": [asdict(r) for r in results],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2))
