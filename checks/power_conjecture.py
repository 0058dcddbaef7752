"""Power of the worst-case search, measured: the conjecture route (issue 12; a benchmark script,
not a test).

    python -m asyncbound.checks.power_conjecture --batches 10 [--false-batches 40]
        [--catalogue tests/checks/planted.py] [--only SUBSTR] [--json OUT.json]

A planted bug run as a *conjecture* claims the bounds of the algorithm it imitates and nothing
else (no ``implements``: no conformance or lemma check can see it), so only the bound checks and
studies of ``verify --with`` can catch it, each searching its bound's admissible space
(:mod:`.search`). For every bug of the catalogue and ``--batches`` independent seed batches
(``base_seed + b * SEED_STRIDE``: a new problem instance, starting points, noise and schedule;
the search's screening batches sit at ``SCREEN_OFFSET`` above, disjoint), count the batches in
which at least one of its checks says FAIL. Beside it, the false-FAIL count: the same suite
restricted to the correct algorithms the bugs imitate (:func:`.search.baseline_for`), over
``--false-batches`` batches. Every check runs at the per-check alpha of the whole quick suite
(Bonferroni over its checks); the search spends no alpha (the deciding run is a fresh batch).

Each batch of a bug is classified (:func:`classify`): caught by a *conclusion* check (a bound
check or a study: the theorem's claim itself is shown false), caught by a *lemma* only (a step of
the claimed theorem's proof, e.g. AMSGrad's monotone v-hat, is violated: the variant is not the
algorithm the proof is about), *flagged* (no claim is shown false, but the search found the
bug diverging where the algorithm it extends converges, same configuration and seeds: the
record and report show both side by side; counted apart from the catches), *untestable* (every conclusion check is NOT_APPLICABLE: the
conjecture's own configuration lies outside every claimed theorem's class, so no sound check of
the claim exists and the ``implements`` route is the one that can see the bug), or *missed*.
The summary counts bugs caught in every batch, those caught by conclusion checks alone, and
the untestable ones (reported beside, never counted as caught).

The catalogue is the planted-bug file of the tests (``tests/checks/planted.py``: ``SPECS``,
name -> AlgorithmSpec), loaded by path; the library never registers a planted bug.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

log = logging.getLogger("asyncbound.power_conjecture")

SEED_STRIDE = 1000


def default_catalogue() -> Path:
    return Path(__file__).resolve().parents[1] / "tests" / "checks" / "planted.py"


def load_catalogue(path) -> dict:
    """name -> conjecture AlgorithmSpec of the planted-bug file at ``path`` (it registers
    nothing): its ``SPECS`` dict, or, for the implements/conjecture catalogue format
    (``CATALOGUE``: name -> (family, imitated algorithm, conjecture spec)), the conjecture specs,
    the algorithm each imitates kept for :func:`correct_algorithms`."""
    from asyncbound.checks.power import import_catalogue

    _IMITATES.clear()
    mod = import_catalogue(path, "asyncbound_planted_conjectures")
    cat = getattr(mod, "CATALOGUE", None)
    if isinstance(cat, dict) and cat:
        specs = {k: v[2] for k, v in cat.items()}
        _IMITATES.update({v[2].name: v[1] for v in cat.values()})
        return specs
    specs = getattr(mod, "SPECS", None)
    if not isinstance(specs, dict) or not specs:
        raise ValueError(f"{str(path)!r} defines no SPECS or CATALOGUE dict: not a planted-bug catalogue")
    return specs


#: conjecture name -> the registered algorithm it imitates, when the catalogue says
_IMITATES: dict[str, str] = {}


def correct_algorithms(bugs: dict) -> list[str]:
    """The registered algorithms the bugs imitate (one per claimed bound, deduplicated)."""
    from asyncbound.checks.search import baseline_for

    out = []
    for algo in bugs.values():
        if algo.name in _IMITATES:
            if _IMITATES[algo.name] not in out:
                out.append(_IMITATES[algo.name])
            continue
        for key in algo.bounds:
            name = baseline_for(algo, key)
            if name is not None and name not in out:
                out.append(name)
    return out


@contextlib.contextmanager
def _registered(algorithms):
    """A bug in the registry while its checks run, as ``verify --with`` registers a variant (the
    studies look algorithms up by name), and gone afterwards."""
    from asyncbound.implementations.registry import ALGORITHMS, register

    specs = [a for a in algorithms if not isinstance(a, str)]
    before = {a.name: ALGORITHMS.get(a.name) for a in specs}
    for a in specs:
        register(a, replace=True)
    try:
        yield
    finally:
        for name, old in before.items():
            if old is None:
                ALGORITHMS.pop(name, None)
            else:
                ALGORITHMS[name] = old


def check_kind(spec) -> str:
    """``"conclusion"`` for a bound check or a study (they test what the theorem concludes),
    else the exact test's name (``"lemma"``: a step of the theorem's proof)."""
    return "conclusion" if spec.test in ("bound", "study") or spec.study else spec.test


def _batch_verdicts(algorithms, b: int, alpha: float, suite: str) -> list[tuple[str, str, str, str]]:
    from asyncbound.checks.engine import run_check
    from asyncbound.checks.suite import build_suite

    out = []
    with _registered(algorithms):
        for s in build_suite(suite, algorithms=algorithms):
            rec = run_check(replace(s, base_seed=s.base_seed + b * SEED_STRIDE), alpha)
            verdict = rec["verdict"]
            if verdict != "FAIL" and rec.get("diverges_where_baseline_converges"):
                verdict = FLAGGED  # no claim is false, but the record flags the divergence
            out.append((s.check_id, verdict, str(rec.get("reason", ""))[:160], check_kind(s)))
    return out


#: a check whose search found the checked algorithm diverging where the algorithm it extends
#: converges (same configuration, same seeds; ``search.side_by_side``): flagged, not a FAIL
FLAGGED = "FLAGGED_DIVERGENCE"


def classify(verdicts: list[tuple[str, str, str, str]]) -> str:
    """One batch of a bug's checks: ``caught_by_conclusion`` (a bound check or study FAILs),
    ``caught_by_lemma`` (only a proof-step check FAILs), ``flagged_divergence`` (no FAIL, but a
    search found it diverging where the algorithm it extends converges), ``untestable`` (no FAIL and every
    conclusion check is NOT_APPLICABLE: the conjecture's configuration is outside every claimed
    theorem's class, so no sound conclusion check exists), else ``missed``."""
    fails = {kind for _, v, _, kind in verdicts if v == "FAIL"}
    if "conclusion" in fails:
        return "caught_by_conclusion"
    if fails:
        return "caught_by_lemma"
    if any(v == FLAGGED for _, v, _, _ in verdicts):
        return "flagged_divergence"
    concl = [v for _, v, _, kind in verdicts if kind == "conclusion"]
    if concl and all(v == "NOT_APPLICABLE" for v in concl):
        return "untestable"
    return "missed"


def measure(batches: int, false_batches: int, *, catalogue=None, only: str | None = None,
            suite: str = "quick", progress=None) -> dict:
    from asyncbound.checks import stats
    from asyncbound.checks.suite import build_suite

    bugs = load_catalogue(catalogue or default_catalogue())
    if only:
        bugs = {k: v for k, v in bugs.items() if only in k}
    alpha = stats.per_check_alpha(len(build_suite(suite)))
    t0 = time.perf_counter()
    rows = {}
    for name, algo in bugs.items():
        caught, failing, outcomes = 0, {}, {}
        for b in range(1, batches + 1):
            verdicts = _batch_verdicts([algo], b, alpha, suite)
            fails = [cid for cid, v, _, _ in verdicts if v == "FAIL"]
            caught += bool(fails)
            for cid in fails:
                failing[cid] = failing.get(cid, 0) + 1
            outcome = classify(verdicts)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if progress:
                progress(f"{name} batch {b}/{batches}: {outcome}, {len(fails)} FAIL "
                         f"({time.perf_counter() - t0:.0f}s)")
        rows[name] = {"batches": batches, "caught": caught, "rate": caught / batches,
                      "outcomes": outcomes, "failing_checks": failing}
    correct = correct_algorithms(bugs)
    false_fail, per_check = 0, {}
    n_checks = 0
    for b in range(1, false_batches + 1):
        verdicts = _batch_verdicts(correct, b, alpha, suite)
        n_checks += len(verdicts)
        fails = [(cid, r) for cid, v, r, _ in verdicts if v == "FAIL"]
        false_fail += bool(fails)
        for cid, v, _, _ in verdicts:
            per_check.setdefault(cid, {}).setdefault(v, 0)
            per_check[cid][v] += 1
        if progress:
            progress(f"correct batch {b}/{false_batches}: {fails[:2]} ({time.perf_counter() - t0:.0f}s)")
    caught = sum(r["caught"] == r["batches"] for r in rows.values())
    untestable = [k for k, r in rows.items() if r["outcomes"].get("untestable") == r["batches"]]
    by_conclusion = sum(r["outcomes"].get("caught_by_conclusion") == r["batches"] for r in rows.values())
    return {"suite": suite, "alpha_per_check": alpha, "bugs": rows,
            "bugs_always_caught": caught, "bugs_total": len(rows),
            "bugs_always_caught_by_conclusion": by_conclusion,
            "untestable_as_conjectures": untestable,
            "flagged_divergence": [k for k, r in rows.items() if r["outcomes"].get("flagged_divergence")],
            "testable_bugs": len(rows) - len(untestable),
            "correct_algorithms": correct, "false_batches": false_batches,
            "false_fail_batches": false_fail, "correct_check_runs": n_checks,
            "false_fail_rate_upper95": stats.clopper_pearson_upper(false_fail, max(false_batches, 1), 0.05),
            "per_check": per_check, "duration_s": time.perf_counter() - t0}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m asyncbound.checks.power_conjecture")
    p.add_argument("--batches", type=int, default=5, help="seed batches per planted bug")
    p.add_argument("--false-batches", type=int, default=40, help="batches of the correct algorithms")
    p.add_argument("--catalogue", default=None, help="planted-bug file (default: the tests')")
    p.add_argument("--only", default=None, help="only bugs whose name contains SUBSTR")
    p.add_argument("--suite", default="quick", choices=("quick", "full", "thorough"))
    p.add_argument("--json", default=None, metavar="OUT.json")
    a = p.parse_args(argv)
    if a.batches < 1 or a.false_batches < 0:
        print(f"error: --batches must be >= 1 and --false-batches >= 0, got {a.batches}, "
              f"{a.false_batches}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(1)
    try:
        res = measure(a.batches, a.false_batches, catalogue=a.catalogue, only=a.only, suite=a.suite,
                      progress=lambda line: print(line, file=sys.stderr, flush=True))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(res, indent=1, default=str)
    if a.json:
        Path(a.json).write_text(text)
    print(json.dumps({k: v for k, v in res.items() if k != "per_check"}, indent=1, default=str))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
