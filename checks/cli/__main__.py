"""``python -m asyncbound.checks.cli ...``: the same command line as the console script."""

import sys

from asyncbound.checks.cli import main

sys.exit(main())
