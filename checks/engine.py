"""One check: run an algorithm against a bound and decide, with the evidence kept.

``run_check(check, alpha)`` is the single path every caller uses (``asyncbound verify``,
``asyncbound check``, the pytest suite, the hypothesis property factory). It orchestrates:

1. plan (:mod:`.planning`): parse the delay model once, solve the step size as ``lr_fraction``
   times the admissible maximum of the bound's solved side condition (``eta <= ...``), unless
   the check fixes ``lr``;
2. run (:mod:`.running`, through the one entrance ``implementations.backends.run``) for the
   check's seeds -> Trace;
3. evaluate (:mod:`.evaluate`) from the trace and the plan: constants, side conditions, the
   NOT_APPLICABLE/DIVERGED/FAIL cascade (:func:`.verdicts.before_metric`), the metric's
   interval and the verdict by the bound's kind;
4. return a record (:mod:`.records`, CONTRACTS §9).

A check with a ``search`` profile goes to :func:`.search.search_check`, which calls this function
for every configuration it screens and for the deciding run (issue 12).

Before running, a run outside the bound's algorithm class (a projecting problem under an
unconstrained theorem, momentum under a plain-SGD theorem: :func:`.applicability.outside_class`)
is NOT_APPLICABLE without running. With ``looks > 1`` on a backend that batches seeds, an
INCONCLUSIVE verdict is followed by looks with twice the seeds each, until PASS/FAIL or the
looks are spent (:func:`run_sequential`).

Checks with a ``study`` go to the name -> function table of :mod:`.studies` instead.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

from asyncbound.checks import applicability, planning
from asyncbound.checks.evaluate import evaluate_trace
from asyncbound.checks.planning import LR_FRACTION
from asyncbound.checks.records import base_record
from asyncbound.checks.records import check_id as make_check_id
from asyncbound.checks.running import run_trace
from asyncbound.checks.stats import ALPHA_SINGLE, N_SEEDS_QUICK, RTOL

log = logging.getLogger(__name__)


@dataclass
class CheckSpec:
    """What one check runs: an algorithm against a bound, on a problem, delay model, backend and
    seeds (the record's ``config``). ``study`` names an entry of :data:`.studies.STUDIES`."""

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
    #: sequential looks (issue 17): look j runs seeds * 2^(j-1) seeds at alpha / looks
    #: (Bonferroni across looks); 1 = a single fixed-size check
    looks: int = 1
    #: other bounds that this check's measurement decides as well (the same finite-run proxy);
    #: the suite runs such a measurement once instead of once per bound (see suite.SAME_MEASUREMENT)
    also_checks: tuple = ()
    #: worst-case search profile (``checks.search.PROFILES``: quick, full, thorough); None: the
    #: check runs at its one configuration. Studies are not searched.
    search: str | None = None
    #: the check kind (CONTRACTS §9 ``test``): "bound" (this module), "oracle" (the exact
    #: trajectory, ``checks.oracle``), "conformance" or "lemma" (``checks.exact``; ``bound`` then
    #: names the kind); "study" is a bound spec with ``study``
    test: str = "bound"

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



def run_check(check: CheckSpec, alpha: float = ALPHA_SINGLE) -> dict:
    """Run one check end to end and return its record (never raises for a bad run)."""
    if check.looks > 1:
        return run_sequential(check, alpha)
    return _run_once(check, alpha)


def run_sequential(check: CheckSpec, alpha: float = ALPHA_SINGLE) -> dict:
    """Add seeds until decided: look j = 1..J (J = ``check.looks``) runs ``seeds * 2^(j-1)``
    seeds and decides at level alpha / J; the first PASS or FAIL stops. Bonferroni across looks:
    P(some look decides wrongly) <= sum_j alpha / J = alpha, whatever the dependence between
    looks (later looks reuse the earlier seeds). Only on a backend that batches seeds (the
    reference): elsewhere one look at alpha."""
    from dataclasses import replace

    from asyncbound.implementations.backends import capabilities

    if check.looks < 1 or isinstance(check.looks, bool) or not isinstance(check.looks, int):
        raise ValueError(f"looks must be an integer >= 1, got {check.looks!r}")
    if not capabilities(check.backend).batches_seeds:
        return _run_once(replace(check, looks=1), alpha)
    J, rec = check.looks, {}
    for j in range(1, J + 1):
        look = replace(check, seeds=check.seeds * 2 ** (j - 1), looks=1)
        rec = _run_once(look, alpha / J)
        if rec.get("verdict") != "INCONCLUSIVE":
            break
    rec["sequential"] = {"procedure": "Bonferroni across looks, seeds doubled per look",
                         "looks_planned": J, "looks_used": j, "alpha_per_look": alpha / J,
                         "seeds_last": check.seeds * 2 ** (j - 1), "alpha": alpha}
    rec["reason"] = (rec.get("reason", "") + f" [sequential: look {j} of {J}, "
                     f"{check.seeds * 2 ** (j - 1)} seeds, alpha/{J} per look (Bonferroni)]")
    return rec


def _run_once(check: CheckSpec, alpha: float) -> dict:
    from asyncbound import theory

    t0 = time.perf_counter()
    if check.test == "oracle":
        from asyncbound.checks.oracle.check import run_oracle_check

        return run_oracle_check(check, alpha)
    if check.test != "bound":
        from asyncbound.checks.exact import EXACT_TESTS, run_exact_check

        if check.test not in EXACT_TESTS:
            raise ValueError(f"CheckSpec.test must be 'bound', 'oracle' or one of {EXACT_TESTS}, "
                             f"got {check.test!r}")
        return run_exact_check(check, alpha)
    bound = theory.get_bound(check.bound)
    if check.study:
        from asyncbound.checks import studies

        rec = studies.run_study(check, bound, alpha)
        rec.setdefault("test", "study")
        rec["duration_s"] = time.perf_counter() - t0
        return rec
    if check.search:
        from asyncbound.checks import search

        rec = search.search_check(check, alpha)
        rec["duration_s"] = time.perf_counter() - t0
        return rec
    from asyncbound.implementations.registry import is_conjecture

    algo = planning.load_algorithm(check.algorithm)
    problem = planning.load_problem(check)
    plan = planning.plan(check, bound, problem, algo)
    rec = base_record(check, bound, plan.lr, plan.lr_rule)
    rec["measured"] = {"alpha": alpha, "n_seeds": check.seeds}
    notes = list(plan.notes)
    outside = (applicability.uncertified(bound, problem, check.overrides)
               or applicability.outside_class(bound, problem, plan.hparams,
                                              conjecture=is_conjecture(algo), notes=notes)
               or plan.refused)
    if notes:
        rec["plan_notes"] = notes
    if outside is not None:
        rec.update(verdict=outside.verdict.value, reason=outside.reason)
        rec["duration_s"] = time.perf_counter() - t0
        return rec
    try:
        trace = run_trace(check, problem, plan.delays, plan.lr)
    except (FloatingPointError, OverflowError) as exc:
        rec.update(verdict="DIVERGED", reason=f"run raised {type(exc).__name__}: {exc}")
        rec["duration_s"] = time.perf_counter() - t0
        return rec
    rec["_trace"] = trace
    # every hyperparameter the rule was built with and the pattern options (not only lr)
    rec["algorithm_config"] = dict(trace.meta.get("config") or {})
    if not trace.complete:
        rec["incomplete"] = trace.meta.get("error")
    rec.update(evaluate_trace(check, bound, problem, trace, plan, alpha))
    if "measured" in rec and "alpha" not in rec["measured"]:
        rec["measured"]["alpha"] = alpha
    rec["duration_s"] = time.perf_counter() - t0
    return rec
