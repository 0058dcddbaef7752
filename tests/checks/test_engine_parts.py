"""The parts of the split engine: the verdict cascade, the elastic-consistency system of a
pattern, the studies table, the record schema shared with reports, one top-k size, one slope
band, and the adversarial delay as a constant delay."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from asyncbound.checks import binding, studies
from asyncbound.checks.binding import Constant
from asyncbound.checks.verdicts import Verdict, before_metric

from asyncbound import theory

ROOT = Path(__file__).resolve().parents[2]
EVIDENCE = {"column": "loss", "value": "inf", "update": 12, "seed": 1}
FAILED = [{"condition": "eta <= 1/L", "lhs": 2.0, "rhs": 1.0, "holds": False}]


def _cascade(**kw):
    args = dict(unbound=[], problem="quadratic", divergence=None, failed=[], run_measured=[])
    args.update(kw)
    return before_metric(**args)


def test_cascade_no_claim_without_values_even_when_diverged():
    d = _cascade(unbound=["G", "L"], divergence=EVIDENCE, failed=FAILED)
    assert d.verdict == Verdict.NOT_APPLICABLE and "no value for G, L" in d.reason


def test_cascade_divergence_under_every_condition_is_a_failure():
    d = _cascade(divergence=EVIDENCE)
    assert d.verdict == Verdict.FAIL and "seed 1" in d.reason and "update 12" in d.reason


def test_cascade_divergence_is_evidence_when_the_theorem_made_no_claim():
    assert _cascade(divergence=EVIDENCE, run_measured=["M"]).verdict == Verdict.DIVERGED
    assert _cascade(divergence=EVIDENCE, failed=FAILED).verdict == Verdict.DIVERGED


def test_cascade_failed_condition_then_nothing_left_to_decide():
    d = _cascade(failed=FAILED)
    assert d.verdict == Verdict.NOT_APPLICABLE and "eta <= 1/L fails (2 vs 1)" in d.reason
    assert _cascade() is None


def _consts(tau=3.0, M=2.0):
    return {"tau": Constant(tau, "measured", ""), "M": Constant(M, "certified", ""),
            "B": Constant(0.5, "measured", ""), "eta": Constant(0.1, "setting", "")}


@pytest.mark.parametrize("pattern, system", [("master_worker", "parameter_server"),
                                             ("full", "async_shared_memory"),
                                             ("sync", "sequential")])
def test_system_of_a_pattern_names_its_system(pattern, system):
    bound = theory.get_bound("nadiradze2021/elastic_consistency")
    out = binding.system_constants(bound, _consts(), pattern)
    assert f"'{system}' system" in out["B"].how
    assert out["B_measured"].value == 0.5
    if system != "sequential":  # a parameter server with bounded staleness: B = tau M (notes §2.2a)
        assert out["B"].value == pytest.approx(3.0 * 2.0)
    else:
        assert out["B"].value == 0.0


def test_parameter_server_is_not_called_shared_memory():
    assert binding.SYSTEM_OF_PATTERN["master_worker"] == "parameter_server"
    from asyncbound.theory.papers.nadiradze2021 import B_SYSTEMS

    for system in binding.SYSTEM_OF_PATTERN.values():
        assert binding.SAME_B.get(system, system) in B_SYSTEMS


def test_studies_are_a_table_and_do_not_import_the_engine():
    assert set(studies.STUDIES) == {"passm_stationarity", "passm_momentum_gain",
                                    "apam_tau_sweep", "topk_ef_compare"}
    tree = ast.parse((ROOT / "checks" / "studies.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                for a in n.names} | {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "engine" not in imported and "asyncbound.checks.engine" not in imported


def test_unknown_study_names_the_valid_ones():
    from asyncbound.checks.engine import CheckSpec

    with pytest.raises(ValueError, match="unknown study 'nope'; valid: passm_stationarity"):
        studies.run_study(CheckSpec(algorithm="hogwild_sgd", bound="x", study="nope"), None, 0.05)


def test_record_schema_is_defined_once_for_writer_and_reader():
    from asyncbound.checks import records
    from asyncbound.reports import records as reader
    from asyncbound.reports import schema

    assert tuple(v.value for v in Verdict) == schema.VERDICTS
    assert records.RECORD_SCHEMA is schema.RECORD_SCHEMA is reader.RECORD_SCHEMA
    assert records.VERDICTS is schema.VERDICTS is reader.VERDICTS
    assert schema.schema_problems({"schema": schema.RECORD_SCHEMA, "check_id": "a", "verdict": "PASS",
                                   "algorithm": "x", "backend": "reference", "bound": {"key": "k"}}) == []
    assert "unknown verdict 'MAYBE'" in schema.schema_problems({"verdict": "MAYBE"})


@pytest.mark.parametrize("d, ratio", [(8, 0.25), (10, 0.25), (7, 1.0), (3, 0.01), (100, 0.3)])
def test_one_topk_size_for_the_rule_and_the_binding(d, ratio):
    import torch
    from asyncbound.implementations.problems import get_problem
    from asyncbound.implementations.rules import sgd, topk
    from asyncbound.implementations.rules.topk import topk_size

    rule = topk(sgd(lr=1.0), ratio=ratio)
    step, _ = rule.step(torch.arange(1.0, d + 1).reshape(1, d), rule.init(torch.zeros(1, d)), 1)
    assert int((step != 0).sum()) == topk_size(d, ratio=ratio)
    ctx = binding.RunContext(problem=get_problem("quadratic", dim=d, seed=0), lr=0.1, steps=10,
                             workers=2, hparams={"lr": 0.1, "ratio": ratio}, pattern="sparse")
    consts, _ = binding.bind({"gamma_topk"}, ctx)
    assert consts["gamma_topk"].value == topk_size(d, ratio=ratio) / d


def test_adversarial_is_a_constant_delay_under_its_own_name():
    from asyncbound.implementations.delays import ConstantDelay, parse_delay

    m = parse_delay("adversarial:3")
    assert type(m) is ConstantDelay and m.spec == "adversarial:3" and m.max_delay == 3
    assert parse_delay(m.spec).spec == m.spec
    with pytest.raises(ValueError, match="name must be"):
        ConstantDelay(2, name="uniform")
