"""Sequential rules equal torch.optim (DESIGN §3 "parity"): one table, one parametrized test.

Each row is (id, rule factory, rule kwargs, torch optimizer class, torch kwargs). Both sides see
the same 100 random float64 gradients; the iterates must agree to 1e-6 (relative to scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from asyncbound.implementations import rules as R

STEPS = 100
ATOL = 1e-6  # the brief's tolerance; in float64 the observed gap is ~1e-14


@dataclass(frozen=True)
class OptimInfo:
    id: str
    factory: object
    kwargs: dict
    torch_cls: type
    torch_kwargs: dict


OPTIM_DB = [
    OptimInfo("sgd", R.sgd, dict(lr=0.05), torch.optim.SGD, dict(lr=0.05)),
    OptimInfo("sgd_momentum", R.sgd, dict(lr=0.05, momentum=0.9), torch.optim.SGD,
              dict(lr=0.05, momentum=0.9)),
    OptimInfo("sgd_dampening", R.sgd, dict(lr=0.05, momentum=0.8, dampening=0.3), torch.optim.SGD,
              dict(lr=0.05, momentum=0.8, dampening=0.3)),
    OptimInfo("sgd_nesterov", R.sgd, dict(lr=0.05, momentum=0.9, nesterov=True), torch.optim.SGD,
              dict(lr=0.05, momentum=0.9, nesterov=True)),
    OptimInfo("sgd_weight_decay", R.sgd, dict(lr=0.05, momentum=0.5, weight_decay=0.1),
              torch.optim.SGD, dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
    OptimInfo("adagrad", R.adagrad, dict(lr=0.1), torch.optim.Adagrad, dict(lr=0.1)),
    OptimInfo("adagrad_decay_iav", R.adagrad,
              dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.5, eps=1e-6),
              torch.optim.Adagrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.5, eps=1e-6)),
    OptimInfo("rmsprop", R.rmsprop, dict(lr=0.01), torch.optim.RMSprop, dict(lr=0.01)),
    OptimInfo("rmsprop_momentum", R.rmsprop, dict(lr=0.01, momentum=0.9), torch.optim.RMSprop,
              dict(lr=0.01, momentum=0.9)),
    OptimInfo("rmsprop_centered", R.rmsprop, dict(lr=0.01, centered=True, alpha=0.9),
              torch.optim.RMSprop, dict(lr=0.01, centered=True, alpha=0.9)),
    OptimInfo("rmsprop_centered_momentum", R.rmsprop, dict(lr=0.01, centered=True, momentum=0.5),
              torch.optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5)),
    OptimInfo("adam", R.adam, dict(lr=0.01), torch.optim.Adam, dict(lr=0.01)),
    OptimInfo("adam_betas_wd", R.adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
              torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    OptimInfo("adam_amsgrad", R.adam, dict(lr=0.01, amsgrad=True), torch.optim.Adam,
              dict(lr=0.01, amsgrad=True)),
    OptimInfo("amsgrad_code", R.amsgrad_code, dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8),
              torch.optim.Adam, dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, amsgrad=True)),
]


@pytest.mark.parametrize("info", OPTIM_DB, ids=[i.id for i in OPTIM_DB])
@pytest.mark.parametrize("shape", [(7,), (3, 5)], ids=["vector", "batch"])
def test_rule_matches_torch_optim(info, shape):
    gen = torch.Generator().manual_seed(1234)
    x0 = torch.randn(shape, generator=gen, dtype=torch.float64)
    grads = torch.randn((STEPS, *shape), generator=gen, dtype=torch.float64)
    # vary the scale so adaptive denominators are exercised over a range
    grads = grads * torch.logspace(-2, 1, STEPS, dtype=torch.float64).view(-1, *[1] * len(shape))

    p = torch.nn.Parameter(x0.clone())
    opt = info.torch_cls([p], **info.torch_kwargs)
    rule = info.factory(**info.kwargs)
    x = x0.clone()
    state = rule.init(x)
    for t in range(1, STEPS + 1):
        g = grads[t - 1]
        p.grad = g.clone()
        opt.step()
        delta, state = rule.step(g, state, t)
        x = x + delta
    assert torch.allclose(x, p.detach(), atol=ATOL, rtol=0), (x - p.detach()).abs().max()


def test_rule_is_pure():
    """step never mutates grad or state (checked on every table row)."""
    gen = torch.Generator().manual_seed(0)
    for info in OPTIM_DB:
        rule = info.factory(**info.kwargs)
        x = torch.randn(4, generator=gen, dtype=torch.float64)
        state = rule.init(x)
        _, state = rule.step(torch.randn(4, generator=gen, dtype=torch.float64), state, 1)
        snap = {k: v.clone() for k, v in state.items()}
        g = torch.randn(4, generator=gen, dtype=torch.float64)
        g0 = g.clone()
        rule.step(g, state, 2)
        assert torch.equal(g, g0), info.id
        assert all(torch.equal(state[k], snap[k]) for k in snap), info.id


@pytest.mark.parametrize("tau_c", [1.0, 4.0])
def test_delay_adaptive_sgd_without_delays_matches_torch_sgd(tau_c):
    """A context rule (issue 16) at staleness 0 is torch.optim.SGD(lr)."""
    from asyncbound.implementations.rules.base import UpdateContext

    gen = torch.Generator().manual_seed(7)
    x0 = torch.randn((2, 5), generator=gen, dtype=torch.float64)
    p = torch.nn.Parameter(x0.clone())
    opt = torch.optim.SGD([p], lr=0.05)
    rule = R.delay_adaptive_sgd(lr=0.05, tau_c=tau_c)
    x, state = x0.clone(), rule.init(x0)
    for t in range(1, STEPS + 1):
        g = torch.randn((2, 5), generator=gen, dtype=torch.float64)
        p.grad = g.clone()
        opt.step()
        ctx = UpdateContext(torch.zeros(2, dtype=torch.int64), 0,
                            torch.full((2,), t - 1), STEPS, 1, t, t)
        delta, state = rule.step(g, state, t, ctx)
        x = x + delta
    assert torch.allclose(x, p.detach(), atol=ATOL, rtol=0)
