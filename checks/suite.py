"""The verification suite: every registered algorithm against every bound it claims, every bound
at least once, plus the per-paper studies (sweeps and comparisons).

``build_suite(name, backends=..., workers=...)`` returns a list of ``CheckSpec``. Each bound gets a
configuration that exercises it (problem, delay, steps) from ``BOUND_CONFIG``; the step size is
solved from the bound's side condition by the engine unless fixed here with a reason.

Profiles:
- ``quick``: N_SEEDS_QUICK seeds, short runs; covers every algorithm and every bound (CI, <= 5 min
  on 2 cores);
- ``full``: N_SEEDS_FULL seeds, runs 2-4x longer, relu_net for PASSM, larger sweeps;
- ``thorough``: the full suite with the thorough worst-case search.

Every bound check of a suite on a backend that batches seeds searches its bound's admissible
space for the worst configuration and decides there (:mod:`.search`, issue 12) with the search
profile of the suite (:data:`SUITE_SEARCH`); studies run at their one configuration.
"""

from __future__ import annotations

import copy
import logging

from asyncbound.checks.engine import CheckSpec
from asyncbound.checks.stats import N_SEEDS_FULL, N_SEEDS_QUICK, N_SEEDS_REAL

log = logging.getLogger(__name__)

SUITES = ("quick", "full", "thorough")
#: suite -> worst-case search profile of its bound checks (checks.search.PROFILES)
SUITE_SEARCH = {"quick": "quick", "full": "full", "thorough": "thorough"}

# Per-bound configuration. ``lr`` is fixed only where the bound's own side condition does not
# constrain eta enough to keep plain SGD stable (the theorem allows it, the run would still be
# a poor test): each such case says why.
BOUND_CONFIG: dict[str, dict] = {
    "classic_delayed_sgd/nonconvex": dict(problem="quadratic", delay="uniform:4", steps=1500, eval_every=1),
    # cond = 1 (all eigenvalues L): the regime where the SC bound is within ~2x of the truth,
    # so a step-size error shows (on a spread spectrum the bound is ~5x loose).
    "classic_delayed_sgd/strongly_convex": dict(problem="quadratic", problem_options={"cond": 1.0},
                                                delay="uniform:4", steps=1500, eval_every=25),
    "nadiradze2021/elastic_consistency": dict(problem="quadratic", delay="uniform:4", steps=800, eval_every=50),
    "nadiradze2021/view_gap_async": dict(problem="quadratic", delay="uniform:4", steps=800, eval_every=50),
    # NC-M holds for any eta > 0; eta = 0.05 keeps delayed SGD stable at tau = 4 on L = 1.
    "nadiradze2021/nonconvex_M": dict(problem="quadratic", delay="uniform:4", steps=1500, eval_every=1, lr=0.05),
    "nadiradze2021/nonconvex_sigma": dict(problem="quadratic", delay="uniform:4", steps=1500, eval_every=1),
    # SC only needs eta <= 1/mu (= 10 here), far beyond stability (2/L); eta = 0.05 as for NC-M.
    "nadiradze2021/strongly_convex": dict(problem="quadratic", delay="uniform:4", steps=1500, eval_every=50, lr=0.05),
    # SC-sigma: cond = 1 and sigma = 1, where the noise (not the first steps' view gap, which sets
    # the measured B) sets the floor; eta from its condition eta <= 1/(2L).
    "nadiradze2021/strongly_convex_sigma": dict(problem="quadratic", problem_options={"cond": 1.0, "sigma": 1.0},
                                                delay="uniform:4", steps=1500, eval_every=50),
    "gratton_toint2026/rate": dict(problem="quadratic", delay="uniform:4", steps=1000, eval_every=5),
    "gratton_toint2026/slope": dict(problem="quadratic", delay="uniform:4", steps=1000, eval_every=5),
    # APAM's convex result is about the projected iteration on a bounded domain (assumption A4):
    # on the box-constrained logistic problem, not on an unconstrained quadratic (issue 17)
    "xu_apam/convex": dict(problem="logistic_box", delay="uniform:4", steps=3000, eval_every=10,
                           options={"schedule": "inv_sqrt"}),
    "xu_apam/nonconvex": dict(problem="quadratic", delay="uniform:4", steps=3000, eval_every=10,
                              options={"schedule": "inv_sqrt"}),
    "kungurtsev2021/stationarity": dict(problem="l1_least_squares", delay="uniform:4", steps=2000,
                                        eval_every=10, study="passm_stationarity"),
}

