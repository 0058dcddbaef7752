"""The one entrance ``backends.run``: the capabilities table, seeds (one run per seed for a
backend that does not batch them), pickling of a user's rule, the run-size validator, and the
trace describing itself (``meta["x0"]``)."""

from __future__ import annotations

import re
import types
from dataclasses import replace
from pathlib import Path

import asyncbound.implementations.backends as backends
import numpy as np
import pytest
from asyncbound.implementations.backends import CAPABILITIES, check_run_size, initial_point
from asyncbound.implementations.backends import reference as ref
from asyncbound.implementations.problems import get_problem
from asyncbound.implementations.registry import BACKENDS, get_algorithm
from asyncbound.implementations.trace import Trace

ROOT = Path(__file__).resolve().parents[2]
#: a branch on a backend's name: what the capabilities table replaces
NAME_BRANCH = re.compile(r"""(==|!=)\s*["'](reference|processes|distributed)["']"""
                         r"""|\bin\s*\(\s*["'](reference|processes|distributed)["']""")


def name_branches(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if NAME_BRANCH.search(line)]


def test_capabilities_cover_every_backend_and_pattern():
    from asyncbound.implementations.patterns import PATTERNS

    assert tuple(CAPABILITIES) == tuple(BACKENDS) == backends.BACKEND_NAMES
    for caps in CAPABILITIES.values():
        assert set(caps.patterns) <= set(PATTERNS)
    assert set(CAPABILITIES["reference"].patterns) == set(PATTERNS)
    with pytest.raises(ValueError, match="backend must be one of"):
        backends.capabilities("gpu_cluster")


def test_the_scanner_finds_a_planted_name_branch():
    planted = 'if spec.backend == "distributed":\n    x = 1\nif b in ("processes", "distributed"):\n'
    assert len(name_branches(planted)) == 2
    assert name_branches('backend: str = "reference"\nCAPABILITIES["reference"]\n') == []


@pytest.mark.parametrize("layer", ["implementations", "checks"])
def test_nothing_branches_on_a_backend_name(layer):
    found = {}
    for path in sorted((ROOT / layer).rglob("*.py")):
        if path.name.startswith("cli"):  # the CLI files are being split into checks/cli/
            continue
        hits = name_branches(path.read_text())
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    assert found == {}


@pytest.mark.parametrize("kw, match", [
    (dict(steps=0, workers=2, eval_every=None), "steps must be"),
    (dict(steps=True, workers=2, eval_every=None), "steps must be"),
    (dict(steps=10, workers=0, eval_every=None), "workers must be"),
    (dict(steps=10, workers=2, eval_every=0), "eval_every must be"),
    (dict(steps=10, workers=2, eval_every=1.5), "eval_every must be"),
])
def test_one_run_size_validator(kw, match):
    with pytest.raises(ValueError, match=match):
        check_run_size(**kw)


def test_run_size_default_eval_period():
    assert check_run_size(1000, 2, None) == 5 and check_run_size(10, 1, None) == 1
    assert check_run_size(10, 1, 3) == 3


def test_reference_trace_records_its_starting_points(tmp_path):
    prob = get_problem("quadratic", dim=6, seed=0)
    tr = backends.run("hogwild_sgd", prob, "uniform:2", 40, [3, 4, 5], workers=2, lr=0.05)
    np.testing.assert_array_equal(tr.x0, initial_point(prob, 3, 3).double().numpy())
    assert tr.meta["delay"] == "uniform:2" and tr.meta["max_delay"] == 2
    assert tr.meta["config"]["lr"] == 0.05
    back = Trace.read(tr.write(tmp_path / "t"))
    np.testing.assert_array_equal(back.x0, tr.x0)


def test_a_backend_that_does_not_batch_seeds_runs_one_launch_per_seed(monkeypatch):
    """Run i is seed ``base + i``: its rows get seed i, its x0 row i; loss0 (one per launch) goes."""
    calls = []

    def one_seed(algo, problem, delays, steps, seeds, **kw):
        assert len(seeds) == 1
        calls.append((seeds[0], kw.get("workers")))
        return ref.run(algo, problem, delays, steps, seeds, **kw)

    monkeypatch.setitem(CAPABILITIES, "reference",
                        replace(CAPABILITIES["reference"], batches_seeds=False))
    monkeypatch.setattr(backends, "_backend_module", lambda name: types.SimpleNamespace(run=one_seed))
    prob = get_problem("quadratic", dim=5, seed=0)
    tr = backends.run("hogwild_sgd", prob, "constant:1", 30, [7, 8, 9], workers=2, lr=0.05)
    assert calls == [(7, 2), (8, 2), (9, 2)]
    assert sorted(set(tr["seed"].tolist())) == [0, 1, 2]
    assert tr.meta["n_seeds"] == 3 and tr.meta["base_seed"] == 7 and tr.meta["seeds_are_runs"]
    assert tr.meta["seeds"] == [0, 1, 2] and "loss0" not in tr.meta
    expect = np.concatenate([initial_point(prob, 1, s).double().numpy() for s in (7, 8, 9)])
    np.testing.assert_array_equal(tr.x0, expect)
    # each launch equals the batched reference's seed row (same base seed)
    one = ref.run("hogwild_sgd", prob, "constant:1", 30, [8], workers=2, lr=0.05)
    np.testing.assert_array_equal(tr.for_seed(1)["loss"], one["loss"])
    single = backends.run("hogwild_sgd", prob, "constant:1", 30, [8], workers=2, lr=0.05)
    assert single.final_state is not None and single.meta["seeds_are_runs"]  # kept as launched
    np.testing.assert_array_equal(single["loss"], one["loss"])


def test_a_user_rule_that_cannot_reach_spawned_workers_is_refused(monkeypatch):
    algo = replace(get_algorithm("hogwild_sgd"), name="lambda_sgd",
                   rule=lambda **hp: get_algorithm("hogwild_sgd").rule(**hp))
    with pytest.raises(ValueError, match="lambda_sgd: its rule factory cannot be sent"):
        backends._sendable(algo)
    builtin = get_algorithm("hogwild_sgd")
    assert backends._sendable(builtin) is builtin  # built-ins travel by name
    user = replace(get_algorithm("async_topk"), name="my_topk")  # module-level rule: pickles
    sent = backends._sendable(user)
    assert sent == user and sent is not user  # a copy: not the registered object, so pickled
