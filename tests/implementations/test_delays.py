"""Delay models: spec round trips, the schedule invariants, and the empirical distributions.

Distribution tests are chi-square goodness-of-fit tests at a false-alarm rate of ALPHA per
test (deterministic seeds, so a pass is reproducible; ALPHA bounds how unlucky a seed choice
could be). The critical value uses the Wilson–Hilferty approximation (scipy is not a
dependency); its relative error at these degrees of freedom is below 1%.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest
import torch
from asyncbound.implementations.delays import ReplayDelay, VirtualTimeDelay, parse_delay, with_cap
from asyncbound.implementations.schedule import Schedule, schedule_generator

ALPHA = 1e-4          # false-alarm rate of each distribution test
Z_ALPHA = 3.7190      # upper ALPHA quantile of N(0, 1)

SPECS = ["none", "constant:4", "uniform:8", "geometric:0.3", "geometric:0.3,cap=50",
         "pareto:1.5,cap=64", "virtual:speeds=1,1,3", "virtual:speeds=1,2,2.5,jitter=0.3",
         "adversarial:8", "uniform:8,cap=3"]
BAD = ["", "unifrom:3", "uniform", "uniform:-1", "uniform:1.5", "uniform:a", "geometric:0",
       "geometric:1.5", "pareto:-1", "virtual:1,2", "virtual:speeds=1,0", "none:3",
       "constant:3,cap=x", "replay:/no/such/dir", "adversarial:1,2"]


def chi2_critical(df: int, z: float = Z_ALPHA) -> float:
    """Wilson–Hilferty upper quantile of chi-square(df)."""
    h = 2.0 / (9.0 * df)
    return df * (1.0 - h + z * math.sqrt(h)) ** 3


def chi2_stat(counts: np.ndarray, probs: np.ndarray) -> tuple[float, int]:
    n = counts.sum()
    exp = n * probs
    return float(((counts - exp) ** 2 / exp).sum()), len(counts) - 1


@pytest.mark.parametrize("spec", SPECS)
def test_spec_round_trip_and_invariants(spec):
    m = parse_delay(spec)
    assert parse_delay(m.spec).spec == m.spec
    s = m.schedule(300, 3, 4, schedule_generator(1))
    k = torch.arange(300)
    assert s.worker.shape == s.read_version.shape == (4, 300)
    assert ((s.read_version >= 0) & (s.read_version <= k)).all()
    assert ((s.worker >= 0) & (s.worker < 3)).all()
    if m.max_delay is not None:
        assert int(s.staleness.max()) <= m.max_delay
    again = m.schedule(300, 3, 4, schedule_generator(1))
    assert torch.equal(again.read_version, s.read_version) and torch.equal(again.worker, s.worker)
    assert m.sample(50, schedule_generator(2)).shape == (50,)


@pytest.mark.parametrize("spec", BAD)
def test_bad_specs_one_line_error(spec):
    with pytest.raises(ValueError) as info:
        parse_delay(spec)
    assert "\n" not in str(info.value) and str(info.value)


def test_constant_and_adversarial_hit_the_bound():
    for spec in ("constant:5", "adversarial:5"):
        st = parse_delay(spec).schedule(40, 2, 2, schedule_generator(0)).staleness
        assert torch.equal(st[0], torch.minimum(torch.arange(40), torch.tensor(5)))


def _steady(spec, tau, n=20_000, seeds=4):
    st = parse_delay(spec).schedule(n, 4, seeds, schedule_generator(3)).staleness
    return st[:, tau:].reshape(-1).numpy()  # k >= tau: no clipping at 0


def test_uniform_distribution_chi_square():
    x = _steady("uniform:8", 8)
    counts = np.bincount(x, minlength=9)
    stat, df = chi2_stat(counts, np.full(9, 1 / 9))
    assert stat < chi2_critical(df)


def test_geometric_distribution_chi_square():
    p, J = 0.3, 15
    x = _steady("geometric:0.3,cap=1000", 1000)
    counts = np.bincount(np.minimum(x, J), minlength=J + 1)
    probs = (1 - p) ** np.arange(J) * p
    probs = np.append(probs, 1 - probs.sum())  # tail P(tau >= J)
    stat, df = chi2_stat(counts, probs)
    assert stat < chi2_critical(df)


def test_pareto_distribution_chi_square_with_cap():
    a, cap = 1.5, 20
    x = _steady(f"pareto:{a},cap={cap}", cap)
    assert x.max() <= cap
    surv = (np.arange(cap + 2) + 1.0) ** (-a)  # P(tau >= j)
    probs = surv[:-1] - surv[1:]
    probs[cap] = surv[cap]                     # the cap collects the tail
    counts = np.bincount(x, minlength=cap + 1)
    stat, df = chi2_stat(counts, probs[: cap + 1])
    assert stat < chi2_critical(df)


def _heap_virtual(speeds, factors, K):
    """Naive per-seed event queue: the specification of the virtual model."""
    W = len(speeds)
    heap = [(speeds[w] * factors[w], w) for w in range(W)]
    heapq.heapify(heap)
    rv, out = [0] * W, []
    for k in range(K):
        t, w = heapq.heappop(heap)
        out.append((w, rv[w], t))
        rv[w] = k + 1
        heapq.heappush(heap, (t + speeds[w] * factors[W + k], w))
    return out


def test_virtual_matches_naive_event_queue():
    m = VirtualTimeDelay([1.0, 1.5, 3.0], jitter=0.4)
    K, S = 200, 3
    s = m.schedule(K, 3, S, schedule_generator(5))
    z = torch.randn((S, K + 3), generator=schedule_generator(5), dtype=torch.float64).numpy()
    fac = np.exp(0.4 * z - 0.08)
    for i in range(S):
        ref = _heap_virtual(m.speeds, fac[i], K)
        assert s.worker[i].tolist() == [r[0] for r in ref]
        assert s.read_version[i].tolist() == [r[1] for r in ref]
        np.testing.assert_allclose(s.wall_time[i].numpy(), [r[2] for r in ref], rtol=1e-12)


def test_virtual_equal_speeds_round_robin_staleness():
    s = parse_delay("virtual:speeds=1,1,1,1").schedule(100, 4, 2, schedule_generator(0))
    assert s.worker[0, :8].tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert (s.staleness[:, 4:] == 3).all()
    slow = parse_delay("virtual:speeds=1,1,4").schedule(600, 3, 1, schedule_generator(0))
    st, w = slow.staleness[0], slow.worker[0]
    assert st[w == 2].float().mean() > 3 * st[w == 0].float().mean()
    with pytest.raises(ValueError, match="workers"):
        parse_delay("virtual:speeds=1,1").schedule(10, 3, 1, schedule_generator(0))


def test_cap_and_with_cap():
    m = with_cap(parse_delay("pareto:0.8"), 7)
    assert m.max_delay == 7 and parse_delay(m.spec).spec == m.spec
    assert int(m.schedule(2000, 2, 2, schedule_generator(0)).staleness.max()) <= 7
    assert with_cap(m, 3).max_delay == 3 and with_cap(m, None) is m
    assert int(m.sample(500, schedule_generator(0)).max()) <= 7


def test_replay_from_schedule_and_trace(tmp_path):
    from asyncbound.implementations.trace import Trace

    src = parse_delay("virtual:speeds=1,2,3,jitter=0.2").schedule(60, 3, 2, schedule_generator(4))
    rep = parse_delay(src)
    assert isinstance(rep, ReplayDelay)
    out = rep.schedule(50, 3, 2, schedule_generator(9))
    assert torch.equal(out.read_version, src.read_version[:, :50])
    n = 60
    cols = {"seed": np.repeat([0, 1], n), "update": np.tile(np.arange(n), 2),
            "worker": src.worker.reshape(-1).numpy(), "read_version": src.read_version.reshape(-1).numpy(),
            "write_version": np.tile(np.arange(n), 2)}
    Trace(cols).write(tmp_path)
    m = parse_delay(f"replay:{tmp_path}")
    s2 = m.schedule(60, 3, 2, schedule_generator(0))
    assert torch.equal(s2.worker, src.worker) and torch.equal(s2.read_version, src.read_version)
    with pytest.raises(ValueError, match="updates"):
        m.schedule(61, 3, 2, schedule_generator(0))
    with pytest.raises(ValueError, match="seeds"):
        m.schedule(10, 3, 3, schedule_generator(0))


def test_schedule_validation():
    with pytest.raises(ValueError):
        Schedule(torch.zeros(1, 3, dtype=torch.long), torch.tensor([[0, 2, 1]]))
    with pytest.raises(ValueError):
        parse_delay("uniform:2").schedule(0 - 1, 2, 1, schedule_generator(0))
