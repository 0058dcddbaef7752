"""Every registered bound: registry, evaluation (lambdify == subs().evalf()), conditions,
validation of bad inputs, JSON/MathML rendering, and one value checked by hand per bound."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import sympy as sp
from asyncbound.theory import BOUNDS, Kind, Provenance, get_bound
from asyncbound.theory.symbols import SPECS, SYMBOLS, symbol

PAPERS = {"kungurtsev2021", "gratton_toint2026", "nadiradze2021", "xu_apam", "classic_delayed_sgd"}
METRIC_IDS = {"min_grad_sq", "avg_grad_sq", "final_gap", "avg_gap", "final_dist_sq", "view_gap",
              "staleness_max", "grad_sq_slope", "stationarity"}

# a valid value for every canonical symbol
BASE = dict(L=2.0, mu=0.5, sigma=0.7, G=1.5, M=3.0, D=2.0, tau=4, tau_avg=2.0, K=400, k=10,
            eta=0.01, beta1=0.9, beta2=0.999, momentum=0.9, eps=1e-8, n_workers=4, n_blocks=4,
            n_crash=1, d=10, F0=5.0, r0_sq=3.0, B=12.0, gamma_topk=0.1, p_min=0.25, delta=0.1,
            omega=2.0, p_log=1.0, C0=1.0, C1=2.0, C2=0.5, a_step=1.0, b_step=10.0, p_step=0.75,
            eps_acc=0.01)

# hand-computed values at BASE (see the comment of each line)
HAND = {
    # 2*5/(0.01*400) + (1 + 1/400) * (2*0.01*0.49 + 2*4*1e-4*0.49*4)
    "classic_delayed_sgd/nonconvex": 2.5 + 1.0025 * (0.0098 + 0.001568),
    # (1 - 0.005)^400 * 5 + 2*0.01*0.49*(1 + 2*2*0.01*4)/(2*0.5)
    "classic_delayed_sgd/strongly_convex": 0.995**400 * 5 + 0.0098 * 1.16,
    "nadiradze2021/elastic_consistency": 0.01 * 12.0,
    "nadiradze2021/view_gap_async": 0.01 * 4 * 3.0,
    # 5/(0.01*400) + (1 + 1/400) * 0.01*2*(3*12 + 9/2)
    "nadiradze2021/nonconvex_M": 1.25 + 1.0025 * 0.02 * 40.5,
    # 2*5/4 + (1 + 1/400) * (2*0.01*0.49 + 4*1e-4*144)
    "nadiradze2021/nonconvex_sigma": 2.5 + 1.0025 * (0.0098 + 0.0576),
    # exp(-0.01*0.5*400)*3 + 0.01*(9 + 72)/0.5 + 2*1e-4*144
    "nadiradze2021/strongly_convex": math.exp(-2) * 3 + 1.62 + 0.0288,
    # q = 1 - 0.01*0.5*(3/2 - 2*2*0.01) = 0.9927; C = 1e-4*0.49 + 2*1e-6*4*144*(1/0.5 + 0.01)
    "nadiradze2021/strongly_convex_sigma": 0.9927**400 * 3 + (1 - 0.9927**400) * (4.9e-5 + 0.00231552) / 0.0073,
    # C1/sqrt(K) + C2 tau^2/K = 2/20 + 0.5*16/400
    "xu_apam/convex": 0.1 + 0.02,
    "xu_apam/nonconvex": 0.1 + 0.02,
    # (1 + 2*log(401))/sqrt(401)
    "gratton_toint2026/rate": (1 + 2 * math.log(401)) / math.sqrt(401),
    # -1/2 + 2/(1 + 2 log 401)  (p = 1)
    "gratton_toint2026/slope": -0.5 + 2 / (1 + 2 * math.log(401)),
    "kungurtsev2021/stationarity": 0.0,
}


def test_registry_covers_the_papers_and_is_consistent():
    assert PAPERS <= {b.paper for b in BOUNDS.values()}
    for key, b in BOUNDS.items():
        assert key == b.key and key.startswith(b.paper + "/")
        assert b.metric_id in METRIC_IDS
        assert isinstance(b.kind, Kind) and isinstance(b.provenance, Provenance)
        assert b.source.arxiv and b.source.locator and b.source.url
        assert b.symbols() <= set(SYMBOLS)
    assert set(HAND) == set(BOUNDS), "every bound needs a hand-checked value"


def test_provenance_is_honest():
    # nothing was read in a theorem statement: no bound may claim VERIFIED
    assert all(b.provenance is not Provenance.VERIFIED for b in BOUNDS.values())
    for b in BOUNDS.values():
        if b.provenance is Provenance.RECONSTRUCTED and {"C0", "C1", "C2"} & b.symbols():
            assert b.kind is Kind.ASYMPTOTIC  # free constants: no numeric guarantee claimed


@pytest.mark.parametrize("key", sorted(BOUNDS))
def test_hand_value(key):
    assert get_bound(key).evaluate(**BASE) == pytest.approx(HAND[key], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("key", sorted(BOUNDS))
def test_compiled_equals_subs_evalf(key):
    b = get_bound(key)
    for scale in (1.0, 0.37, 3.1):
        vals = {k: (v * scale if SPECS[k].hi == math.inf and SPECS[k].lo == 0
                    and not SPECS[k].integer else v) for k, v in BASE.items()}
        exact = float(b.expr.subs({SYMBOLS[n]: vals[n] for n in b.expr_symbols()}).evalf(30))
        assert b.evaluate(**vals) == pytest.approx(exact, rel=1e-12, abs=1e-14)
        assert b.evaluate_exact(**vals) == pytest.approx(exact, rel=1e-12, abs=1e-14)


def test_compiled_once():
    b = get_bound("classic_delayed_sgd/nonconvex")
    b.evaluate(**BASE)
    first = b._compiled
    b.evaluate(**BASE)
    assert b._compiled is first


@pytest.mark.parametrize(("name", "value"), [("L", -1.0), ("L", 0.0), ("eta", -0.1),
                                             ("sigma", -0.5), ("K", 0.0), ("tau", -1)])
def test_bad_values_name_the_argument(name, value):
    b = get_bound("classic_delayed_sgd/nonconvex")
    with pytest.raises(ValueError, match=rf"^{name} must"):
        b.evaluate(**{**BASE, name: value})


@pytest.mark.parametrize("value", [1.0, -0.1, 1.5])
def test_beta_outside_unit_interval_rejected(value):
    b = get_bound("xu_apam/nonconvex")
    for name in ("beta1", "beta2"):
        with pytest.raises(ValueError, match=name):
            b.check_conditions(**{**BASE, name: value})


def test_unknown_and_missing_symbols_rejected():
    b = get_bound("classic_delayed_sgd/nonconvex")
    with pytest.raises(ValueError, match="unknown symbol 'Lip'"):
        b.evaluate(**BASE, Lip=1.0)
    with pytest.raises(ValueError, match="missing value for tau"):
        b.evaluate(**{k: v for k, v in BASE.items() if k != "tau"})
    with pytest.raises(ValueError, match="'sigma2'.*sigma"):
        symbol("sigma2")
    with pytest.raises(ValueError, match="must be a real number"):
        b.evaluate(**{**BASE, "L": "abc"})


def test_check_conditions_text():
    b = get_bound("classic_delayed_sgd/nonconvex")
    (ok,) = b.check_conditions(L=1.0, tau=0, eta=0.5)
    assert ok.holds and ok.rhs == pytest.approx(1.0) and ok.lhs == 0.5
    assert ok.text.endswith("0.5 <= 1 holds")
    (bad,) = b.check_conditions(L=1.0, tau=4, eta=0.5)
    assert not bad.holds and bad.text.endswith("fails")
    assert not b.conditions_hold(L=1.0, tau=4, eta=0.5)
    with pytest.raises(ValueError, match="missing value for L"):
        b.check_conditions(tau=4, eta=0.5)


def test_unknown_key_suggests_close_keys():
    with pytest.raises(ValueError, match="closest: nadiradze2021/nonconvex_"):
        get_bound("nadiradze/nonconvex")


@pytest.mark.parametrize("key", sorted(BOUNDS))
def test_to_dict_is_json_with_mathml(key):
    d = get_bound(key).to_dict()
    json.dumps(d)
    assert d["mathml"].startswith("<math") and d["mathml"].endswith("</math>")
    for field in ("key", "paper", "metric", "metric_id", "kind", "provenance", "expression",
                  "latex", "assumptions", "conditions", "source"):
        assert field in d
    assert d["provenance"] in {"verified", "derived", "reconstructed"}
    assert all(a["certify"] and a["estimate"] for a in d["assumptions"])


def test_noncanonical_symbol_rejected_at_construction():
    from asyncbound.theory.bounds import Bound

    b = get_bound("xu_apam/nonconvex")
    with pytest.raises(ValueError, match="not canonical"):
        Bound(key="x/y", paper="x", metric="m", metric_id="min_grad_sq", kind=Kind.UPPER,
              expr=sp.Symbol("L") + 1, assumptions=(), conditions=(), source=b.source,
              provenance=Provenance.DERIVED)


def test_import_theory_is_torch_free():
    code = "import sys, asyncbound.theory, asyncbound.theory.derivations, asyncbound.checks.cli.theory; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_pos = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)


@pytest.mark.property
@given(L_=_pos, eta_=st.floats(1e-4, 1.0), sig=st.floats(0, 10), t=st.integers(0, 64),
       k=st.integers(1, 10**6), f0=st.floats(0, 100), mu_frac=st.floats(1e-3, 1.0))
def test_property_compiled_equals_exact(L_, eta_, sig, t, k, f0, mu_frac):
    vals = dict(L=L_, eta=eta_, sigma=sig, tau=t, K=k, F0=f0, mu=mu_frac * L_, M=sig + 1,
                B=t * (sig + 1), r0_sq=f0)
    for key in ("classic_delayed_sgd/nonconvex", "classic_delayed_sgd/strongly_convex",
                "nadiradze2021/nonconvex_sigma", "nadiradze2021/strongly_convex"):
        b = get_bound(key)
        assert b.evaluate(**vals) == pytest.approx(b.evaluate_exact(**vals), rel=1e-9, abs=1e-300)
