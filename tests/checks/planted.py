"""Planted bugs: algorithm variants that break a claim on purpose, registered only in tests.

Each is a plausible implementation mistake, and each claims the same bounds as the correct
algorithm it imitates, so the checks must catch it from the run alone:

- ``planted_stale_view``: Hogwild SGD that applies the gradient it computed ``LAG`` of its own
  steps ago, i.e. at a view far staler than the trace records (recorded tau <= 4, real ~4 + 4 LAG).
- ``planted_passm_drop_momentum``: PASSM whose owner loses its heavy-ball buffer on every write
  (as if another worker's block write clobbered it): the momentum it claims (0.9) never acts.
- ``planted_overstep``: SGD whose step silently uses ``FACTOR`` x the lr it reports, so the step
  size the side condition was solved for is ignored while claimed.

This file doubles as a variant file (``asyncbound check`` / ``verify --with``): it sets
``ALGORITHM`` to the one named by ``PLANTED`` (default stale view), which the variant loader
registers. Importing it registers nothing, so a test session that imports it never leaks planted
bugs into the global registry (and so into the quick suite that other tests build);
``register_all()`` is there for callers that want all three by name.
"""

from __future__ import annotations

import contextlib
import os

import torch
from asyncbound.implementations.registry import ALGORITHMS, AlgorithmSpec, register
from asyncbound.implementations.rules import sgd
from asyncbound.implementations.rules.base import FunctionalRule

LAG = 8
FACTOR = 3.0
CLASSIC = ("classic_delayed_sgd/nonconvex", "classic_delayed_sgd/strongly_convex")


def stale_sgd(*, lr: float, lag: int = LAG, momentum: float = 0.0):
    inner = sgd(lr=lr)

    def init(params):
        return {"queue": torch.zeros((lag, *params.shape), dtype=params.dtype, device=params.device),
                "filled": torch.zeros(params.shape[:-1], dtype=torch.int64, device=params.device)}

    def step(grad, state, t):
        q = state["queue"]
        old = q[0]
        new_q = torch.cat([q[1:], grad.unsqueeze(0)], 0)
        # before the queue is full, nothing is applied (the stale gradients do not exist yet)
        use = torch.where((state["filled"] >= lag).unsqueeze(-1), old, torch.zeros_like(old))
        delta, _ = inner.step(use, {}, t)
        return delta, {"queue": new_q, "filled": state["filled"] + 1}

    return FunctionalRule("stale_sgd", init, step, {"lr": lr, "lag": lag})


def drop_momentum_sgd(*, lr: float, momentum: float = 0.9):
    inner = sgd(lr=lr, momentum=momentum)

    def step(grad, state, t):
        delta, new = inner.step(grad, {"momentum": torch.zeros_like(state["momentum"])}, t)
        return delta, new  # the buffer is rebuilt from zero every step: momentum never acts

    return FunctionalRule("drop_momentum_sgd", inner.init, step, {"lr": lr, "momentum": momentum})


def overstep_sgd(*, lr: float, momentum: float = 0.0, factor: float = FACTOR):
    inner = sgd(lr=lr * factor, momentum=momentum)
    return FunctionalRule("overstep_sgd", inner.init, inner.step, {"lr": lr, "momentum": momentum})


SPECS = {
    "stale_view": AlgorithmSpec("planted_stale_view", stale_sgd, "full", {"lr": 0.05, "lag": LAG},
                                ("reference",), CLASSIC + ("nadiradze2021/nonconvex_sigma",), None,
                                "PLANTED BUG: gradient applied LAG own steps late (staler than recorded)."),
    "drop_momentum": AlgorithmSpec("planted_passm_drop_momentum", drop_momentum_sgd, "partition",
                                   {"lr": 0.05, "momentum": 0.9}, ("reference",),
                                   ("kungurtsev2021/stationarity",), None,
                                   "PLANTED BUG: PASSM owner loses its momentum buffer at every write."),
    "overstep": AlgorithmSpec("planted_overstep", overstep_sgd, "full", {"lr": 0.05}, ("reference",),
                              CLASSIC, None, "PLANTED BUG: step uses FACTOR x the reported lr."),
}


@contextlib.contextmanager
def registered():
    """The three planted bugs in the registry for the duration of a block (tests), then gone,
    so no other test's suite (built from the registry) ever contains them."""
    before = {name: ALGORITHMS.get(name) for name in (s.name for s in SPECS.values())}
    register_all()
    try:
        yield SPECS
    finally:
        for name, old in before.items():
            if old is None:
                ALGORITHMS.pop(name, None)
            else:
                ALGORITHMS[name] = old


def register_all() -> dict:
    for spec in SPECS.values():
        if ALGORITHMS.get(spec.name) is not spec:
            register(spec, replace=True)
    return SPECS


ALGORITHM = SPECS[os.environ.get("PLANTED", "stale_view")]
