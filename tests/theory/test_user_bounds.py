"""The open bound registry: register_bound validates a user's bound like a shipped one, and a
user's bound is labelled as the user's claim (Provenance.CLAIMED), never derived or verified."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest
import sympy as sp
from asyncbound.theory import Bound, Kind, Provenance, Source, symbol

from asyncbound import theory

SOURCE = Source(authors="A. User", title="notes", venue="my notes", year=2026, arxiv="n/a",
                locator="Claim 1", url="https://example.org")
L, eta, tau, K, F0 = (symbol(n) for n in ("L", "eta", "tau", "K", "F0"))


def user_bound(**kw) -> Bound:
    fields = dict(key="mine/rate", paper="mine", metric="avg grad", metric_id="avg_grad_sq",
                  kind=Kind.UPPER, expr=2 * F0 / (eta * K), assumptions=(),
                  conditions=(sp.Le(eta, 1 / (2 * L * (tau + 1))),), source=SOURCE,
                  provenance=Provenance.CLAIMED)
    fields.update(kw)
    return Bound(**fields)


@pytest.fixture(autouse=True)
def _restore_bounds():
    saved = dict(theory.BOUNDS)
    yield
    theory.BOUNDS.clear()
    theory.BOUNDS.update(saved)


def test_registered_bound_is_found_and_labelled_claimed():
    b = theory.register_bound(user_bound())
    assert theory.get_bound("mine/rate") is b and theory.is_user_bound("mine/rate")
    assert b.to_dict()["provenance"] == "claimed"
    assert not theory.is_user_bound("classic_delayed_sgd/nonconvex")
    theory.register_bound(user_bound())  # an equal bound again (a file imported twice): no-op
    theory.unregister_bound("mine/rate")
    with pytest.raises(ValueError, match="unknown bound"):
        theory.get_bound("mine/rate")


def test_no_shipped_bound_is_claimed():
    shipped = [b for k, b in theory.BOUNDS.items() if not theory.is_user_bound(k)]
    assert shipped and all(b.provenance is not Provenance.CLAIMED for b in shipped)
    assert all(b.metric_id in theory.METRIC_IDS for b in shipped)


@pytest.mark.parametrize("prov", [Provenance.DERIVED, Provenance.VERIFIED, Provenance.RECONSTRUCTED])
def test_a_user_cannot_label_their_bound_with_the_projects_provenance(prov):
    with pytest.raises(ValueError, match="user's claim") as e:
        theory.register_bound(user_bound(provenance=prov))
    assert "\n" not in str(e.value)
    assert "mine/rate" not in theory.BOUNDS


@pytest.mark.parametrize(("make", "message"), [
    (lambda: user_bound(metric_id="min_grad"), "metric_id 'min_grad' has no estimator .*min_grad_sq"),
    (lambda: user_bound(provenance=None), "provenance is missing"),
    (lambda: user_bound(provenance="claimed"), "provenance is missing"),
    (lambda: user_bound(key="mine-rate"), "'<paper>/<result>'"),
    (lambda: user_bound(paper="other"), "must be the key's prefix"),
    (lambda: user_bound(kind="UPPER"), "kind must be"),
    (lambda: user_bound(source="me"), "source must be"),
    (lambda: user_bound(key="classic_delayed_sgd/mine", paper="classic_delayed_sgd"), "shipped paper"),
    (lambda: "not a bound", "must be an asyncbound.theory.Bound"),
])
def test_bad_user_bounds_are_one_line_errors(make, message):
    with pytest.raises(ValueError, match=message) as e:
        theory.register_bound(make())
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(("expr", "message"), [
    (sp.Symbol("Lip") * eta, "unknown symbol 'Lip'"),
    (sp.Symbol("L") * eta, "symbol 'L' is not canonical"),  # same name, no positivity assumption
])
def test_unknown_or_noncanonical_symbols_fail_at_construction(expr, message):
    with pytest.raises(ValueError, match=message) as e:
        user_bound(expr=expr)
    assert "\n" not in str(e.value)


def test_duplicate_key_needs_replace_and_shipped_keys_are_never_replaced():
    theory.register_bound(user_bound())
    other = user_bound(expr=4 * F0 / (eta * K))
    with pytest.raises(ValueError, match="duplicate key"):
        theory.register_bound(other)
    assert theory.register_bound(other, replace=True) is theory.get_bound("mine/rate")
    shipped = theory.get_bound("classic_delayed_sgd/nonconvex")
    with pytest.raises(ValueError):
        theory.register_bound(replace(shipped, provenance=Provenance.CLAIMED), replace=True)
    with pytest.raises(ValueError, match="cannot be unregistered"):
        theory.unregister_bound("classic_delayed_sgd/nonconvex")
    assert theory.get_bound("classic_delayed_sgd/nonconvex") is shipped


def test_registering_stays_torch_free():
    code = ("import sys, sympy as sp; from asyncbound import theory; from asyncbound.theory import symbol;"
            "b = theory.get_bound('classic_delayed_sgd/nonconvex');"
            "import dataclasses; theory.register_bound(dataclasses.replace(b, key='me/x', paper='me',"
            " provenance=theory.Provenance.CLAIMED)); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


def test_a_condition_that_is_not_a_relational_is_refused():
    with pytest.raises(ValueError, match="not a relational"):
        user_bound(conditions=(sp.true,))
    with pytest.raises(ValueError, match="sympy expression"):
        user_bound(expr=0.5)
