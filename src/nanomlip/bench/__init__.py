"""Benchmarks: speed now; fidelity and physical properties as they land."""
