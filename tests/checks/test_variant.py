"""Loading a variant file: what is accepted and the one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncbound.checks.errors import UsageError
from asyncbound.checks.variant import load_variant, specs_for_variant

ROOT = Path(__file__).resolve().parents[2]


def test_example_variant_loads_and_gets_its_checks():
    v = load_variant(ROOT / "examples" / "variant_nesterov_hogwild.py")
    assert v.algorithm.name == "nesterov_hogwild"
    specs = specs_for_variant(v)
    assert {s.bound for s in specs if s.test == "bound"} == set(v.algorithm.bounds)
    # issue 11: every variant also gets its lemma check (conformance only with implements=);
    # its rule is linear (Nesterov SGD): the exact oracle checks it too
    assert sorted(s.test for s in specs if s.test != "bound") == ["lemma", "oracle"]
    assert [s.bound for s in specs if s.test == "oracle"] == ["oracle/exact_moments"]
    from asyncbound.implementations.registry import ALGORITHMS

    assert ALGORITHMS["nesterov_hogwild"] is v.algorithm


def test_registering_instead_of_assigning(tmp_path):
    f = tmp_path / "reg.py"
    f.write_text("from asyncbound.implementations.registry import AlgorithmSpec, register\n"
                 "from asyncbound.implementations.rules import sgd\n"
                 "register(AlgorithmSpec('reg_variant', sgd, 'full', {'lr': 0.1}, ('reference',),"
                 " ('classic_delayed_sgd/nonconvex',)), replace=True)\n"
                 "STEPS = 200\nDELAY = 'constant:2'\n")
    v = load_variant(f)
    assert v.algorithm.name == "reg_variant" and v.steps == 200
    assert all(s.steps == 200 and s.delay == "constant:2" for s in specs_for_variant(v))


@pytest.mark.parametrize(("text", "message"), [
    ("X = 1\n", "defines no algorithm"),
    ("import nonexistent_module_xyz\n", "ModuleNotFoundError"),
    ("STEPS = 'many'\nfrom asyncbound.implementations.registry import AlgorithmSpec\nfrom asyncbound.implementations.rules import sgd\n"
     "ALGORITHM = AlgorithmSpec('s_bad', sgd, 'full', {'lr': 0.1}, ('reference',), ('classic_delayed_sgd/nonconvex',))\n",
     "STEPS must be"),
])
def test_bad_files_raise_usage_error(tmp_path, text, message):
    f = tmp_path / "v.py"
    f.write_text(text)
    with pytest.raises(UsageError, match=message) as e:
        load_variant(f)
    assert "\n" not in str(e.value)


# -- a variant that declares its own bound ------------------------------------------------------

USER_EXAMPLE = ROOT / "examples" / "variant_user_bound.py"
#: the example's claim with its constants divided by 10: real runs measure ~2.5x this value
WRONG = ("2 * F0 / (eta * K) + 4 * L * eta * sigma**2", "(2 * F0 / (eta * K) + 4 * L * eta * sigma**2) / 10")


def wrong_variant(tmp_path) -> Path:
    text = USER_EXAMPLE.read_text()
    assert WRONG[0] in text
    f = tmp_path / "variant_wrong_user_bound.py"
    f.write_text(text.replace(WRONG[0], WRONG[1]).replace("my_delayed_sgd", "my_wrong_sgd"))
    return f


def _check(path) -> dict:
    from asyncbound.checks.engine import run_check

    # a variant also gets a lemma check (checks.exact); this helper runs its bound check
    (spec,) = [s for s in specs_for_variant(load_variant(path)) if s.test == "bound"]
    rec = run_check(spec, 1e-3)
    rec.pop("_trace", None)
    return rec


def test_user_bound_example_is_short_registers_its_bound_and_passes(registries):
    from asyncbound import theory

    code = [ln for ln in USER_EXAMPLE.read_text().splitlines() if ln.strip()]
    assert len(code) < 60
    rec = _check(USER_EXAMPLE)
    assert theory.is_user_bound("my_delayed_sgd/nonconvex")
    assert rec["verdict"] == "PASS", rec["reason"]
    assert rec["bound"]["key"] == "my_delayed_sgd/nonconvex" and rec["bound"]["provenance"] == "claimed"
    # the step size is planned from the user's own side condition, eta <= 1/(2 L (tau + 1)): at
    # the variant's own configuration (the search's anchor) and at the deciding (worst) one
    assert "x admissible max (eta <= 1/(2*L*(tau + 1)) = " in rec["config"]["lr_rule"]
    assert rec["search"][0]["axes"]["anchor"] and rec["search"][0]["lr"] == 0.05
    assert all(c["holds"] for c in rec["conditions"])


def test_a_wrong_user_bound_fails_on_real_runs(registries, tmp_path):
    rec = _check(wrong_variant(tmp_path))
    assert rec["bound"]["key"] == "my_wrong_sgd/nonconvex"
    assert rec["verdict"] == "FAIL", rec["reason"]
    assert rec["measured"]["ci_low"] > rec["bound_value"]


def test_an_unclaimed_user_bound_stays_out_of_the_shipped_suite(registries):
    """"Every bound at least once" concerns the shipped theorems: a user's bound is the claim of
    the algorithm that claims it, never checked against a stand-in algorithm."""
    from dataclasses import replace

    from asyncbound.checks.suite import build_suite

    from asyncbound import theory

    shipped = theory.get_bound("classic_delayed_sgd/nonconvex")
    theory.register_bound(replace(shipped, key="mine/x", paper="mine", provenance=theory.Provenance.CLAIMED))
    assert "mine/x" not in {s.bound for s in build_suite("quick", include_studies=False)}


_HEAD = ("from asyncbound.implementations.registry import AlgorithmSpec\n"
         "from asyncbound.implementations.rules import sgd\n"
         "from asyncbound.theory import Bound, Kind, Provenance, Source, symbol\n"
         "def bound(key='mine/x', provenance=Provenance.CLAIMED, metric_id='avg_grad_sq'):\n"
         "    return Bound(key=key, paper=key.split('/')[0], metric='m', metric_id=metric_id,\n"
         "                 kind=Kind.UPPER, expr=symbol('F0') / symbol('K'), assumptions=(), conditions=(),\n"
         "                 source=Source('me', 't', 'v', 2026, 'n/a', '1', 'u'), provenance=provenance)\n"
         "ALGORITHM = AlgorithmSpec('mine_sgd', sgd, 'full', {'lr': 0.1}, ('reference',), ('mine/x',))\n")


@pytest.mark.parametrize(("tail", "message"), [
    ("BOUNDS = [bound(provenance=Provenance.DERIVED)]\n", "user's claim: give provenance=Provenance.CLAIMED"),
    ("BOUNDS = [bound(metric_id='loss')]\n", "metric_id 'loss' has no estimator"),
    ("BOUNDS = [bound(), bound()]\n", "declares 'mine/x' twice"),
    ("BOUNDS = bound()\n", "BOUNDS must be a list"),
    ("BOUNDS = [bound('classic_delayed_sgd/x')]\n", "shipped paper"),
    ("BOUNDS = [bound('mine/y')]\n", "claims unknown bound 'mine/x'"),
    ("from asyncbound.theory import register_bound\nregister_bound(bound(provenance=Provenance.VERIFIED))\n",
     "raised ValueError on import: bound mine/x: a user's bound is the user's claim"),
    ("X = Bound(key='mine/x', paper='mine', metric='m', metric_id='avg_grad_sq', kind=Kind.UPPER,"
     " expr=symbol('F0') * __import__('sympy').Symbol('Lip'), assumptions=(), conditions=(),"
     " source=None, provenance=Provenance.CLAIMED)\n", "unknown symbol 'Lip'"),
])
def test_a_bad_user_bound_is_one_usage_error_line(registries, tmp_path, tail, message):
    f = tmp_path / "bad_bound.py"
    f.write_text(_HEAD + tail)
    with pytest.raises(UsageError, match=message) as e:
        load_variant(f)
    assert "\n" not in str(e.value) and str(f) in str(e.value)


def test_a_variant_may_register_its_bound_itself(registries, tmp_path):
    f = tmp_path / "self_registers.py"
    f.write_text(_HEAD + "from asyncbound.theory import register_bound\nregister_bound(bound())\n")
    assert load_variant(f).algorithm.bounds == ("mine/x",)
    assert load_variant(f).algorithm.name == "mine_sgd"  # loading twice: an equal bound again is fine
