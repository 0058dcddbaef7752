"""Planted bugs in linear algorithms for the exact oracle (registered nowhere; tests only).

Each rule *declares* the correct algorithm (its ``FunctionalRule`` name and hyperparameters are
those of ``rules.sgd``), as a user's re-implementation of heavy-ball SGD would, and gets one
thing wrong inside its kernel. The oracle computes the declared algorithm's exact trajectory
without running the rule's code, so it must see the mistake from the run alone.

Kernel bugs (AlgorithmSpecs below):
- ``momentum_twice``: the heavy-ball buffer update is applied twice per step;
- ``overstep``: the step uses ``factor`` (1.25) x the declared lr;
- ``nesterov_as_heavy``: declares Nesterov, applies plain heavy ball;
- ``ema_undamped``: declares EMA momentum, forgets the (1 - beta) on the gradient.
System bugs (patched in the test with monkeypatch, the registered algorithm unchanged):
- ``skip_block``: PASSM's kernel writes nothing for block 0;
- ``delay_off_by_one``: the uniform delay model draws from {1..T+1} instead of {0..T};
- ``noise_scaled``: the quadratic's gradient noise is 1.5 x the declared sigma.
"""

from __future__ import annotations

import torch
from asyncbound.implementations.registry import AlgorithmSpec
from asyncbound.implementations.rules import sgd
from asyncbound.implementations.rules.base import FunctionalRule


def _declared(name, hp, init, step):
    return FunctionalRule(name, init, step, hp)


def momentum_twice_sgd(*, lr: float, momentum: float = 0.5):
    good = sgd(lr=lr, momentum=momentum)

    def step(grad, state, t):
        _, mid = good.step(grad, state, t)
        return good.step(grad, mid, t + 1)  # the buffer moves twice

    return _declared(good.name, good.hparams, good.init, step)


def overstep_sgd(*, lr: float, momentum: float = 0.0, factor: float = 1.25):
    good, bad = sgd(lr=lr, momentum=momentum), sgd(lr=factor * lr, momentum=momentum)
    return _declared(good.name, good.hparams, bad.init, bad.step)


def nesterov_as_heavy_sgd(*, lr: float, momentum: float = 0.9, nesterov: bool = True):
    good, bad = sgd(lr=lr, momentum=momentum, nesterov=nesterov), sgd(lr=lr, momentum=momentum)
    return _declared(good.name, good.hparams, bad.init, bad.step)


def ema_undamped_sgd(*, lr: float, momentum: float = 0.5, ema: bool = True):
    good = sgd(lr=lr, momentum=momentum, ema=ema)

    def step(grad, state, t):
        buf = momentum * state["momentum"] + grad
        return -lr * buf, {"momentum": buf}

    return _declared(good.name, good.hparams, good.init, step)


def _spec(name, rule, defaults, pattern="full"):
    return AlgorithmSpec(f"planted_oracle_{name}", rule, pattern, defaults, ("reference",), (),
                         None, f"PLANTED BUG (oracle): {name}")


KERNEL_BUGS = {
    "momentum_twice": _spec("momentum_twice", momentum_twice_sgd, {"lr": 0.05, "momentum": 0.5}),
    "overstep": _spec("overstep", overstep_sgd, {"lr": 0.1}),
    "nesterov_as_heavy": _spec("nesterov_as_heavy", nesterov_as_heavy_sgd,
                               {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    "ema_undamped": _spec("ema_undamped", ema_undamped_sgd,
                          {"lr": 0.05, "momentum": 0.5, "ema": True}),
}


def patch_skip_block(monkeypatch):
    from asyncbound.implementations.patterns import PartitionPattern

    good = PartitionPattern.step

    def step(self, grad, wstate, shared, *, t_local, t_global, block=-1):
        delta, w, s = good(self, grad, wstate, shared, t_local=t_local, t_global=t_global,
                           block=block)
        return (torch.zeros_like(delta) if block == 0 else delta), w, s

    monkeypatch.setattr(PartitionPattern, "step", step)


def patch_delay_off_by_one(monkeypatch):
    from asyncbound.implementations.delays import UniformDelay

    good = UniformDelay._draw
    monkeypatch.setattr(UniformDelay, "_draw", lambda self, shape, g: good(self, shape, g) + 1)


def patch_noise_scaled(monkeypatch):
    from asyncbound.implementations.problems.quadratic import Quadratic

    good = Quadratic._sgrad

    def sgrad(self, x, generator):
        g = good(self, x, generator)
        return self._grad(x) + 1.5 * (g - self._grad(x))

    monkeypatch.setattr(Quadratic, "_sgrad", sgrad)


SYSTEM_BUGS = {  # name -> (patch, registered algorithm it corrupts)
    "skip_block": (patch_skip_block, "passm"),
    "delay_off_by_one": (patch_delay_off_by_one, "hogwild_sgd"),
    "noise_scaled": (patch_noise_scaled, "ps_sgd"),
}
