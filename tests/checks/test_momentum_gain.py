"""The momentum-gain study on PASSM+ (checks.momentum_gain, studies.passm_momentum_gain): the
per-update prediction (own block at the gain of every own step, other blocks at the gain of the
full steps only), the correct passm_plus PASSing and momentum bugs on partition_plus FAILing."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from asyncbound.checks import momentum_gain as mg
from asyncbound.checks import records
from asyncbound.checks.engine import run_check
from asyncbound.checks.stats import n_statistical, per_check_alpha
from asyncbound.checks.suite import build_suite, momentum_gain_spec, studies_for, variant_studies

from tests.checks import planted

#: the quick suite's per-check alpha (the study runs there at this alpha)
ALPHA = per_check_alpha(n_statistical(build_suite("quick", search=False)))
EMA = planted.CATALOGUE["passm_plus_ema"][2]
#: drop_momentum's rule on PASSM+'s pattern: every buffer rebuilt from zero at every step
PLUS_DROP = replace(planted.SPECS["drop_momentum"], name="planted_passm_plus_drop_momentum",
                    pattern="partition_plus", defaults={"lr": 0.05, "momentum": 0.9, "warmup": 10})


class _Probe:
    def __init__(self, energy, worker, block):
        self.energy, self.worker, self.block = energy, worker, block


def test_partition_plus_weights_count_full_steps_for_foreign_blocks():
    # one worker (owns block 0 of 2), warm-up 1: full, own, full, own; unit energies
    m = 0.5
    probe = _Probe([np.ones((1, 2))] * 4, [0, 0, 0, 0], [-1, 0, -1, 0])
    w = mg.partition_plus_weights(probe, m)[0]
    g = mg.heavy_ball_gain
    expected = [g(1, m) + g(1, m), g(2, m), g(3, m) + g(2, m), g(4, m)]
    assert np.allclose(w, expected)


def test_partition_plus_weights_match_a_per_coordinate_count():
    rng = np.random.default_rng(3)
    blocks, W, K, m = [(0, 2), (2, 5), (5, 6)], 3, 40, 0.9
    g2 = rng.random((2, K, 6))                         # (d_i f(x_k))^2, two seeds
    worker = rng.integers(0, W, K).tolist()
    block = [w if rng.random() < 0.5 else -1 for w in worker]
    probe = _Probe([np.stack([g2[:, k, a:b].sum(-1) for a, b in blocks], -1) for k in range(K)],
                   worker, block)
    touched = np.zeros((W, 6))
    ref = np.zeros((2, K))
    for k, (w, b) in enumerate(zip(worker, block, strict=True)):
        coords = np.arange(6) if b < 0 else np.arange(*blocks[b])
        touched[w, coords] += 1
        ref[:, k] = (g2[:, k, coords] * (1 - m ** touched[w, coords]) / (1 - m)).sum(-1)
    assert np.allclose(mg.partition_plus_weights(probe, m), ref)


def test_suite_attaches_the_study_to_passm_plus_and_its_variants():
    assert {s.algorithm_name for s in studies_for("quick") if s.study == "passm_momentum_gain"} == {
        "passm", "passm_plus"}
    assert [s.algorithm_name for s in variant_studies([EMA, PLUS_DROP], "quick")] == [
        EMA.name, PLUS_DROP.name]
    no_momentum = replace(EMA, name="plus_no_momentum", defaults={"lr": 0.05, "momentum": 0.0})
    assert variant_studies([no_momentum], "quick") == []


@pytest.mark.parametrize("base_seed", (0, 1000, 2000))
def test_passm_plus_passes_the_momentum_gain(base_seed):
    rec = run_check(replace(momentum_gain_spec("passm_plus", "quick"), base_seed=base_seed), ALPHA)
    assert rec["verdict"] == "PASS", rec["reason"]
    assert "partition_plus" in rec["reason"]
    rec.pop("_trace")
    assert records.validate_record(records.jsonable({"schema": records.RECORD_SCHEMA, **rec})) == []


@pytest.mark.parametrize("bug", [EMA, PLUS_DROP], ids=["passm_plus_ema", "plus_drop_momentum"])
def test_momentum_bugs_on_partition_plus_fail_the_momentum_gain(bug):
    rec = run_check(momentum_gain_spec(bug, "quick"), ALPHA)
    assert rec["verdict"] == "FAIL", rec["reason"]
    assert rec["measured"]["ci_high"] < 0.5  # about 1 - m = 0.1 of the prediction


def test_partition_plus_needs_a_backend_that_observes_updates():
    spec = replace(momentum_gain_spec("passm_plus", "quick"), backend="processes", seeds=1)
    rec = run_check(spec, ALPHA)
    assert rec["verdict"] == "NOT_APPLICABLE" and "observes updates" in rec["reason"]