#: bounds no registered algorithm claims get a check with this algorithm
DEFAULT_ALGORITHM = {
    "classic_delayed_sgd/nonconvex": "hogwild_sgd",
    "classic_delayed_sgd/strongly_convex": "hogwild_sgd",
    "nadiradze2021/view_gap_async": "hogwild_sgd",
    "nadiradze2021/nonconvex_M": "hogwild_sgd",
    "nadiradze2021/strongly_convex": "hogwild_sgd",
    "nadiradze2021/strongly_convex_sigma": "hogwild_sgd",
    "nadiradze2021/elastic_consistency": "hogwild_sgd",
    "nadiradze2021/nonconvex_sigma": "hogwild_sgd",
    "gratton_toint2026/slope": "async_adagrad",
    "gratton_toint2026/rate": "async_adagrad",
    "xu_apam/convex": "apam",
    "xu_apam/nonconvex": "apam",
    "kungurtsev2021/stationarity": "passm",
}

#: bound -> the bound whose check measures exactly the same thing. Gratton-Toint's rate has free
#: constants (C0, C1, p_log), so the only consequence a finite run can test is its order in K:
#: the log-log slope of the running min of ||grad f||^2, inside the band that the slope bound
#: (derived from the rate) states. Checking both would run one measurement twice and count it
#: twice; the rate's check decides both and says so in its record (``also_checks``).
SAME_MEASUREMENT: dict[str, str] = {"gratton_toint2026/slope": "gratton_toint2026/rate"}

#: algorithms that claim no bound still get run under the generic rate-shape check
FALLBACK_BOUND = "gratton_toint2026/rate"
#: label of the check an algorithm that claims no bound gets under FALLBACK_BOUND: a smoke run
#: at the bound's own configuration, not a claim, so the worst-case search (which looks for
#: counterexamples to claims) does not run on it (searched, async Adam at the master FAILed the
#: fallback rate proxy in 3 of 40 batches: a finding about Adam, not a claim anybody makes)
UNCLAIMED = "unclaimed"


def _known_bounds() -> dict:
    """The shipped bounds: a user's claimed bound is checked only with the algorithm claiming it."""
    from asyncbound import theory

    return {k: b for k, b in theory.BOUNDS.items() if not theory.is_user_bound(k)}


def _algorithms() -> dict:
    from asyncbound.implementations.registry import ALGORITHMS

    return ALGORITHMS


def _pattern(algorithm) -> str:
    if not isinstance(algorithm, str):
        return algorithm.pattern
    algos = _algorithms()
    return algos[algorithm].pattern if algorithm in algos else "full"


def spec_for(algorithm, bound_key: str, *, suite: str = "quick", backend: str = "reference",
             workers: int = 4, label: str = "") -> CheckSpec:
    cfg = copy.deepcopy(BOUND_CONFIG.get(bound_key, dict(problem="quadratic", delay="uniform:4",
                                                         steps=1500, eval_every=10)))
    seeds = N_SEEDS_QUICK if suite == "quick" else N_SEEDS_FULL
    if suite != "quick":
        cfg["steps"] = int(cfg["steps"] * 3)
        if cfg.get("study") == "passm_stationarity":
            cfg["problem"] = "relu_net"
    from asyncbound.implementations.backends import capabilities

    caps = capabilities(backend)
    if not caps.batches_seeds:
        seeds = N_SEEDS_REAL  # one real run per seed (see checks.stats)
        cfg["steps"] = min(cfg["steps"], 1000)
    if not caps.injects_delays and cfg.get("study") is None:
        cfg["delay"] = "none"  # the backend measures its own delays (no injection)
    name = algorithm if isinstance(algorithm, str) else algorithm.name
    if _pattern(algorithm) == "sync":
        cfg["delay"] = "none"  # synchronous: no staleness by construction
    if bound_key.startswith("kungurtsev2021/") and name != "passm":
        cfg.pop("study", None)
        cfg["study"] = "passm_stationarity"
    return CheckSpec(algorithm=algorithm, bound=bound_key, seeds=seeds, workers=workers,
                     backend=backend, label=label, **cfg)


