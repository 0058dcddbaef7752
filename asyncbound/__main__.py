"""``python -m asyncbound ...``: the same command line as the ``asyncbound`` console script."""

import sys

from asyncbound.checks.cli import main

sys.exit(main())
