"""`python -m sim`: the negsim command."""

import sys

from sim.cli import main

sys.exit(main())
