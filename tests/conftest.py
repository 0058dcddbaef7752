"""Suite-wide configuration: hypothesis profiles and marker-driven skips.

Profiles (select with HYPOTHESIS_PROFILE, or CI=true picks ``ci``):
- ``ci``: derandomized, no deadline, no example database: the same examples on every run,
  so a CI failure is reproducible and never a flake of the example generator.
- ``dev``: few examples, fast feedback while editing.
- ``thorough``: many examples; ``target()`` then has room to search for worst cases.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=10, deadline=None)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
_default = "ci" if os.environ.get("CI") else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def _pep_missing() -> str | None:
    from asyncbound.theory.crosscheck import missing_extra

    return missing_extra()


def pytest_collection_modifyitems(config, items):
    pep_missing = _pep_missing() if any("pep" in item.keywords for item in items) else None
    if pep_missing:
        skip_pep = pytest.mark.skip(reason=pep_missing)
        for item in items:
            if "pep" in item.keywords:
                item.add_marker(skip_pep)
    if _cuda_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
