"""Stored cross-check table, written by ``python -m asyncbound.theory.crosscheck.generate``."""

STORED: dict = {"date": "never", "grid_name": "none", "grid": "", "software": "", "bounds": {}}
