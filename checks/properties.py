"""``bound_property``: one call turns (bound, algorithm, problem strategy, delay strategy) into a
collected pytest test.

    from asyncbound.checks.properties import bound_property
    test_hogwild_classic = bound_property("classic_delayed_sgd/nonconvex", "hogwild_sgd")

Each hypothesis example is a full check (``checks.engine.run_check``): a problem drawn with
certified constants, a delay model with a finite guarantee, a step size as a fraction of the
admissible maximum, a base seed, a worker count; a batch of seeds; a verdict with a confidence
interval. The test fails on FAIL (which includes a divergence under the theorem's conditions).

- ``target(measured/bound)`` steers the search towards the configurations closest to breaking
  the claim (effective in the ``thorough`` profile, which has the examples to spend on it);
- a failure is shrunk by hypothesis to the smallest configuration, and the record of that final
  (shrunk) example is written with ``counterexample`` = its configuration, under
  ``$ASYNCBOUND_COUNTEREXAMPLES`` (default ``asyncbound-out/counterexamples``).

Statistics: each example is one check at ``ALPHA_SINGLE / max_examples`` (Bonferroni over the
examples of the property), so a correct algorithm fails a property with probability <= ALPHA_SINGLE.
"""

from __future__ import annotations

import os
from pathlib import Path

from asyncbound.checks import strategies as S
from asyncbound.checks.stats import ALPHA_SINGLE
from asyncbound.checks.verdicts import FAILING, Verdict

COUNTEREXAMPLE_DIR = "asyncbound-out/counterexamples"


def _out_dir() -> Path:
    return Path(os.environ.get("ASYNCBOUND_COUNTEREXAMPLES", COUNTEREXAMPLE_DIR))


def write_counterexample(rec: dict, check) -> Path:
    from asyncbound.checks import records

    rec = {k: v for k, v in rec.items() if not k.startswith("_")}
    rec["counterexample"] = {"config": check.config(),
                             "reproduce": f"asyncbound.checks.engine.run_check(CheckSpec(**{check.config()!r}))"}
    rec["check_id"] = rec["check_id"] + "--counterexample"
    return records.write_record(_out_dir(), rec)


def bound_property(bound_key: str, algorithm, *, problems=None, delays=None, fractions=None,
                   backend: str = "reference", steps: int = 400, n_seeds: int = 16, eval_every: int = 1,
                   max_examples: int | None = None):
    """A pytest test checking ``algorithm`` against ``bound_key`` on drawn configurations."""
    import pytest
    from hypothesis import HealthCheck, given, settings, target

    specs = S.check_specs(bound_key, algorithm, problems_st=problems, delays_st=delays,
                          fractions_st=fractions, backend=backend, steps=steps, n_seeds=n_seeds,
                          eval_every=eval_every)

    @pytest.mark.property
    @given(check=specs)
    def test(check):
        import torch
        from asyncbound.checks.engine import run_check

        torch.set_num_threads(1)
        n = max_examples or settings().max_examples
        rec = run_check(check, ALPHA_SINGLE / max(n, 1))
        ratio = rec.get("ratio")
        if isinstance(ratio, float) and ratio == ratio and abs(ratio) != float("inf"):
            target(ratio, label="measured/bound")
        if Verdict(rec["verdict"]) in FAILING:
            path = write_counterexample(rec, check)
            raise AssertionError(f"{rec['verdict']}: {rec['reason']} (counterexample record: {path})")

    kw = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
    if max_examples is not None:
        kw["max_examples"] = max_examples
    test = settings(**kw)(test)  # unspecified settings come from the loaded profile
    name = f"test_{str(getattr(algorithm, 'name', algorithm))}__{bound_key.replace('/', '__')}"
    test.__name__ = name
    test.__qualname__ = name
    return test
