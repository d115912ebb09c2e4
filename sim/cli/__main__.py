"""`python -m sim.cli`: the same as `negsim`."""

import sys

from sim.cli.app import main

sys.exit(main())
