"""The command line, `negsim`."""

from sim.cli.main import main

__all__ = ["main"]
