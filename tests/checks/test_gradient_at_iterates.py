"""Issue 18: nadiradze2021/nonconvex_M needs ||grad f|| <= M at every iterate, and the check
measures M there; the issue's 1-D counterexample, run through the check engine, no longer makes
the engine claim a bound the theorem does not give."""

from __future__ import annotations

import pytest
import torch
from asyncbound.checks import binding
from asyncbound.checks.engine import CheckSpec, run_check
from asyncbound.implementations import problems
from asyncbound.implementations.problems.base import Problem

BOUND = "nadiradze2021/nonconvex_M"


class DelayTrap(Problem):
    """The 1-D L-smooth (L = 1), bounded-below f of issue 18: f' = 0.1 + x for x > 0,
    0.1 - x on [-0.5, 0], 0.6 + (x + 0.5) below; f(0) = 0, inf f = -0.355 at x = -1.1.
    Delayed GD from x_0 = 0 with tau_k = min(4, k) evaluates only f'(0) = 0.1."""

    def __init__(self, *, seed: int = 0, dim: int | None = None):
        self.name, self.dim, self.dtype = "delay_trap", 1, torch.float64
        self.smooth, self.convex = True, False
        self.constants = {"L": 1.0, "sigma": 0.0}
        self.certificates = {"L": "|f''| <= 1 piecewise, f' continuous",
                             "sigma": "exact gradients"}
        self.f_star = -0.355

    def x0(self, n_seeds, generator):
        return torch.zeros(n_seeds, 1, dtype=self.dtype)

    def _grad(self, x):
        return torch.where(x > 0, 0.1 + x, torch.where(x >= -0.5, 0.1 - x, 1.1 + x))

    def _loss(self, x):
        x = x[:, 0]
        f = torch.where(x > 0, 0.1 * x + x**2 / 2,
                        torch.where(x >= -0.5, 0.1 * x - x**2 / 2,
                                    -0.175 + 0.6 * (x + 0.5) + (x + 0.5) ** 2 / 2))
        return f

    def _sgrad(self, x, generator):
        return self._grad(x)


@pytest.fixture
def trap(monkeypatch):
    monkeypatch.setitem(problems._FACTORIES, "delay_trap", DelayTrap)


def _spec(eval_every=1):
    return CheckSpec(algorithm="hogwild_sgd", bound=BOUND, problem="delay_trap", delay="constant:4",
                     steps=5, seeds=2, workers=1, lr=1.0, eval_every=eval_every)


def test_counterexample_is_what_the_issue_says(trap):
    rec = run_check(_spec())
    assert rec["measured"]["value"] == pytest.approx(0.18, abs=1e-9)  # (0.2^2 + ... + 0.6^2)/5


def test_m_over_every_iterate_gives_a_claim_the_bound_supports(trap):
    rec = run_check(_spec())
    assert rec["constants"]["M"]["value"] == pytest.approx(0.6)  # |f'(x_5)|, not |f'(x_0)|
    assert rec["verdict"] == "PASS" and rec["ratio"] < 1
    # the record carries the bound's PEP cross-check status next to its provenance
    assert rec["bound"]["crosscheck"]["status"] in {"VALID", "NOT_RUN"}


def test_old_estimator_makes_the_engine_blame_a_correct_algorithm(trap, monkeypatch):
    """Fails on the old behaviour: M from the evaluated gradients alone (0.1) gives the bound
    0.125 < 0.18 for a correct delayed GD, i.e. a claim the theorem does not support."""
    monkeypatch.setitem(binding.M_ESTIMATORS, True, binding.M_ESTIMATORS[False])
    rec = run_check(_spec())
    assert rec["constants"]["M"]["value"] == pytest.approx(0.1)
    assert rec["bound_value"] == pytest.approx(0.125)
    assert rec["verdict"] == "FAIL"


def test_unevaluated_iterates_leave_m_unbound(trap):
    rec = run_check(_spec(eval_every=2))
    assert rec["verdict"] == "NOT_APPLICABLE" and "M" in rec["reason"]
