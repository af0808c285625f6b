"""Command-line interface: one module per sub-command, each kept thin."""
