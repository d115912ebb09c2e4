"""`python -m sim.cli`: the same as `negsim`."""

import sys

from sim.cli.main import main

sys.exit(main())
