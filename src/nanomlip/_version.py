"""The one version string of nanomlip; ``pyproject.toml`` reads it (setuptools dynamic version)."""

__version__ = "0.1.0"
