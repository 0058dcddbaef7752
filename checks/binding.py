"""Binding: every symbol of a bound gets a number, and the number says where it came from.

Conventions (canonical names of ``theory.symbols``):

- ``certified``: the problem's constants (``problem.constants``: L, mu, sigma, G, M, D), known
  by construction, with the problem's one-sentence certificate as ``how``.
- ``setting``: what the run was configured with: ``eta`` = lr, ``K`` = steps, ``n_workers``,
  ``d`` = dimension, ``n_blocks``, the rule's ``beta1``/``beta2``/``eps``/``momentum``/``delta``,
  ``gamma_topk`` = k/d, schedule parameters.
- ``measured``: from the trace, with its estimator: ``tau`` = max staleness, ``tau_avg`` = mean
  staleness, ``F0`` = mean over seeds of f(x0) - f*, ``r0_sq`` = mean ||x0 - x*||^2,
  ``B`` = max_t E||x_t - v_t|| / eta, ``p_min`` = min block write fraction. A constant the
  problem does not certify (e.g. ``M`` on an unbounded quadratic) falls back to its estimator
  and is marked ``measured``: the verdict then rests on an estimate, and the record says so.
- ``spelled``: given explicitly by the caller (``overrides``), for unusual names.

Reconstructed templates' free constants (C0, C1, C2, p_log) are never bound: bounds that use
them are ASYMPTOTIC and checked through a proxy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from asyncbound.checks import measure

UNBINDABLE = frozenset({"C0", "C1", "C2", "p_log", "k", "eps_acc"})


@dataclass
class Constant:
    value: float
    origin: str  # certified | setting | measured | spelled
    how: str

    def as_dict(self) -> dict:
        v = float(self.value)
        return {"value": v if math.isfinite(v) else None, "origin": self.origin, "how": self.how}


@dataclass
class RunContext:
    """What binding needs to know about one run (planning: ``df`` is None)."""

    problem: object
    lr: float
    steps: int
    workers: int
    hparams: dict = field(default_factory=dict)
    pattern: str = "full"
    delay_max: int | None = None
    df: object = None  # pandas DataFrame of the trace
    x0: np.ndarray | None = None  # (S, d) starting points, when known
    F0_samples: np.ndarray | None = None  # per-seed f(x0) - f*, when known
    overrides: dict = field(default_factory=dict)
    #: keys of the bound's assumptions: they choose the estimator of a measured constant
    assumptions: tuple = ()


#: estimator of M by scope (does the assumption bound ||grad f|| at every iterate?) -> (fn, how)
M_ESTIMATORS = {
    False: (measure.grad_second_moment,
            "sqrt of max_t mean over seeds of ||g_t||^2 at the evaluated gradients "
            "(not certified on this problem)"),
    True: (measure.grad_second_moment_at_iterates,
           "sqrt of max_t mean over seeds of max(||g_t||^2, ||grad f(x_{t+1})||^2): every "
           "evaluated gradient and every iterate (not certified on this problem)"),
}


def _hp(h: dict, *names, default=None):
    for n in names:
        if n in h and h[n] is not None:
            return h[n]
    return default


def _settings(ctx: RunContext) -> dict[str, Constant]:
    h = dict(ctx.hparams)
    p = ctx.problem
    out = {
        "eta": Constant(float(ctx.lr), "setting", "step size lr of the run (base step of a schedule)"),
        "K": Constant(float(ctx.steps), "setting", "number of applied updates"),
        "n_workers": Constant(float(ctx.workers), "setting", "workers of the run"),
        "d": Constant(float(p.dim), "setting", "problem dimension"),
        "n_crash": Constant(0.0, "setting", "no crash faults are injected"),
    }
    betas = h.get("betas")
    b1 = _hp(h, "beta1", default=betas[0] if betas else None)
    b2 = _hp(h, "beta2", default=betas[1] if betas else None)
    if b1 is not None:
        out["beta1"] = Constant(float(b1), "setting", "rule hyperparameter beta1")
    if b2 is not None:
        out["beta2"] = Constant(float(b2), "setting", "rule hyperparameter beta2")
    if "momentum" in h:
        out["momentum"] = Constant(float(h["momentum"]), "setting", "rule hyperparameter momentum")
        out.setdefault("beta1", Constant(float(h["momentum"]), "setting",
                                         "momentum factor of the rule (beta1 = momentum)"))
    if "eps" in h:
        out["eps"] = Constant(float(h["eps"]), "setting", "rule hyperparameter eps")
    if "delta" in h:
        out["delta"] = Constant(float(h["delta"]), "setting", "inexact normalisation factor delta")
    k, ratio = h.get("k"), h.get("ratio")
    if k is not None:
        out["gamma_topk"] = Constant(min(1.0, float(k) / p.dim), "setting", f"top-k density k/d = {k}/{p.dim}")
    elif ratio is not None:
        from asyncbound.implementations.rules.topk import topk_size

        kk = topk_size(p.dim, ratio=float(ratio))
        out["gamma_topk"] = Constant(kk / p.dim, "setting", f"top-k density ceil(ratio*d)/d = {kk}/{p.dim}")
    nb = _hp(h, "n_blocks", "blocks")
    if nb is None:
        nb = ctx.workers if ctx.pattern in ("partition", "partition_plus") else 1
    out["n_blocks"] = Constant(float(nb), "setting", "blocks of the access pattern")
    out["omega"] = Constant(float(_hp(h, "omega", "overlap", default=1)), "setting", "overlap degree of blocks")
    for sym, names in (("a_step", ("a_step", "a")), ("b_step", ("b_step", "b")), ("p_step", ("p_step", "power"))):
        v = _hp(h, *names)
        if v is not None:
            out[sym] = Constant(float(v), "setting", f"schedule parameter {names[-1]}")
    return out


def _certified(problem) -> dict[str, Constant]:
    consts = dict(getattr(problem, "constants", {}) or {})
    certs = dict(getattr(problem, "certificates", {}) or {})
    out = {}
    for name, v in consts.items():
        if v is None:
            continue
        try:
            fv = float(v)
        except (TypeError, ValueError):
            continue
        out[name] = Constant(fv, "certified", certs.get(name, "certified by construction"))
    if "sigma" not in out and "sigma2" in out:
        s2 = out.pop("sigma2")
        out["sigma"] = Constant(math.sqrt(s2.value), "certified", s2.how + " (sigma = sqrt(sigma2))")
    return out


def _measured(ctx: RunContext, bound_names: set[str], have: dict) -> dict[str, Constant]:
    out: dict[str, Constant] = {}
    p = ctx.problem
    f_star = getattr(p, "f_star", None)
    if ctx.F0_samples is not None and len(ctx.F0_samples):
        out["F0"] = Constant(float(np.mean(ctx.F0_samples)), "measured",
                             "mean over seeds of f(x0) - f* (exact at the starting points; the bound is linear in F0)")
    elif ctx.x0 is not None and f_star is not None:
        import torch

        x0 = torch.as_tensor(ctx.x0, dtype=p.dtype)
        out["F0"] = Constant(float((p.loss(x0) - f_star).mean()), "measured",
                             "mean over seeds of f(x0) - f* at the recorded starting points")
    if ctx.x0 is not None and getattr(p, "x_star", None) is not None:
        xs = np.asarray(p.x_star, dtype=float)
        out["r0_sq"] = Constant(float(np.mean(np.sum((np.asarray(ctx.x0) - xs) ** 2, axis=-1))),
                                "measured", "mean over seeds of ||x0 - x*||^2")
    df = ctx.df
    if df is None:
        # planning: the delay model's guarantee stands in for the measured staleness
        if ctx.delay_max is not None:
            out["tau"] = Constant(float(ctx.delay_max), "setting", "max_delay guaranteed by the delay model (plan)")
            out["tau_avg"] = Constant(float(ctx.delay_max), "setting", "max_delay (upper estimate, plan)")
        nb = have.get("n_blocks")
        if nb is not None:
            out["p_min"] = Constant(1.0 / nb.value, "setting", "1/n_blocks (plan, fair schedule)")
        return out
    st = measure.staleness_summary(df)
    out["tau"] = Constant(float(st["tau_max"]), "measured", "max staleness over all updates and seeds of the trace")
    out["tau_avg"] = Constant(float(st["tau_avg"]), "measured", "mean staleness over all updates and seeds")
    bf = measure.block_frequencies(df)
    if math.isfinite(bf["p_min"]):
        out["p_min"] = Constant(bf["p_min"], "measured", "smallest fraction of writes to one block")
    if "B" in bound_names:
        mat = measure.elastic_B_samples(df, ctx.lr)
        if mat.size:
            # the squared form sqrt(max_t E||x_t - v_t||^2)/eta dominates the norm form (Jensen),
            # so it is a valid elastic constant for bounds stated with either form
            with np.errstate(over="ignore", invalid="ignore"):  # a diverged run: B = inf, said so
                b_meas = float(np.sqrt(np.nanmax(np.nanmean(mat ** 2, axis=0))))
            out["B"] = Constant(b_meas, "measured",
                                "sqrt(max_t mean over seeds of ||x_t - v_t||^2) / eta (empirical elastic "
                                "constant, squared form; >= the norm form)")
    if "M" in bound_names and "M" not in have:
        # the estimator is the one of the assumption that binds M (issue 18): at the evaluated
        # gradients only, or at every iterate as well
        at_iterates = "gradient_bounded_at_iterates" in ctx.assumptions
        est, how = M_ESTIMATORS[at_iterates]
        m2 = est(df)["M2_max"]
        if not math.isnan(m2):  # +inf on a diverging run: the bound is then vacuous, and says so
            out["M"] = Constant(math.sqrt(m2), "measured", how)
    if "sigma" in bound_names and "sigma" not in have:
        s2 = measure.grad_noise_variance(df)
        if math.isfinite(s2):
            out["sigma"] = Constant(math.sqrt(max(s2, 0.0)), "measured",
                                    "sqrt of mean (||g||^2 - ||grad f||^2) at evaluated updates (not certified)")
    return out


def bind(names: set[str], ctx: RunContext) -> tuple[dict[str, Constant], list[str]]:
    """Bind ``names``; return (constants, names that could not be bound)."""
    have: dict[str, Constant] = {}
    have.update(_settings(ctx))
    have.update(_certified(ctx.problem))
    for k, v in _measured(ctx, set(names), have).items():
        if k in have and have[k].origin == "certified":
            continue  # a certificate always beats an estimate
        have[k] = v
    for k, v in (ctx.overrides or {}).items():
        have[k] = v if isinstance(v, Constant) else Constant(float(v), "spelled", "given explicitly by the check")
    missing = sorted(n for n in names if n not in have)
    return {n: have[n] for n in sorted(names) if n in have}, missing


def values(constants: dict[str, Constant]) -> dict[str, float]:
    return {k: c.value for k, c in constants.items()}


#: which elastic-consistency system an access pattern is (keys of
#: ``theory.papers.nadiradze2021.B_SYSTEMS``, plus ``parameter_server``: see SAME_B)
SYSTEM_OF_PATTERN = {
    "full": "async_shared_memory", "partition": "async_shared_memory",
    "partition_plus": "async_shared_memory", "random_blocks": "async_shared_memory",
    "master_worker": "parameter_server", "sparse": "async_topk_no_ef",
    "sparse_ef": "async_topk_ef", "sync": "sequential",
}
#: systems without their own entry in B_SYSTEMS -> the entry whose B they share. A parameter
#: server whose master applies gradients computed on views at most tau updates old is case (a)
#: of the paper notes' "B per system" (nadiradze2021 notes §2.2: "asynchronous shared memory
#: ...; also a parameter server with bounded staleness tau"): B = tau M.
SAME_B = {"parameter_server": "async_shared_memory"}


def _certifies_m(problem) -> bool:
    return problem is not None and "M" in (getattr(problem, "constants", {}) or {})


def system_symbols(bound, problem=None) -> set[str]:
    """Symbols a check needs beyond the bound's own (the system B formula's tau, M, gamma):
    always for the elastic-consistency definition (metric view_gap), and for any other bound in
    B when ``problem`` certifies M (then B comes from the formula, see :func:`system_constants`)."""
    syms = {"tau", "M", "gamma_topk", "n_workers", "n_crash"}
    if "B" not in bound.expr_symbols():
        return set()
    if getattr(bound, "metric_id", None) == "view_gap" or _certifies_m(problem):
        return syms
    return set()


def system_constants(bound, consts: dict, pattern: str) -> dict:
    """B of the SYSTEM's formula (tau*M for lock-free shared memory, ...) instead of the B
    measured on the run, in two cases:

    - the elastic-consistency definition (expr eta*B, metric view_gap): comparing the measured
      view gap with eta*B_measured would be a tautology;
    - any other bound in B when M is certified (issue 12, divergence that counts): the formula
      with certified M and the schedule's tau is an upper bound of the elastic constant
      (E||x_t - v_t||^2 <= eta^2 tau sum E||g||^2 <= (eta tau M)^2, so it serves the norm and the
      squared form), known without the run's iterates, so a run that diverges under every side
      condition is a FAIL rather than a vacuous bound measured on the diverging run.

    The measured B is kept as ``B_measured``. ``pattern``: the run's access pattern
    (:data:`SYSTEM_OF_PATTERN`)."""
    if "B" not in bound.expr_symbols():
        return consts
    view_gap = getattr(bound, "metric_id", None) == "view_gap"
    m = consts.get("M")
    if not view_gap and (m is None or m.origin != "certified"):
        return consts
    try:
        from asyncbound.theory.papers.nadiradze2021 import B_SYSTEMS
    except ImportError:
        return consts
    system = SYSTEM_OF_PATTERN.get(str(pattern), "async_shared_memory")
    expr = B_SYSTEMS[SAME_B.get(system, system)].expr
    vals = values(consts)
    names = {s.name for s in expr.free_symbols}
    if not names <= vals.keys():
        return consts
    out = dict(consts)
    if "B" in out:
        out["B_measured"] = out["B"]
    value = float(expr.subs({s: vals[s.name] for s in expr.free_symbols}))
    out["B"] = Constant(value, "formula",
                        f"B of the '{system}' system: {expr} (theory.papers.nadiradze2021)")
    return out
