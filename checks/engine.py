"""One check: run an algorithm against a bound and decide, with the evidence kept.

``run_check(spec, alpha)`` is the single path every caller uses (``asyncbound verify``,
``asyncbound check``, the pytest suite, the hypothesis property factory):

1. plan: bind the bound's symbols with the run's settings and the delay model's guarantee, solve
   the step size as ``lr_fraction`` times the admissible maximum of the solved side condition
   (``eta <= ...``), unless the spec fixes ``lr``;
2. run the algorithm on the backend for a batch of seeds -> Trace;
3. bind again, now with measured quantities (tau from the trace, B, p_min ...), and check every
   side condition with numbers: a failed one gives NOT_APPLICABLE;
4. estimate the bound's metric with a confidence interval over seeds (``checks.metrics``),
   evaluate the bound, and decide by its kind (``checks.verdicts``);
5. return a record (CONTRACTS §9) with measured value, CI, bound value, ratio, provenance,
   constants with origins, conditions, configuration, series, staleness and throughput.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from asyncbound.checks import binding, measure, metrics
from asyncbound.checks.records import check_id as make_check_id
from asyncbound.checks.stats import ALPHA_SINGLE, N_SEEDS_QUICK, RTOL
from asyncbound.checks.verdicts import Decision, Verdict, decide, not_applicable

log = logging.getLogger(__name__)

#: Fraction of the admissible maximum step used by default: well inside the side condition, so
#: a PASS is not an accident of sitting on the boundary, yet large enough that the delay term of
#: the bound matters (a tiny step would make every delay bound trivially true).
LR_FRACTION = 0.5


@dataclass
class CheckSpec:
    algorithm: object  # registry name, or an AlgorithmSpec (user variant)
    bound: str
    problem: str = "quadratic"
    problem_options: dict = field(default_factory=dict)
    delay: str = "uniform:4"
    steps: int = 2000
    seeds: int = N_SEEDS_QUICK
    workers: int = 4
    backend: str = "reference"
    lr: float | None = None
    lr_fraction: float = LR_FRACTION
    eval_every: int = 10
    base_seed: int = 0
    options: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)
    study: str | None = None
    label: str = ""
    rtol: float = RTOL
    #: check kind: "bound" (this module) or "oracle" (asyncbound.checks.oracle: exact trajectory)
    test: str = "bound"
    #: other bounds that this check's measurement decides as well (the same finite-run proxy);
    #: the suite runs such a measurement once instead of once per bound (see suite.SAME_MEASUREMENT)
    also_checks: tuple = ()

    @property
    def algorithm_name(self) -> str:
        return self.algorithm if isinstance(self.algorithm, str) else self.algorithm.name

    @property
    def check_id(self) -> str:
        return make_check_id(self.algorithm_name, self.bound, self.backend, self.label)

    def config(self) -> dict:
        d = asdict(self) if isinstance(self.algorithm, str) else {
            k: v for k, v in asdict(self).items() if k != "algorithm"}
        d["algorithm"] = self.algorithm_name
        return d


# --------------------------------------------------------------------------------------------
# adapters to implementations / theory


def get_algorithm(algorithm):
    if not isinstance(algorithm, str):
        return algorithm
    from asyncbound.implementations.registry import get_algorithm as _get

    return _get(algorithm)


def get_problem(spec: CheckSpec):
    from asyncbound.implementations.problems import get_problem as _get

    opts = dict(spec.problem_options)
    return _get(spec.problem, seed=spec.base_seed, **opts)


def parse_delay(text: str):
    from asyncbound.implementations.delays import parse_delay as _parse

    return _parse(text)


def hparams_of(algo, spec: CheckSpec, lr: float) -> dict:
    h = dict(getattr(algo, "defaults", {}) or {})
    h.update(spec.options)
    h["lr"] = lr
    return h


def pattern_of(algo) -> str:
    return str(getattr(algo, "pattern", "full"))


def run_backend(spec: CheckSpec, problem, delays, lr: float, eval_every: int | None = None):
    """The reference backend runs the seeds as one batch; a real backend runs one seed per run,
    so its seeds are separate runs, concatenated into one trace (seed column = run index)."""
    from asyncbound.implementations.backends import run

    ev = eval_every or spec.eval_every
    if spec.backend == "reference":
        seeds = list(range(spec.base_seed, spec.base_seed + spec.seeds))
        return run(spec.algorithm, problem, delays, spec.steps, seeds, backend=spec.backend,
                   workers=spec.workers, lr=lr, eval_every=ev, **spec.options)
    from asyncbound.implementations.trace import Trace

    extra = dict(spec.options)
    if spec.backend in ("processes", "distributed"):
        extra.setdefault("view_gap", True)
    import pickle
    from dataclasses import replace as _replace

    from asyncbound.implementations.backends import _backend_module
    from asyncbound.implementations.registry import get_algorithm as _get

    algo = _get(spec.algorithm)
    if spec.backend not in algo.backends:
        raise ValueError(f"{algo.name} does not support backend {spec.backend!r}")
    if algo.name not in _builtin_names():
        # a spawned worker knows only the built-in registry; an unregistered copy makes the
        # backend pickle the spec itself (so its rule factory must be picklable)
        try:
            pickle.dumps(algo.rule)
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"{algo.name}: its rule factory cannot be sent to worker processes "
                             f"({type(exc).__name__}); define it at module level in an importable module") from None
        algo = _replace(algo)
    backend_run = _backend_module(spec.backend).run
    parts = []
    for i in range(spec.seeds):
        tr = backend_run(algo, problem, delays, spec.steps, [spec.base_seed + i], workers=spec.workers,
                         lr=lr, eval_every=ev, **extra)
        tr.columns["seed"] = np.full_like(tr.columns["seed"], i)
        parts.append(tr)
    out = Trace.concat(parts)
    out.run_intervals = [getattr(tr, "intervals", None) for tr in parts]  # per run (oracle slack)
    out.meta["n_seeds"] = spec.seeds
    out.meta["base_seed"] = spec.base_seed
    out.meta["seeds_are_runs"] = True
    out.meta.pop("loss0", None)  # x0 differs per run; F0 is recomputed per run below
    out.x0 = np.concatenate([_x0_of(problem, spec.base_seed + i) for i in range(spec.seeds)])
    return out


def _builtin_names() -> set[str]:
    try:
        from asyncbound.implementations import algorithms

        return {e.name for e in algorithms._ENTRIES}
    except (ImportError, AttributeError):
        return set()


def _x0_of(problem, seed: int) -> np.ndarray:
    from asyncbound.implementations.backends import initial_point

    return initial_point(problem, 1, seed).double().numpy()


# --------------------------------------------------------------------------------------------
# planning


def admissible_lr(bound, values: dict) -> tuple[float, list[str]]:
    """Largest eta allowed by the bound's solved side conditions (``eta <= expr``), evaluated
    at ``values``; inf when no condition constrains eta. Returns (eta_max, condition texts)."""
    import sympy as sp

    eta = sp.Symbol("eta", positive=True)
    best, texts = math.inf, []
    exprs = []
    derived = getattr(bound, "derived", {}) or {}
    if "eta_max" in derived:
        exprs.append(derived["eta_max"])
    for c in bound.conditions:
        if c.lhs == eta and c.rel_op in ("<=", "<"):
            exprs.append(c.rhs)
        elif c.rhs == eta and c.rel_op in (">=", ">"):
            exprs.append(c.lhs)
    for e in exprs:
        names = {s.name for s in e.free_symbols}
        if not names <= values.keys():
            continue
        try:
            v = float(e.subs({s: values[s.name] for s in e.free_symbols}))
        except (TypeError, ValueError):
            continue
        if math.isfinite(v) and v > 0:
            texts.append(f"eta <= {sp.sstr(e)} = {v:.4g}")
            best = min(best, v)
    return best, texts


def plan_lr(spec: CheckSpec, bound, problem, algo) -> tuple[float, str]:
    default_lr = float((getattr(algo, "defaults", {}) or {}).get("lr", 0.01))
    if spec.lr is not None:
        return float(spec.lr), "given by the check"
    delays = parse_delay(spec.delay)
    tau_plan = getattr(delays, "max_delay", None)
    if spec.backend == "distributed":
        # natural asynchrony only (no injection): plan for the staleness a master with
        # equally fast workers sees, p - 1, with a factor 2 of room; measured tau decides
        tau_plan = max(tau_plan or 0, 2 * (spec.workers - 1))
    ctx = binding.RunContext(problem=problem, lr=default_lr, steps=spec.steps, workers=spec.workers,
                             hparams=hparams_of(algo, spec, default_lr), pattern=pattern_of(algo),
                             delay_max=tau_plan, overrides=spec.overrides)
    consts, _ = binding.bind(bound.symbols(), ctx)
    eta_max, texts = admissible_lr(bound, binding.values(consts))
    if math.isfinite(eta_max):
        return spec.lr_fraction * eta_max, f"{spec.lr_fraction:g} x admissible max ({'; '.join(texts)})"
    return default_lr, "algorithm default (no side condition on eta)"


# --------------------------------------------------------------------------------------------
# the check


def initial_points(trace, problem, spec: CheckSpec):
    """Starting points of the run, (S, d), from the trace meta when recorded there."""
    meta = getattr(trace, "meta", {}) or {}
    for key in ("x0", "initial_params"):
        if meta.get(key) is not None:
            v = meta[key]
            if isinstance(v, dict) and "data" in v:
                return np.asarray(v["data"], dtype=float).reshape(v["shape"])
            return np.asarray(v, dtype=float)
    x0 = getattr(trace, "x0", None)
    if x0 is not None:
        return np.asarray(x0, dtype=float)
    try:  # the backends' convention: initial_point(problem, S, base_seed)
        from asyncbound.implementations.backends import initial_point

        n = int(meta.get("n_seeds") or spec.seeds)
        base = int(meta.get("base_seed", spec.base_seed))
        return initial_point(problem, n, base).double().numpy()
    except Exception:  # noqa: BLE001 - F0 then falls back to the recorded loss0
        return None


def initial_gap(trace, problem, x0) -> np.ndarray | None:
    meta = getattr(trace, "meta", {}) or {}
    for key in ("initial_loss", "loss0", "f_x0"):
        if meta.get(key) is not None and problem.f_star is not None:
            return np.asarray(meta[key], dtype=float).ravel() - problem.f_star
    if x0 is not None and problem.f_star is not None:
        import torch

        return (problem.loss(torch.as_tensor(x0, dtype=problem.dtype)) - problem.f_star).numpy()
    return None


def bound_record(bound) -> dict:
    try:
        d = bound.to_dict()
    except Exception:  # noqa: BLE001 - a partial description is better than none
        d = {"key": bound.key}
    src = d.get("source")
    return {
        "key": bound.key, "paper": getattr(bound, "paper", None), "metric": getattr(bound, "metric", None),
        "metric_id": getattr(bound, "metric_id", None),
        "kind": getattr(bound.kind, "value", str(bound.kind)),
        "provenance": getattr(bound.provenance, "value", str(bound.provenance)),
        "latex": d.get("latex"), "mathml": d.get("mathml"), "expression": d.get("expression"),
        "statement": d.get("statement"),
        "source": src.get("cite") if isinstance(src, dict) else src,
        "source_detail": src, "notes": d.get("notes"),
    }


def _base_record(spec: CheckSpec, bound, lr, lr_how) -> dict:
    cfg = spec.config()
    cfg.update({"lr": lr, "lr_rule": lr_how, "seeds": spec.seeds})
    return {"check_id": spec.check_id, "algorithm": spec.algorithm_name, "backend": spec.backend,
            "problem": spec.problem, "workers": spec.workers, "bound": bound_record(bound),
            "config": cfg, "counterexample": None}


def evaluate_trace(spec: CheckSpec, bound, problem, algo, trace, lr: float, alpha: float) -> dict:
    """Steps 3-5 on a finished trace; returns the record fields that depend on the run."""
    df = measure.as_frame(trace)
    out: dict = {}
    st = measure.staleness_summary(df)
    out["staleness"] = {"per_worker": measure.staleness_histograms(df, "worker"),
                        "tau_max": st["tau_max"], "tau_avg": st["tau_avg"],
                        "per_block": st.get("per_block")}
    tp = measure.throughput(df)
    meta = getattr(trace, "meta", {}) or {}
    if spec.backend == "reference":
        # the reference backend's wall_time is virtual time; the real rate is the batch's
        tp = {"virtual_updates_per_s": tp.get("updates_per_s"), "clock": "virtual"}
        if meta.get("elapsed_s"):
            tp["updates_per_s"] = len(df) / float(meta["elapsed_s"])
            tp["note"] = "seed-updates per second of the vectorised reference run"
    out["throughput"] = tp
    out["fairness"] = measure.block_frequencies(df)
    x0 = initial_points(trace, problem, spec)
    F0s = initial_gap(trace, problem, x0)
    delays = parse_delay(spec.delay)
    ctx = binding.RunContext(problem=problem, lr=lr, steps=spec.steps, workers=spec.workers,
                             hparams=hparams_of(algo, spec, lr), pattern=pattern_of(algo),
                             delay_max=getattr(delays, "max_delay", None), df=df, x0=x0,
                             F0_samples=F0s, overrides=spec.overrides)
    names = bound.symbols() - binding.UNBINDABLE
    consts, missing = binding.bind(names | metrics.extra_symbols(bound), ctx)
    missing = [m for m in missing if m in names]
    consts = metrics.system_constants(bound, consts, algo)
    out["constants"] = {k: c.as_dict() for k, c in consts.items()}
    vals = binding.values(consts)

    evidence = measure.divergence(df) or measure.huge(df) or measure.blowup(df)
    meta = getattr(trace, "meta", {}) or {}
    if evidence is None and not meta.get("complete", True) and "diverg" in str(meta.get("error")):
        evidence = {"column": "params", "value": "non-finite", "update": int(df["update"].max()) if len(df) else 0,
                    "seed": -1, "error": meta.get("error")}
    conds = []
    cond_missing = []
    if bound.conditions:
        needed = set()
        for c in bound.conditions:
            needed |= {s.name for s in c.free_symbols}
        cond_missing = sorted(needed - vals.keys())
        if not cond_missing:
            try:
                conds = [r.to_dict() for r in bound.check_conditions(
                    **{k: v for k, v in vals.items() if k in needed})]
            except ValueError as exc:
                conds = [{"text": f"conditions could not be evaluated: {exc}", "holds": False}]
    out["conditions"] = conds
    failed = [c for c in conds if not c.get("holds")]

    if cond_missing or missing:  # the theorem does not apply: no claim, divergence or not
        if evidence is not None:
            out["divergence"] = evidence
        names = sorted(set(cond_missing) | set(missing))
        d = Decision(Verdict.NOT_APPLICABLE,
                     f"assumption not certified on problem '{spec.problem}': no value for {', '.join(names)}")
        out.update(verdict=d.verdict.value, reason=d.reason)
        return out
    if evidence is not None:
        out["divergence"] = evidence
        run_measured = [k for k, c in consts.items() if c.origin == "measured" and k in ("M", "B", "sigma", "G")]
        if run_measured:
            d = Decision(Verdict.DIVERGED, f"run diverged ({evidence['column']} = {evidence['value']} at "
                                           f"update {evidence['update']}); the bound's {', '.join(run_measured)} "
                                           "were measured on this diverging run, so the bound is vacuous")
        elif failed or cond_missing:
            d = Decision(Verdict.DIVERGED, f"run diverged ({evidence['column']} = {evidence['value']} at "
                                           f"update {evidence['update']}); the theorem's conditions did "
                                           "not all hold, so it makes no claim")
        else:
            d = Decision(Verdict.FAIL, f"run diverged ({evidence['column']} = {evidence['value']} at update "
                                       f"{evidence['update']}, seed {evidence['seed']}) although every side "
                                       "condition held: the bound claims a finite value")
        out.update(verdict=d.verdict.value, reason=d.reason)
        return out
    if failed:
        d = not_applicable(failed)
        out.update(verdict=d.verdict.value, reason=d.reason)
        return out

    m = metrics.measure_metric(bound, df, problem, trace, vals, alpha, spec)
    out["measured"] = m.interval.as_dict()
    out["series"] = m.series
    out["bound_value"] = m.bound_value
    # measured/bound is meaningful for positive bounds only (a slope target of -0.3 vs a slope
    # of -0.8 gives 2.7, which reads as a violation); for the others the margin says it all
    ok = m.bound_value is not None and math.isfinite(m.interval.value) and math.isfinite(m.bound_value)
    out["ratio"] = m.interval.value / m.bound_value if ok and m.bound_value > 0 else None
    out["margin"] = m.bound_value - m.interval.value if ok else None
    if out["series"] is not None:
        out["series"].setdefault("label", m.what)
    if m.decision is not None:
        d = m.decision
    else:
        d = decide(m.kind, m.interval, m.bound_value, rtol=spec.rtol, what=m.what, proxy_note=m.note)
        if m.fail_is_inconclusive and d.verdict == Verdict.FAIL:
            d = Decision(Verdict.INCONCLUSIVE, d.reason + f"; but {m.fail_is_inconclusive}")
    reason = d.reason
    if spec.also_checks:
        out["also_checks"] = list(spec.also_checks)
        reason += (f"; this measurement also decides {', '.join(spec.also_checks)} (the same "
                   "finite-run proxy), so it is run and counted once")
    out.update(verdict=d.verdict.value, reason=reason)
    if m.extra:
        out.update(m.extra)
    return out


def run_check(spec: CheckSpec, alpha: float = ALPHA_SINGLE) -> dict:
    """Run one check end to end and return its record (never raises for a bad run)."""
    from asyncbound import theory

    if spec.test == "oracle":
        from asyncbound.checks.oracle.check import run_oracle_check

        return run_oracle_check(spec, alpha)
    t0 = time.perf_counter()
    bound = theory.get_bound(spec.bound)
    if spec.study:
        from asyncbound.checks import studies

        rec = studies.run_study(spec, bound, alpha)
        rec.setdefault("test", "study")
        rec["duration_s"] = time.perf_counter() - t0
        return rec
    algo = get_algorithm(spec.algorithm)
    problem = get_problem(spec)
    lr, lr_how = plan_lr(spec, bound, problem, algo)
    rec = _base_record(spec, bound, lr, lr_how)
    rec["test"] = "bound"
    rec["measured"] = {"alpha": alpha, "n_seeds": spec.seeds}
    try:
        trace = run_backend(spec, problem, parse_delay(spec.delay), lr)
    except (FloatingPointError, OverflowError) as exc:
        rec.update(verdict="DIVERGED", reason=f"run raised {type(exc).__name__}: {exc}")
        rec["duration_s"] = time.perf_counter() - t0
        return rec
    rec["_trace"] = trace
    if not getattr(trace, "complete", True):
        rec["incomplete"] = (trace.meta or {}).get("error")
    rec.update(evaluate_trace(spec, bound, problem, algo, trace, lr, alpha))
    if "measured" in rec and "alpha" not in rec["measured"]:
        rec["measured"]["alpha"] = alpha
    rec["duration_s"] = time.perf_counter() - t0
    return rec