def build_suite(name: str = "quick", *, backends=("reference",), workers: int = 4,
                algorithms=None, include_studies: bool = True, search: bool = True) -> list[CheckSpec]:
    """Every algorithm x every bound it claims (x backends it supports), every bound at least once,
    and the paper studies. ``algorithms``: restrict to these registry entries (AlgorithmSpecs or
    names); unknown bound keys claimed by an algorithm are kept (the engine reports them).
    ``search``: bound checks search their admissible space (profile ``SUITE_SEARCH[name]``)."""
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; valid: {', '.join(SUITES)}")
    specs = _build(name, backends=backends, workers=workers, algorithms=algorithms,
                   include_studies=include_studies)
    if search:
        from asyncbound.implementations.backends import capabilities

        # a real backend runs one process per seed and run: searching it is a benchmark's job
        specs = [_searched(s, SUITE_SEARCH[name], capabilities(s.backend))
                 if s.test == "bound" and not s.study and s.label != UNCLAIMED else copy.copy(s)
                 for s in specs]
    return specs


#: sequential looks of a searched check's deciding run (seeds x1, x2, x4, x8 at alpha/4 each):
#: the search decides where the claim is weakest, where a true bound can be nearly attained
#: (the elastic-consistency definition at the corner: 0.94-0.96 of it), which 32 seeds cannot
#: tell from a violation; only an INCONCLUSIVE look pays for the next
SEARCHED_LOOKS = 4


def _searched(spec: CheckSpec, profile: str, caps) -> CheckSpec:
    out = copy.copy(spec)
    if caps.batches_seeds:
        out.search = profile
        out.looks = SEARCHED_LOOKS
    return out


def _build(name: str, *, backends, workers: int, algorithms, include_studies: bool) -> list[CheckSpec]:
    bounds = _known_bounds()
    algos = _algorithms()
    chosen = list(algos.values()) if algorithms is None else [
        algos[a] if isinstance(a, str) else a for a in algorithms]
    specs: list[CheckSpec] = []
    covered: set[str] = set()
    for backend in backends:
        for algo in chosen:
            if backend not in getattr(algo, "backends", ("reference",)):
                continue
            claimed = list(algo.bounds) or [FALLBACK_BOUND]
            for key in claimed:
                if SAME_MEASUREMENT.get(key) in claimed:
                    continue  # decided by its partner's check, below
                also = tuple(k for k in claimed if SAME_MEASUREMENT.get(k) == key)
                check = spec_for(algo.name if algorithms is None else algo, key, suite=name,
                                backend=backend, workers=workers,
                                label="" if algo.bounds else UNCLAIMED)
                check.also_checks = also
                specs.append(check)
                covered.update((key, *also))
    if "reference" in backends:  # exact-trajectory checks of every linear algorithm
        from asyncbound.checks.oracle.specs import oracle_specs

        specs.extend(oracle_specs(chosen, name, workers=workers, by_name=algorithms is None))
    if algorithms is not None and include_studies:
        specs.extend(variant_studies(chosen, name, workers=workers))
    if algorithms is None:
        for key in bounds:
            if key not in covered and SAME_MEASUREMENT.get(key) not in covered:
                specs.append(spec_for(DEFAULT_ALGORITHM.get(key, "hogwild_sgd"), key, suite=name,
                                      backend="reference", workers=workers))
        if include_studies:
            specs.extend(studies_for(name, workers=workers))
    from asyncbound.implementations.backends import capabilities

    for backend in backends:
        if capabilities(backend).observes_updates:  # lemmas recompute every update there
            specs.extend(exact_specs([a.name if algorithms is None else a for a in chosen], name,
                                     workers=workers, backend=backend))
        else:  # real backends: conformance of implements variants (locked, exact)
            specs.extend(exact_specs([a for a in chosen if getattr(a, "implements", None)
                                      and backend in a.backends], name, workers=workers,
                                     backend=backend, tests=("conformance",)))
    return specs


