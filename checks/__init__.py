"""Glue between theory and implementations: measurement, verdicts, the CLI.

Importing this package is cheap: submodules that need torch import it themselves, so
``asyncbound report`` and ``asyncbound theory`` work on a machine without torch.
"""
