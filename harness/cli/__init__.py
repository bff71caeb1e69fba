"""The ``harness`` command line: one entry point, one module per verb."""

from harness.cli.main import main

__all__ = ["main"]
