"""theory.METRIC_IDS (what register_bound accepts) and checks.metrics (what can be estimated)
agree: every listed id gets an estimate from a real trace, an unlisted one is refused."""

from __future__ import annotations

from dataclasses import replace

import pytest
from asyncbound.checks import measure, metrics
from asyncbound.checks.planning import load_problem, parse_delay
from asyncbound.checks.running import run_trace
from asyncbound.checks.suite import spec_for
from asyncbound.theory import Bound, Kind, Provenance, symbol

from asyncbound import theory


@pytest.fixture(scope="module")
def run():
    spec = replace(spec_for("hogwild_sgd", "classic_delayed_sgd/nonconvex"), seeds=4, steps=60, eval_every=1)
    problem = load_problem(spec)
    trace = run_trace(spec, problem, parse_delay(spec.delay), 0.05)
    return spec, problem, trace, measure.as_frame(trace)


def _bound(metric_id: str) -> Bound:
    return Bound(key=f"t/{metric_id}", paper="t", metric=metric_id, metric_id=metric_id, kind=Kind.UPPER,
                 expr=symbol("F0") / symbol("K"), assumptions=(), conditions=(),
                 source=theory.get_bound("classic_delayed_sgd/nonconvex").source,
                 provenance=Provenance.CLAIMED)


@pytest.mark.parametrize("metric_id", sorted(theory.METRIC_IDS))
def test_every_declared_metric_has_an_estimator(run, metric_id):
    spec, problem, trace, df = run
    m = metrics.measure_metric(_bound(metric_id), df, problem, trace, {"F0": 1.0, "K": 60.0}, 0.01, spec)
    assert m.interval.n > 0 or m.decision is not None


def test_an_undeclared_metric_has_none(run):
    spec, problem, trace, df = run
    with pytest.raises(ValueError, match="unknown metric id 'loss'"):
        metrics.measure_metric(_bound("loss"), df, problem, trace, {"F0": 1.0, "K": 60.0}, 0.01, spec)
    with pytest.raises(ValueError, match="no estimator"):
        theory.register_bound(_bound("loss"))
