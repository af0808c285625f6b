"""Errors raised by the simulation drivers."""

from __future__ import annotations


class SimulationError(RuntimeError):
    """A simulation became unphysical: non-finite energy or forces, or runaway heating.

    The message names the step and what went wrong; files written before the failure
    are complete and flushed.
    """
