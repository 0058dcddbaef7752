"""Partition and block properties over random layer shapes (hypothesis)."""

from __future__ import annotations

import pytest
import torch
from asyncbound.implementations.patterns import partition, partition_layers, random_blocks
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.property

sizes_st = st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=60)
workers_st = st.integers(min_value=1, max_value=24)


@given(sizes=sizes_st, n_workers=workers_st)
def test_partition_covers_every_parameter_exactly_once(sizes, n_workers):
    blocks = partition(sizes, n_workers)
    total = sum(sizes)
    assert len(blocks) == n_workers
    covered = torch.zeros(total, dtype=torch.int64)
    for a, b in blocks:
        assert 0 <= a <= b <= total
        covered[a:b] += 1
    assert (covered == 1).all()
    # contiguous and in order
    assert blocks[0][0] == 0 and blocks[-1][1] == total
    assert all(blocks[i][1] == blocks[i + 1][0] for i in range(n_workers - 1))
    # boundaries fall on layer boundaries
    prefix = {0}
    acc = 0
    for s in sizes:
        acc += s
        prefix.add(acc)
    assert all(a in prefix and b in prefix for a, b in blocks)
    # nobody idles when there are enough layers
    if len(sizes) >= n_workers:
        assert all(b > a for a, b in blocks)


@given(sizes=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=30)
       .filter(lambda s: sum(s) > 0), n_workers=workers_st)
def test_partition_with_empty_layers_still_covers(sizes, n_workers):
    cuts = partition_layers(sizes, n_workers)
    assert cuts[0] == 0 and cuts[-1] == len(sizes) and cuts == sorted(cuts)
    blocks = partition(sizes, n_workers)
    assert sum(b - a for a, b in blocks) == sum(sizes)


@given(d=st.integers(min_value=1, max_value=400), n_workers=workers_st)
def test_coordinate_partition_is_balanced(d, n_workers):
    lengths = [b - a for a, b in partition([1] * d, n_workers)]
    if d >= n_workers:
        assert max(lengths) - min(lengths) <= 1


@given(d=st.integers(min_value=1, max_value=300), n_blocks=st.integers(min_value=1, max_value=12),
       frac=st.floats(min_value=0.01, max_value=1.0))
def test_random_blocks_cover_every_coordinate(d, n_blocks, frac):
    table = random_blocks(d, n_blocks, frac)
    assert table.shape[0] == n_blocks
    assert set(table.reshape(-1).tolist()) == set(range(d))
    for row in table:
        assert len(set(row.tolist())) == len(row)  # no coordinate twice within a block


@pytest.mark.parametrize("bad", [([], 2), ([3, -1], 2), ([0, 0], 2), ([3], 0)])
def test_partition_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        partition(*bad)
