"""checks tests: single-threaded torch (tiny tensors; intra-op threads only add contention)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _registries_restored():
    """Snapshot the bound and algorithm registries; restore them when the generator resumes."""
    from asyncbound.implementations.registry import ALGORITHMS

    from asyncbound import theory

    bounds, algos = dict(theory.BOUNDS), dict(ALGORITHMS)
    yield
    theory.BOUNDS.clear()
    theory.BOUNDS.update(bounds)
    ALGORITHMS.clear()
    ALGORITHMS.update(algos)


@pytest.fixture
def registries():
    """Restore the bound and algorithm registries (a loaded variant registers into both)."""
    yield from _registries_restored()


@pytest.fixture(autouse=True, scope="module")
def _variant_files_leave_no_registration():
    """A module that loads variant files in-process must not leave their algorithms or claimed
    bounds registered for the modules after it (order-dependent results otherwise)."""
    yield from _registries_restored()
