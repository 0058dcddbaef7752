"""Bound properties: hypothesis draws problems (certified constants), delay models with a finite
guarantee, step sizes as a fraction of the admissible maximum, seeds and worker counts; each
example is a full check with a confidence interval over a batch of seeds (``checks.properties``).
"""

from __future__ import annotations

import pytest
from asyncbound.checks import strategies as S
from asyncbound.checks.properties import bound_property

pytestmark = [pytest.mark.property, pytest.mark.slow]

test_hogwild_classic_nonconvex = bound_property("classic_delayed_sgd/nonconvex", "hogwild_sgd")
test_ps_classic_strongly_convex = bound_property(
    "classic_delayed_sgd/strongly_convex", "ps_sgd", steps=600, eval_every=20)
test_hogwild_elastic_view_gap = bound_property(
    "nadiradze2021/view_gap_async", "hogwild_sgd", steps=300, eval_every=50)
test_topk_elastic_consistency = bound_property(
    "nadiradze2021/elastic_consistency", "async_topk_ef", steps=300, eval_every=50,
    delays=S.delay_specs(6, kinds=("uniform", "adversarial")))


def test_factory_returns_a_named_collectable_test():
    t = bound_property("classic_delayed_sgd/nonconvex", "hogwild_sgd")
    assert t.__name__.startswith("test_hogwild_sgd__classic_delayed_sgd")
    assert hasattr(t, "hypothesis")


def test_property_catches_a_planted_bug_and_writes_the_counterexample(tmp_path, monkeypatch):
    from tests.checks import planted

    monkeypatch.setenv("ASYNCBOUND_COUNTEREXAMPLES", str(tmp_path))
    with planted.registered():
        _catch_overstep(planted, tmp_path)


def _catch_overstep(planted, tmp_path):
    # every drawn configuration is in the noise-dominated regime where the 3x step shows
    t = bound_property("classic_delayed_sgd/strongly_convex", planted.SPECS["overstep"], steps=500,
                       n_seeds=10, eval_every=20, fractions=S.step_fractions(0.7, 1.0),
                       problems=S.quadratics(dims=(4, 6), cond=(1.0, 1.0), sigma=(0.2, 0.3)),
                       max_examples=8)
    with pytest.raises(AssertionError, match="FAIL"):
        t()
    written = list((tmp_path / "records").glob("*counterexample.json"))
    assert written
    import json

    rec = json.loads(written[0].read_text())
    assert rec["counterexample"]["config"]["algorithm"] == "planted_overstep"
