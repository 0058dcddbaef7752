"""The built-in registry entries: each async algorithm is a rule factory plus an access pattern.

Default learning rates are chosen to converge on the default quadratic (d = 10, L = 1,
mu = 0.1, sigma = 0.1) under delays up to about 8; checks choose their own from the bounds'
side conditions. Bound keys are those of ``theory.BOUNDS``.

``gt_momentum`` is the Gratton–Toint momentum variant (notes §2.3 (d), RECONSTRUCTED): the
AdaGrad/AdaNorm accumulator is fed the raw gradient, the numerator is the EMA momentum
``M <- beta M + (1 - beta) g``, and ``s = -lr M / sqrt(eps + V)`` with ``V`` already including
``g^2`` (the ``v_loc`` device). The library rules have no such combination, so it is composed here.
"""

from __future__ import annotations

import torch

from . import rules as _rules
from .registry import BUILTIN, AlgorithmSpec, register

REF_PROC = ("reference", "processes")
ALL = ("reference", "processes", "distributed")


def _factory(name):
    """Resolve the rule factory at call time (keeps the registry importable on its own)."""
    def make(**hp):
        return getattr(_rules, name)(**hp)
    make.__name__ = name
    return make


def topk_sgd(*, lr: float, ratio: float = 0.25, error_feedback: bool = False,
             momentum: float = 0.0):
    """Top-k (``ceil(ratio d)`` entries) of an SGD step, optionally with error feedback."""
    return _rules.topk(_rules.sgd(lr=lr, momentum=momentum), ratio=ratio,
                       error_feedback=error_feedback)


def gt_momentum(*, lr: float, beta: float = 0.9, eps: float = 1e-8, per_vector: bool = False):
    """Gratton–Toint AdaGrad (``per_vector=False``) / AdaNorm (True) with EMA momentum."""
    from .rules.base import FunctionalRule, check_bool, check_number

    lr = check_number("lr", lr, gt=0)
    beta = check_number("beta", beta, ge=0, lt=1)
    eps = check_number("eps", eps, gt=0)
    per_vector = check_bool("per_vector", per_vector)

    def init(params):
        acc = torch.zeros_like(params[..., :1] if per_vector else params)
        return {"sum": acc, "momentum": torch.zeros_like(params)}

    def step(grad, state, t):
        g2 = (grad * grad).sum(-1, keepdim=True) if per_vector else grad * grad
        acc = state["sum"] + g2
        m = beta * state["momentum"] + (1 - beta) * grad
        return -lr * m / (acc + eps).sqrt(), {"sum": acc, "momentum": m}

    name = "adanorm_gt_momentum" if per_vector else "adagrad_gt_momentum"
    return FunctionalRule(name, init, step, dict(lr=lr, beta=beta, eps=eps, per_vector=per_vector))


#: bound keys of ``theory.BOUNDS`` (checked against it in tests/implementations/test_registry.py)
NC_SGD = ("nadiradze2021/nonconvex_sigma", "nadiradze2021/nonconvex_M",
          "nadiradze2021/strongly_convex", "nadiradze2021/strongly_convex_sigma",
          "nadiradze2021/elastic_consistency", "nadiradze2021/view_gap_async",
          "classic_delayed_sgd/nonconvex", "classic_delayed_sgd/strongly_convex")
PS_SGD = ("classic_delayed_sgd/nonconvex", "classic_delayed_sgd/strongly_convex",
          "nadiradze2021/nonconvex_sigma", "nadiradze2021/elastic_consistency",
          "nadiradze2021/view_gap_async")
PASSM = ("kungurtsev2021/stationarity",)
GT = ("gratton_toint2026/rate", "gratton_toint2026/slope")
APAM = ("xu_apam/nonconvex", "xu_apam/convex")
# Only the view-gap condition: the NC bounds in terms of B are for unbiased steps applied to the
# model. Top-k without EF takes biased steps; with EF they hold for the virtual sequence
# (model minus residuals), not for the model whose gradient a trace records (see the notes of
# nadiradze2021/nonconvex_sigma). Claiming them here would overstate what the theory says.
TOPK = ("nadiradze2021/elastic_consistency",)
SYNC_SGD = ("classic_delayed_sgd/nonconvex", "classic_delayed_sgd/strongly_convex")

