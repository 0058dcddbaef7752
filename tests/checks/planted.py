"""Planted bugs: algorithm variants that break a claim on purpose, registered only in tests.

Each is a plausible implementation mistake, and each claims the same bounds as the correct
algorithm it imitates, so the checks must catch it from the run alone:

- ``planted_stale_view``: Hogwild SGD that applies the gradient it computed ``LAG`` of its own
  steps ago, i.e. at a view far staler than the trace records (recorded tau <= 4, real ~4 + 4 LAG).
- ``planted_passm_drop_momentum``: PASSM whose owner loses its heavy-ball buffer on every write
  (as if another worker's block write clobbered it): the momentum it claims (0.9) never acts.
- ``planted_overstep``: SGD whose step silently uses ``FACTOR`` x the lr it reports, so the step
  size the side condition was solved for is ignored while claimed.

``biased_sgd`` (a constant bias added to every gradient, so the iterates settle O(bias/mu) away
from x*) is a rule the tests wrap in their own specs; it is in neither table below.

The catalogue (:data:`CATALOGUE`, issue 11 "Power, measured") extends these three to one bug or
more per algorithm family, each a realistic implementation mistake; each comes twice:
:func:`variant` ``(key, "implements")`` names the registered algorithm it imitates
(``implements=``, checked step by step by ``checks.conformance``), ``(key, "conjecture")``
claims only that algorithm's bounds (checked by bounds and lemmas). ``python -m
asyncbound.checks.power`` loads this file by path and measures how often each is flagged.

This file doubles as a variant file (``asyncbound check`` / ``verify --with``): it sets
``ALGORITHM`` to the one named by ``PLANTED`` (default stale view; any catalogue key, with
``PLANTED_MODE=implements`` for the implements variant), which the variant loader
registers. Importing it registers nothing, so a test session that imports it never leaks planted
bugs into the global registry (and so into the quick suite that other tests build);
``register_all()`` is there for callers that want all three by name.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace

import torch
from asyncbound.implementations import algorithms as builtin
from asyncbound.implementations.registry import ALGORITHMS, AlgorithmSpec, get_algorithm, register
from asyncbound.implementations.rules import adagrad, sgd
from asyncbound.implementations.rules.base import FunctionalRule, schedule_factor
from asyncbound.implementations.rules.topk import topk_mask

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


def biased_sgd(*, lr: float, momentum: float = 0.0, bias: float = 1e-3):
    """PLANTED BUG: every step adds a constant bias to the gradient, so the iterates settle
    O(bias/mu) away from x*, far above round-off."""
    inner = sgd(lr=lr)

    def step(grad, state, t):
        return inner.step(grad + bias, state, t)

    return FunctionalRule("biased_sgd", inner.init, step, {"lr": lr, "bias": bias})


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


# --- the catalogue: more families --------------------------------------------------------------


def ema_instead_of_heavy_ball(*, lr: float, momentum: float = 0.9):
    """Momentum as an EMA ``m = b m + (1 - b) g`` where the algorithm (torch semantics) keeps
    ``b m + g``: the effective step shrinks by ``1 - b`` (a form mixed up between papers)."""
    inner = sgd(lr=lr, momentum=momentum, ema=True)
    return FunctionalRule("ema_momentum_sgd", inner.init, inner.step, {"lr": lr, "momentum": momentum})


def adagrad_no_accumulation(*, lr: float, eps: float = 1e-8, form: str = "gratton_toint"):
    """AdaGrad whose accumulator is overwritten (``V = g^2``) instead of summed (``V += g^2``)."""
    inner = adagrad(lr=lr, eps=eps, form=form)

    def step(grad, state, t):
        return inner.step(grad, {**state, "sum": torch.zeros_like(state["sum"])}, t)

    return FunctionalRule("adagrad_overwrite", inner.init, step, {"lr": lr, "eps": eps, "form": form})


def normalized_by_square(*, lr: float, schedule: str = "inv_sqrt"):
    """Normalized step divided by ``||g||^2`` instead of ``||g||`` (a dropped sqrt)."""
    def init(params):
        return {}

    def step(grad, state, t):
        n2 = (grad * grad).sum(-1, keepdim=True)
        return -(lr * schedule_factor(schedule, t)) * grad / n2.clamp_min(1e-300), state

    return FunctionalRule("normalized_sq", init, step, {"lr": lr, "schedule": schedule})


def normalized_harmonic(*, lr: float, schedule: str = "inv_sqrt"):
    """Normalized step at ``lr/t`` instead of ``lr/sqrt(t)`` (the schedule's square root dropped):
    the steps sum to only ``lr ln t``, so the iterates stop short of a stationary point on any
    problem that needs them to travel (a network's weights), and ``min_k E||grad f||^2`` stalls."""
    def init(params):
        return {}

    def step(grad, state, t):
        n = torch.linalg.vector_norm(grad, dim=-1, keepdim=True)
        unit = torch.where(n > 0, grad / n.clamp_min(1e-300), torch.zeros_like(grad))
        return -(lr * schedule_factor(schedule, t) ** 2) * unit, state

    return FunctionalRule("normalized_harmonic", init, step, {"lr": lr, "schedule": schedule})


def amsgrad_variant(*, lr: float, beta1: float = 0.9, beta2: float = 0.999,
                    schedule: str = "constant", keep_max: bool = True, bias_correction: bool = False):
    """APAM's AMSGrad with one of two mistakes: ``keep_max=False`` (v-hat = v: Adam's
    preconditioner), ``bias_correction=True`` (Adam's bias correction on m and v-hat)."""
    def init(params):
        z = torch.zeros_like(params)
        return {"m": z, "v": z.clone(), "vhat": z.clone()}

    def step(grad, state, t):
        m = beta1 * state["m"] + (1 - beta1) * grad
        v = beta2 * state["v"] + (1 - beta2) * grad * grad
        vhat = torch.maximum(state["vhat"], v) if keep_max else v
        mm, vv = m, vhat
        if bias_correction:
            mm, vv = m / (1 - beta1 ** t), vhat / (1 - beta2 ** t)
        pos = vv > 0
        ratio = torch.where(pos, mm / torch.where(pos, vv, torch.ones_like(vv)).sqrt(),
                            torch.zeros_like(mm))
        return -(lr * schedule_factor(schedule, t)) * ratio, {"m": m, "v": v, "vhat": vhat}

    return FunctionalRule("amsgrad_variant", init, step, {"lr": lr, "beta1": beta1, "beta2": beta2,
                                                          "schedule": schedule})


def amsgrad_no_max(**hp):
    return amsgrad_variant(keep_max=False, **hp)


def amsgrad_bias_corrected(**hp):
    return amsgrad_variant(bias_correction=True, **hp)


def topk_variant(*, lr: float, ratio: float = 0.25, error_feedback: bool = False,
                 momentum: float = 0.0, mistake: str = "smallest"):
    """Top-k SGD with one mistake: ``smallest`` (keeps the k smallest |u|: a sort order
    flipped), ``lost_memory`` (the EF memory is never written back), ``memory_sign`` (the EF
    memory stores ``C(u) - u`` instead of ``u - C(u)``)."""
    import math

    def init(params):
        return {"ef": torch.zeros_like(params)} if error_feedback else {}

    def step(grad, state, t):
        u = -lr * grad + (state["ef"] if error_feedback else 0)
        k = max(1, min(u.shape[-1], math.ceil(ratio * u.shape[-1] - 1e-12)))
        if mistake == "smallest":
            idx = torch.topk(u.abs(), k, dim=-1, largest=False).indices
            mask = torch.zeros_like(u, dtype=torch.bool).scatter(-1, idx, True)
        else:
            mask = topk_mask(u, k)
        c = torch.where(mask, u, torch.zeros_like(u))
        new = {}
        if error_feedback:
            new["ef"] = {"lost_memory": state["ef"], "memory_sign": c - u}.get(mistake, u - c)
        return c, new

    return FunctionalRule(f"topk_{mistake}", init, step, {"lr": lr, "ratio": ratio})


def topk_smallest(**hp):
    return topk_variant(mistake="smallest", **hp)


def topk_lost_memory(**hp):
    return topk_variant(mistake="lost_memory", **hp)


def topk_memory_sign(**hp):
    return topk_variant(mistake="memory_sign", **hp)


def sum_not_mean_sgd(*, lr: float, workers: int = 4):
    """Synchronous SGD whose all-reduce sums the workers' gradients instead of averaging them
    (the rule sees the mean; the mistake multiplies it back by the number of workers)."""
    inner = sgd(lr=lr * workers)
    return FunctionalRule("sum_sgd", inner.init, inner.step, {"lr": lr})


def _like(key: str, imitates: str, rule, pattern: str | None = None, description: str = "",
          **defaults) -> AlgorithmSpec:
    """A conjecture-mode planted spec claiming exactly what ``imitates`` claims."""
    ref = get_algorithm(imitates)
    cfg = {k: v for k, v in ref.defaults.items()}
    cfg.update(defaults)
    return AlgorithmSpec(f"planted_{key}", rule, pattern or ref.pattern, cfg, ("reference",),
                         ref.bounds, None, "PLANTED BUG: " + description)


def _widen(spec: AlgorithmSpec, imitates: str) -> AlgorithmSpec:
    """One of the three original planted specs, claiming everything ``imitates`` claims (the
    originals in :data:`SPECS` keep their narrower claims: older tests are built on them)."""
    bounds = tuple(dict.fromkeys(spec.bounds + get_algorithm(imitates).bounds))
    return replace(spec, bounds=bounds)


#: key -> (family, the registered algorithm it imitates, conjecture-mode spec)
CATALOGUE: dict[str, tuple[str, str, AlgorithmSpec]] = {
    "stale_view": ("sgd_hogwild", "hogwild_sgd", _widen(SPECS["stale_view"], "hogwild_sgd")),
    "overstep": ("sgd_hogwild", "hogwild_sgd", _widen(SPECS["overstep"], "hogwild_sgd")),
    "hogwild_ema_momentum": ("sgd_hogwild", "hogwild_sgd", _like(
        "hogwild_ema_momentum", "hogwild_sgd", ema_instead_of_heavy_ball, momentum=0.5,
        description="Hogwild! heavy-ball momentum implemented as an EMA (step x (1-beta)).")),
    "ps_stale_by_one": ("sgd_hogwild", "ps_sgd", _like(
        "ps_stale_by_one", "ps_sgd", stale_sgd, lag=1,
        description="parameter server applies the previous arrival's gradient (off by one).")),
    "drop_momentum": ("passm", "passm", _widen(SPECS["drop_momentum"], "passm")),
    "passm_full_writes": ("passm", "passm", _like(
        "passm_full_writes", "passm", builtin._factory("sgd"), pattern="full",
        description="PASSM workers write the whole model, not their own block.")),
    "passm_plus_ema": ("passm", "passm_plus", _like(
        "passm_plus_ema", "passm_plus", ema_instead_of_heavy_ball,
        description="PASSM+ owner momentum as an EMA (step x (1-beta)).")),
    "adagrad_overwrite": ("adaptive", "async_adagrad", _like(
        "adagrad_overwrite", "async_adagrad", adagrad_no_accumulation,
        description="AdaGrad accumulator overwritten by g^2 instead of summed.")),
    "normalized_sq": ("adaptive", "async_normalized", _like(
        "normalized_sq", "async_normalized", normalized_by_square,
        description="normalized step divided by ||g||^2 instead of ||g||.")),
    "normalized_harmonic": ("adaptive", "async_normalized", _like(
        "normalized_harmonic", "async_normalized", normalized_harmonic,
        description="normalized step at lr/t instead of lr/sqrt(t).")),
    "apam_no_max": ("apam", "apam", _like(
        "apam_no_max", "apam", amsgrad_no_max,
        description="APAM master keeps v-hat = v (no running maximum): Adam, not AMSGrad.")),
    "apam_bias_corrected": ("apam", "apam", _like(
        "apam_bias_corrected", "apam", amsgrad_bias_corrected,
        description="APAM master adds Adam's bias correction the algorithm does not have.")),
    "topk_smallest": ("topk", "async_topk", _like(
        "topk_smallest", "async_topk", topk_smallest,
        description="top-k keeps the k smallest entries (sort order flipped).")),
    "topk_ef_lost_memory": ("topk", "async_topk_ef", _like(
        "topk_ef_lost_memory", "async_topk_ef", topk_lost_memory,
        description="error-feedback memory never written back (stays zero).")),
    "topk_ef_memory_sign": ("topk", "async_topk_ef", _like(
        "topk_ef_memory_sign", "async_topk_ef", topk_memory_sign,
        description="error-feedback memory stored with the wrong sign.")),
    "minibatch_sum": ("sync", "minibatch_sgd", _like(
        "minibatch_sum", "minibatch_sgd", sum_not_mean_sgd,
        description="synchronous SGD sums the workers' gradients instead of averaging.")),
    "sync_amsgrad_no_max": ("sync", "sync_amsgrad", _like(
        "sync_amsgrad_no_max", "sync_amsgrad", amsgrad_no_max,
        description="synchronous AMSGrad without the running maximum of v.")),
}
FAMILIES = ("sgd_hogwild", "passm", "adaptive", "apam", "topk", "sync")
MODES = ("implements", "conjecture")


def variant(key: str, mode: str) -> AlgorithmSpec:
    """The planted bug ``key`` as an ``implements`` variant or as a conjecture."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    family, imitates, spec = CATALOGUE[key]
    if mode == "conjecture":
        return spec
    return replace(spec, name=spec.name + "_impl", implements=imitates)


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


_KEY, _MODE = os.environ.get("PLANTED", "stale_view"), os.environ.get("PLANTED_MODE", "conjecture")
ALGORITHM = SPECS[_KEY] if _MODE == "conjecture" and _KEY in SPECS else variant(_KEY, _MODE)
