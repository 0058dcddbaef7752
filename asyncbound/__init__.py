"""asyncbound: check asynchronous stochastic optimization algorithms against their theorems.

The distribution installs this one top-level package. Its four layers live in the repository's
top-level folders and are imported under this namespace (``pyproject.toml`` maps them):

- :mod:`asyncbound.theory`: symbols, assumptions, bounds with provenance (sympy, never torch);
- :mod:`asyncbound.implementations`: rules, patterns, delays, problems, traces, backends
  (torch, never sympy);
- :mod:`asyncbound.checks`: measurement, verdicts, the suite and the command line;
- :mod:`asyncbound.reports`: stored records to one self-contained HTML page (never torch).

Importing ``asyncbound`` itself is cheap: it imports none of them.
"""

from __future__ import annotations

__version__ = "0.2.0"
__all__ = ["__version__"]