_ENTRIES = [
    AlgorithmSpec("hogwild_sgd", _factory("sgd"), "full", {"lr": 0.1, "momentum": 0.0}, REF_PROC,
                  NC_SGD, "minibatch_sgd",
                  "Hogwild!: lock-free full-model SGD writes; optional momentum kept per worker."),
    AlgorithmSpec("ps_sgd", _factory("sgd"), "master_worker", {"lr": 0.1}, ALL,
                  PS_SGD, "minibatch_sgd",
                  "Parameter-server SGD: the master applies workers' stale gradients in order."),
    AlgorithmSpec("passm", _factory("sgd"), "partition", {"lr": 0.05, "momentum": 0.9}, REF_PROC,
                  PASSM, None,
                  "PASSM: disjoint contiguous block per worker, per-owner heavy-ball momentum."),
    AlgorithmSpec("passm_plus", _factory("sgd"), "partition_plus",
                  {"lr": 0.05, "momentum": 0.9, "warmup": 10}, REF_PROC,
                  PASSM, None,
                  "PASSM+: full-model warm-up steps, then partitioned and full steps alternate."),
    AlgorithmSpec("async_adagrad", _factory("adagrad"), "random_blocks",
                  {"lr": 0.5, "eps": 1e-8, "form": "gratton_toint"}, REF_PROC, GT, None,
                  "Async diagonal AdaGrad on random overlapping blocks (Gratton & Toint)."),
    AlgorithmSpec("async_adanorm", _factory("adanorm"), "random_blocks",
                  {"lr": 0.5, "eps": 1e-8, "form": "gratton_toint"}, REF_PROC, GT, None,
                  "Async AdaNorm (one accumulator per block) on random overlapping blocks."),
    # No claim: Gratton & Toint's class (abstract) is AdaGrad/AdaNorm type, with momentum or
    # inexact normalisation; an EMA second moment at a constant step is Adam, which need not
    # converge (Reddi et al. 2018, arXiv:1904.09237). Checked against min_k E||grad f||^2 (the
    # expectation inside the min), it stalls under adversarial delays (slope 0 from t = 31 to
    # 1000 at tau = 12): the rate is not Adam's to claim. Its oracle check (torch parity) stays.
    AlgorithmSpec("async_adam", _factory("adam"), "random_blocks",
                  {"lr": 0.02, "betas": (0.9, 0.999), "eps": 1e-8}, REF_PROC, (), None,
                  "Async Adam-type EMA preconditioner on random overlapping blocks (claims no "
                  "bound: constant-step Adam is outside the Gratton-Toint class)."),
    AlgorithmSpec("async_adagrad_momentum", gt_momentum, "random_blocks",
                  {"lr": 0.3, "beta": 0.9, "eps": 1e-8}, REF_PROC, GT, None,
                  "Async AdaGrad with EMA momentum on random overlapping blocks."),
    AlgorithmSpec("async_adanorm_momentum", gt_momentum, "random_blocks",
                  {"lr": 0.3, "beta": 0.9, "eps": 1e-8, "per_vector": True}, REF_PROC, GT, None,
                  "Async AdaNorm with EMA momentum on random overlapping blocks."),
    AlgorithmSpec("async_normalized", _factory("normalized"), "random_blocks",
                  {"lr": 0.1, "schedule": "inv_sqrt"}, REF_PROC, GT, None,
                  "Async normalized steps -alpha_t g/||g|| per block, alpha_t = lr/sqrt(t)."),
    AlgorithmSpec("async_normalized_momentum", _factory("normalized"), "random_blocks",
                  {"lr": 0.1, "schedule": "inv_sqrt", "momentum": 0.9}, REF_PROC, GT, None,
                  "Async normalized steps on an EMA momentum, random overlapping blocks."),
    AlgorithmSpec("async_inexact_normalized", _factory("inexact_normalized"), "random_blocks",
                  {"lr": 0.1, "delta": 0.2, "schedule": "inv_sqrt"}, REF_PROC, GT, None,
                  "Async inexactly normalized steps (1-delta <= ||d|| <= 1+delta)."),
    AlgorithmSpec("apam", _factory("amsgrad_paper"), "master_worker",
                  {"lr": 0.05, "beta1": 0.9, "beta2": 0.999, "schedule": "constant"}, ALL,
                  APAM, "sync_amsgrad",
                  "APAM (Xu et al. Alg. 1): master-only AMSGrad (no eps, no bias correction)."),
    AlgorithmSpec("apam_adam", _factory("adam"), "master_worker",
                  {"lr": 0.02, "betas": (0.9, 0.999), "eps": 1e-8}, ALL, (), None,
                  "Async Adam at the master (the released code with amsgrad=False)."),
    AlgorithmSpec("async_topk", topk_sgd, "sparse", {"lr": 0.1, "ratio": 0.25}, ALL,
                  TOPK, None,
                  "Sparsified async SGD: each worker writes the top-k entries of its step."),
    AlgorithmSpec("async_topk_ef", topk_sgd, "sparse_ef",
                  {"lr": 0.1, "ratio": 0.25, "error_feedback": True}, ALL,
                  TOPK, None,
                  "Sparsified async SGD with per-worker error-feedback memory."),
    AlgorithmSpec("delay_adaptive_sgd", _factory("delay_adaptive_sgd"), "full",
                  {"lr": 0.1, "tau_c": 4.0}, REF_PROC, (), None,  # torch SGD parity: tested
                  "Async SGD with delay-adaptive steps lr*min(1, tau_c/tau_k) (Mishchenko et al. "
                  "2022; Koloskova et al. 2022); the rule reads each gradient's staleness."),
    AlgorithmSpec("ringmaster_asgd", _factory("sgd"), "full", {"lr": 0.1, "discard_above": 3},
                  REF_PROC, (), "minibatch_sgd",
                  "Ringmaster ASGD (Maranjyan, Tyurin, Richtarik 2025): a gradient of staleness "
                  ">= R is discarded (discard_above = R - 1; default R = 4)."),
    AlgorithmSpec("minibatch_sgd", _factory("sgd"), "sync", {"lr": 0.1}, ALL,
                  SYNC_SGD, "minibatch_sgd",
                  "Synchronous baseline: all workers' gradients at the same x, averaged."),
    AlgorithmSpec("sync_amsgrad", _factory("amsgrad_paper"), "sync",
                  {"lr": 0.05, "beta1": 0.9, "beta2": 0.999, "schedule": "constant"}, REF_PROC,
                  ("xu_apam/nonconvex",), "sync_amsgrad",
                  "Synchronous AMSGrad (APAM's tau = 0 counterpart)."),
]

for _spec in _ENTRIES:
    register(_spec, replace=True)
    BUILTIN[_spec.name] = _spec
