"""Binding: each constant gets a value and an origin (certified / setting / measured / spelled)."""

from __future__ import annotations

import numpy as np
import pytest
from asyncbound.checks import binding


@pytest.fixture
def problem():
    from asyncbound.implementations.problems import get_problem

    return get_problem("quadratic", dim=6, seed=0, L=2.0, cond=4.0, sigma=0.2)


def test_plan_binds_settings_certified_and_delay_guarantee(problem):
    ctx = binding.RunContext(problem=problem, lr=0.01, steps=500, workers=3,
                             hparams={"lr": 0.01, "betas": (0.8, 0.99)}, delay_max=5)
    c, missing = binding.bind({"L", "mu", "sigma", "eta", "K", "tau", "n_workers", "d", "beta1", "beta2", "G"}, ctx)
    assert c["L"].origin == "certified" and c["L"].value == 2.0
    assert c["mu"].value == pytest.approx(0.5)
    assert c["eta"].origin == "setting" and c["K"].value == 500
    assert c["tau"].value == 5 and "plan" in c["tau"].how
    assert c["beta1"].value == 0.8 and c["beta2"].value == 0.99
    assert c["d"].value == 6 and c["n_workers"].value == 3
    assert missing == ["G"]


def test_measured_from_trace(problem):
    from asyncbound.implementations.backends import run

    tr = run("hogwild_sgd", problem, "constant:3", 60, 4, workers=2, lr=0.05, eval_every=1)
    ctx = binding.RunContext(problem=problem, lr=0.05, steps=60, workers=2, df=tr.to_pandas(),
                             F0_samples=np.array([1.0, 3.0]), overrides={"gamma_topk": 0.5})
    c, missing = binding.bind({"tau", "tau_avg", "B", "M", "F0", "sigma", "gamma_topk"}, ctx)
    assert not missing
    assert c["tau"].origin == "measured" and c["tau"].value == 3
    assert c["F0"].value == 2.0
    assert c["M"].origin == "measured"          # not certified on an unbounded quadratic
    assert c["sigma"].origin == "certified"     # a certificate beats an estimate
    assert c["B"].origin == "measured" and c["B"].value > 0
    assert c["gamma_topk"].origin == "spelled"
    assert all(set(v.as_dict()) == {"value", "origin", "how"} for v in c.values())


def test_topk_density_from_ratio(problem):
    ctx = binding.RunContext(problem=problem, lr=0.1, steps=10, workers=2, hparams={"ratio": 0.25})
    c, _ = binding.bind({"gamma_topk"}, ctx)
    assert c["gamma_topk"].value == pytest.approx(2 / 6)  # ceil(0.25 * 6) / 6
