"""A short hot Langevin run that liquids and amorphous packings go through before labelling.

The MD driver is the labelling run's (the teacher, a student, or none); without one, a
small rattle stands in. Temperatures are in K, timesteps in fs, friction in 1/fs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.units import fs, kB

from nanomlip.sampling.base import LazyMDCalculator
from nanomlip.sampling.geometry import distances_are_sane, draw_seed, rattle_positions
from nanomlip.sampling.options import check_non_negative


@dataclass
class MDSettings:
    """A short Langevin run at high temperature.

    Attributes:
        temperature: Thermostat and initial Maxwell-Boltzmann temperature (K).
        steps: Number of MD steps; 0 disables MD.
        timestep: Timestep (fs).
        friction: Langevin friction coefficient (1/fs).
    """

    temperature: float
    steps: int
    timestep: float = 0.5
    friction: float = 0.02

    @classmethod
    def from_options(cls, sampler: str, opts: dict[str, Any]) -> MDSettings:
        return cls(
            temperature=check_non_negative(sampler, "temperature", opts["temperature"]),
            steps=int(check_non_negative(sampler, "steps", opts["steps"])),
            timestep=check_non_negative(sampler, "timestep", opts["timestep"]),
            friction=check_non_negative(sampler, "friction", opts["friction"]),
        )


def hot_md(
    atoms: Atoms, calculator: Calculator, settings: MDSettings, seed: int
) -> tuple[np.ndarray, int]:
    """Run Langevin MD and return the last sane positions and the steps that produced them.

    The run stops early at the first snapshot that fails :func:`distances_are_sane` (a calculator
    that blows up must not yield broken frames).

    Args:
        atoms: Starting structure (not modified).
        calculator: Drives the dynamics.
        settings: Temperature, steps, timestep and friction.
        seed: Seeds the initial velocities and the thermostat noise.

    Returns:
        Positions (Å), shape ``(n, 3)``, and the number of MD steps behind them.
    """
    from ase.md.langevin import Langevin

    work = atoms.copy()
    work.calc = calculator
    noise = np.random.default_rng(seed)
    # Maxwell-Boltzmann momenta: p_i ~ N(0, m_i k_B T) per Cartesian component.
    scale = np.sqrt(work.get_masses() * kB * settings.temperature)
    work.set_momenta(noise.standard_normal((len(work), 3)) * scale[:, None])
    dynamics = Langevin(
        work,
        timestep=settings.timestep * fs,
        temperature_K=settings.temperature,
        friction=settings.friction / fs,
        fixcm=False,
        rng=noise,
        logfile=None,
    )
    last, done = atoms.positions.copy(), 0
    for _ in range(settings.steps):
        try:
            dynamics.run(1)
        except Exception:  # noqa: BLE001 - a driver refusing a collapsed frame: keep the last
            break
        if not distances_are_sane(work):
            break
        last, done = work.positions.copy(), done + 1
    work.calc = None
    return last, done


class HotMDMixin(LazyMDCalculator):
    """Shared MD handling: the calculator is made once per sampler, on first use."""

    md: MDSettings

    def _maybe_md(self, atoms: Atoms, rng: np.random.Generator, rattle: float) -> Atoms:
        """Hot MD when a calculator factory is set, otherwise a rattle of ``rattle`` Å."""
        seed = draw_seed(rng)
        calculator = self._md_calculator()
        if calculator is not None and self.md.steps > 0:
            positions, done = hot_md(atoms, calculator, self.md, seed)
            atoms.positions = positions
            atoms.info.update(md_steps=done, md_temperature=self.md.temperature)
            if done > 0:
                return atoms
        noise = np.random.default_rng(seed)
        for _ in range(10):
            trial = atoms.copy()
            trial.positions = rattle_positions(atoms.positions, noise, rattle)
            if distances_are_sane(trial):
                return trial
        return atoms
