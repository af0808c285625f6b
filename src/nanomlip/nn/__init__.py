"""Equivariant building blocks of the student model (TorchScript-safe)."""

from nanomlip.nn.gate import Gate
from nanomlip.nn.interaction import Interaction, RadialMLP
from nanomlip.nn.radial import BesselBasis, PolynomialEnvelope

__all__ = ["BesselBasis", "Gate", "Interaction", "PolynomialEnvelope", "RadialMLP"]
