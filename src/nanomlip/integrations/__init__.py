"""Bridges to simulation engines (ASE today; LAMMPS and torch-sim later)."""

from nanomlip.integrations.ase_calculator import NanoCalculator

__all__ = ["NanoCalculator"]
