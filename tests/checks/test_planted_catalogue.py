"""The planted-bug catalogue (issue 11, "Power, measured"): at least 12 distinct bugs, every
algorithm family, each as an ``implements`` variant and as a conjecture claiming exactly what
the algorithm it imitates claims."""

from __future__ import annotations

import pytest
from asyncbound.implementations.registry import ALGORITHMS, get_algorithm

from tests.checks import planted


def test_catalogue_size_and_families():
    assert len(planted.CATALOGUE) >= 12
    assert {fam for fam, _, _ in planted.CATALOGUE.values()} == set(planted.FAMILIES)
    assert len({spec.name for _, _, spec in planted.CATALOGUE.values()}) == len(planted.CATALOGUE)


@pytest.mark.parametrize("key", sorted(planted.CATALOGUE))
def test_both_modes_claim_what_the_imitated_algorithm_claims(key):
    _, imitates, _ = planted.CATALOGUE[key]
    ref = get_algorithm(imitates)
    impl, conj = planted.variant(key, "implements"), planted.variant(key, "conjecture")
    assert impl.implements == imitates and conj.implements is None
    assert set(conj.bounds) >= set(ref.bounds) and impl.bounds == conj.bounds
    assert impl.name != conj.name and impl.name not in ALGORITHMS  # importing registers nothing


def test_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match="mode"):
        planted.variant("overstep", "both")
