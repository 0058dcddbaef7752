"""Records of the exact check kinds: ``conformance`` and ``lemma`` (CONTRACTS §9, field ``test``).

``checks.engine.run_check`` hands a :class:`CheckSpec` whose ``test`` is one of
:data:`EXACT_TESTS` to :func:`run_exact_check`, which runs :func:`checks.conformance.
check_conformance` or :func:`checks.lemmas.check_lemmas` and wraps the result in the common
record shape (so ``verify``, ``check``, the report and the false-alarm tools read them like any
other record). Their ``bound`` entry is a pseudo-bound keyed ``conformance/<registered>`` or
``lemma/<algorithm>`` with no kind: there is no inequality with a confidence interval here, the
verdict is exact (PASS, or FAIL naming the first update that breaks it).
"""

from __future__ import annotations

import time

EXACT_TESTS = ("conformance", "lemma")

#: the run a conformance / lemma check makes by default: short (every update is checked, so
#: length buys nothing but more updates at which a bug can show; 300 covers PASSM+'s warm-up
#: of 10 per worker many times over) and few seeds (exact checks need no confidence interval)
EXACT_STEPS = 300
EXACT_SEEDS = 4


def exact_spec(algorithm, test: str, *, workers: int = 4, label: str = "", **overrides):
    """The CheckSpec of one conformance or lemma check of ``algorithm``."""
    from asyncbound.checks.engine import CheckSpec

    if test not in EXACT_TESTS:
        raise ValueError(f"test must be one of {EXACT_TESTS}, got {test!r}")
    cfg = dict(problem="quadratic", delay="uniform:4", steps=EXACT_STEPS, seeds=EXACT_SEEDS)
    cfg.update(overrides)
    return CheckSpec(algorithm=algorithm, bound=test, workers=workers, label=label, test=test,
                     **cfg)


def run_exact_check(spec, alpha: float | None = None) -> dict:
    """Run a conformance or lemma check and return its record (never raises for a bad run)."""
    from asyncbound.checks import conformance, lemmas
    from asyncbound.checks.planning import load_algorithm, load_problem
    from asyncbound.implementations.backends import capabilities

    t0 = time.perf_counter()
    algo = load_algorithm(spec.algorithm)
    problem = load_problem(spec)
    kw = dict(delay=spec.delay, steps=spec.steps, seeds=spec.seeds, workers=spec.workers,
              base_seed=spec.base_seed, options=dict(spec.options))
    try:
        if capabilities(spec.backend).observes_updates:
            check = conformance.check_conformance if spec.test == "conformance" else lemmas.check_lemmas
            res = check(algo, problem, **kw)
        elif spec.test == "conformance" and getattr(algo, "implements", None):
            kw["delay"] = None  # a real run measures its own interleaving (no injection)
            res = conformance.check_conformance_real(algo, problem, backend=spec.backend, **kw)
        else:
            res = {"verdict": "NOT_APPLICABLE", "reason": f"{spec.test} checks on {spec.backend} "
                   "need an implements variant (conformance); lemma checks recompute every "
                   "update on the reference backend (lemmas.check_recorded_view: real traces)"}
    except (FloatingPointError, OverflowError) as exc:
        res = {"verdict": "DIVERGED", "reason": f"run raised {type(exc).__name__}: {exc}"}
    name = spec.algorithm_name
    is_conf = spec.test == "conformance"
    target = getattr(algo, "implements", None) if is_conf else name
    bound = {"key": f"{spec.test}/{target or name}", "kind": None,
             "provenance": None if is_conf else "derived",
             "metric": "every applied update" if is_conf else "per-update lemmas",
             "statement": (f"every applied update equals {target}'s on the same schedule and noise"
                           if is_conf else "; ".join(f"{r['lemma']}: {r['statement']}"
                                                      for r in res.get("lemmas", []))),
             "source": "asyncbound checks." + ("conformance" if is_conf else "lemmas")}
    cfg = spec.config()
    cfg["test"] = spec.test
    rec = {"check_id": spec.check_id,
           "test": spec.test, "algorithm": name, "backend": spec.backend, "problem": spec.problem,
           "workers": spec.workers, "bound": bound, "config": cfg, "counterexample": None,
           "implements": getattr(algo, "implements", None),
           "measured": None, "verdict": res["verdict"], "reason": res["reason"]}
    rec[spec.test] = {k: v for k, v in res.items() if k not in ("verdict", "reason")}
    rec["duration_s"] = time.perf_counter() - t0
    return rec


__all__ = ["EXACT_SEEDS", "EXACT_STEPS", "EXACT_TESTS", "exact_spec", "run_exact_check"]