def exact_specs(algos, suite: str = "quick", *, workers: int = 4, backend: str = "reference",
                tests=("lemma", "conformance")) -> list[CheckSpec]:
    """The exact checks (issue 11): lemma checks for every algorithm (each checks the lemmas
    that apply to it, ``checks.lemmas.applicable``), conformance for every algorithm that says
    which registered algorithm it ``implements``. ``full`` checks more updates and seeds (more
    places for a bug to show; there is no interval to tighten)."""
    from asyncbound.checks.exact import EXACT_SEEDS, EXACT_STEPS, exact_spec

    mult = 1 if suite == "quick" else 3
    size = dict(steps=EXACT_STEPS * mult, seeds=EXACT_SEEDS * (1 if suite == "quick" else 2))
    algos_by_name = _algorithms()
    out = []
    from asyncbound.implementations.backends import capabilities

    if not capabilities(backend).batches_seeds:  # one real run per seed (checks.stats.N_SEEDS_REAL)
        size = dict(steps=min(size["steps"], 200), seeds=1)
    for test in tests:
        for a in algos:
            spec = algos_by_name.get(a) if isinstance(a, str) else a
            if test == "conformance" and not getattr(spec, "implements", None):
                continue
            delay = "none" if _pattern(a) == "sync" else "uniform:4"
            out.append(exact_spec(a, test, workers=workers, delay=delay, backend=backend, **size))
    return out


def studies_for(suite: str, *, workers: int = 4) -> list[CheckSpec]:
    """Per-paper studies: APAM's gap against tau at fixed K, top-k with/without EF, PASSM's and
    PASSM+'s momentum gain (the limiting ODE's 1/(1-m))."""
    seeds = N_SEEDS_QUICK if suite == "quick" else N_SEEDS_FULL
    mult = 1 if suite == "quick" else 3
    out = [
        CheckSpec(algorithm="apam", bound="xu_apam/nonconvex", problem="quadratic", delay="constant:0",
                  steps=2000 * mult, eval_every=10, seeds=seeds, workers=workers, study="apam_tau_sweep",
                  options={"schedule": "inv_sqrt"}, label="tau-sweep"),
        CheckSpec(algorithm="async_topk_ef", bound="nadiradze2021/elastic_consistency", problem="quadratic",
                  delay="uniform:4", steps=1500 * mult, eval_every=10, seeds=seeds, workers=workers,
                  study="topk_ef_compare", label="ef-vs-no-ef"),
    ]
    out += [momentum_gain_spec(a, suite, workers=workers) for a in ("passm", "passm_plus")]
    return out


def momentum_gain_spec(algorithm, suite: str, *, workers: int = 4) -> CheckSpec:
    """The momentum-gain study of ``algorithm`` (PASSM or PASSM+, or a variant of either)."""
    seeds = N_SEEDS_QUICK if suite == "quick" else N_SEEDS_FULL
    mult = 1 if suite == "quick" else 3
    return CheckSpec(algorithm=algorithm, bound="kungurtsev2021/stationarity", problem="quadratic",
                     problem_options={"sigma": 0.01}, delay="uniform:4", steps=1000 * mult, eval_every=1,
                     seeds=seeds, workers=workers, study="passm_momentum_gain", label="momentum-gain")


def variant_studies(algos, suite: str, *, workers: int = 4) -> list[CheckSpec]:
    """Studies that apply to a user's (or a planted) algorithm: the momentum gain for a
    partitioned (PASSM or PASSM+ pattern) algorithm with momentum claiming the Kungurtsev result."""
    from asyncbound.checks.momentum_gain import PREDICTIONS

    out = []
    for a in algos:
        claims_k = any(b.startswith("kungurtsev2021/") for b in a.bounds)
        if claims_k and a.pattern in PREDICTIONS and float(a.defaults.get("momentum", 0) or 0) > 0:
            out.append(momentum_gain_spec(a, suite, workers=workers))
    return out
