"""The command line, `negsim`."""

from sim.cli.app import main

__all__ = ["main"]
