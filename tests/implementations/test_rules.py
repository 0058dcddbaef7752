"""Update rules: validation, batch behaviour, per-vector reductions, top-k, AMSGrad variants."""

from __future__ import annotations

import math

import pytest
import torch
from asyncbound.implementations import rules as R
from hypothesis import given
from hypothesis import strategies as st

F64 = torch.float64

# (factory, valid kwargs) for every factory: the base of the validation and batch tables
VALID = {
    "sgd": (R.sgd, dict(lr=0.1)),
    "adagrad": (R.adagrad, dict(lr=0.1)),
    "adanorm": (R.adanorm, dict(lr=0.1)),
    "rmsprop": (R.rmsprop, dict(lr=0.01)),
    "adam": (R.adam, dict(lr=0.01)),
    "amsgrad_paper": (R.amsgrad_paper, dict(lr=0.01, beta1=0.9, beta2=0.99)),
    "amsgrad_code": (R.amsgrad_code, dict(lr=0.01)),
    "normalized": (R.normalized, dict(lr=0.1)),
    "inexact_normalized": (R.inexact_normalized, dict(lr=0.1, delta=0.2)),
}

# (factory name, argument, bad value): every row must raise ValueError naming the argument
INVALID = [
    ("sgd", "lr", -1.0), ("sgd", "lr", 0.0), ("sgd", "lr", float("nan")), ("sgd", "lr", "0.1"),
    ("sgd", "momentum", -0.1), ("sgd", "dampening", 2.0), ("sgd", "nesterov", 1),
    ("sgd", "weight_decay", -1.0), ("sgd", "ema", "yes"),
    ("adagrad", "lr", -1.0), ("adagrad", "eps", -1e-3), ("adagrad", "lr_decay", -0.1),
    ("adagrad", "initial_accumulator_value", -1.0), ("adagrad", "form", "bogus"),
    ("adanorm", "lr", -1.0), ("adanorm", "eps", -1.0), ("adanorm", "form", "x"),
    ("rmsprop", "lr", -1.0), ("rmsprop", "alpha", 1.5), ("rmsprop", "eps", -1.0),
    ("rmsprop", "momentum", -1.0), ("rmsprop", "centered", None),
    ("adam", "lr", -1.0), ("adam", "betas", (0.9, 1.0)), ("adam", "betas", (-0.1, 0.9)),
    ("adam", "betas", 0.9), ("adam", "eps", -1.0), ("adam", "amsgrad", 0), ("adam", "weight_decay", -1.0),
    ("amsgrad_paper", "lr", -1.0), ("amsgrad_paper", "beta1", 1.0), ("amsgrad_paper", "beta2", -0.5),
    ("amsgrad_paper", "schedule", "cosine"),
    ("amsgrad_code", "lr", -1.0), ("amsgrad_code", "betas", (1.2, 0.9)), ("amsgrad_code", "eps", -1.0),
    ("normalized", "lr", -1.0), ("normalized", "schedule", "linear"), ("normalized", "momentum", 1.0),
    ("inexact_normalized", "lr", -1.0), ("inexact_normalized", "delta", 1.0),
    ("inexact_normalized", "delta", -0.1), ("inexact_normalized", "generator", 3),
]


@pytest.mark.parametrize(("name", "arg", "value"), INVALID,
                         ids=[f"{n}-{a}-{v!r}" for n, a, v in INVALID])
def test_invalid_hyperparameter_raises_naming_it(name, arg, value):
    factory, kwargs = VALID[name]
    with pytest.raises(ValueError, match=arg.split("[")[0]):
        factory(**{**kwargs, arg: value})


def test_error_message_format():
    with pytest.raises(ValueError, match=r"^lr must be > 0, got -1\.0$"):
        R.sgd(lr=-1.0)


def test_hyperparameters_are_keyword_only():
    with pytest.raises(TypeError):
        R.sgd(0.1)  # type: ignore[misc]


@pytest.mark.parametrize(("arg", "value"), [("k", 0), ("k", 2.5), ("ratio", 0.0), ("ratio", 1.5),
                                            ("error_feedback", 1)])
def test_topk_invalid(arg, value):
    kwargs = {"k": 2, arg: value} if arg != "ratio" else {arg: value}
    with pytest.raises(ValueError, match=arg):
        R.topk(R.sgd(lr=0.1), **kwargs)
    with pytest.raises(ValueError, match="k or ratio"):
        R.topk(R.sgd(lr=0.1))


def _batch_rules():
    rules = {name: f(**kw) for name, (f, kw) in VALID.items()}
    rules.update(
        sgd_momentum=R.sgd(lr=0.1, momentum=0.9), sgd_nesterov=R.sgd(lr=0.1, momentum=0.9, nesterov=True),
        sgd_ema=R.sgd(lr=0.1, momentum=0.9, ema=True), sgd_wd=R.sgd(lr=0.1, weight_decay=0.1),
        adagrad_gt=R.adagrad(lr=0.1, eps=1e-8, form="gratton_toint"),
        adanorm_gt=R.adanorm(lr=0.1, eps=1e-8, form="gratton_toint"),
        rmsprop_cm=R.rmsprop(lr=0.01, centered=True, momentum=0.5),
        normalized_mom=R.normalized(lr=0.1, momentum=0.5, schedule="inv_sqrt"),
        topk_ef=R.topk(R.adam(lr=0.01), k=2, error_feedback=True),
        topk=R.topk(R.sgd(lr=0.1, momentum=0.9), ratio=0.5),
    )
    return rules


BATCH_RULES = _batch_rules()


@pytest.mark.parametrize("name", sorted(BATCH_RULES))
@given(seed=st.integers(0, 2**31 - 1))
def test_batch_equals_rows(name, seed):
    """A rule on (S, d) acts row by row: identical to running each row separately."""
    rule = BATCH_RULES[name]
    gen = torch.Generator().manual_seed(seed)
    S, d, T = 3, 6, 8
    x = torch.randn(S, d, generator=gen, dtype=F64)
    grads = torch.randn(T, S, d, generator=gen, dtype=F64)
    state = rule.init(x)
    deltas = []
    for t in range(T):
        delta, state = rule.step(grads[t], state, t + 1)
        deltas.append(delta)
    for s in range(S):
        st_row = rule.init(x[s])
        for t in range(T):
            delta, st_row = rule.step(grads[t, s], st_row, t + 1)
            torch.testing.assert_close(delta, deltas[t][s], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(BATCH_RULES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_and_state_shapes(name, dtype):
    rule = BATCH_RULES[name]
    x = torch.ones(2, 5, dtype=dtype)
    state = rule.init(x)
    delta, new = rule.step(torch.full((2, 5), 0.5, dtype=dtype), state, 1)
    assert delta.dtype == dtype and delta.shape == x.shape
    for key, val in new.items():
        assert isinstance(val, torch.Tensor) and val.dtype == dtype, key
        assert val.shape in {(2, 5), (2, 1)}, (key, val.shape)
    assert set(new) == set(state)
    with pytest.raises(ValueError, match="t must be"):
        rule.step(torch.ones(2, 5, dtype=dtype), state, 0)


def test_adanorm_is_per_vector():
    rule = R.adanorm(lr=1.0, eps=0.0)
    g = torch.tensor([[3.0, 4.0], [0.0, 1.0]], dtype=F64)
    state = rule.init(torch.zeros(2, 2, dtype=F64))
    assert state["sum"].shape == (2, 1)
    delta, state = rule.step(g, state, 1)
    torch.testing.assert_close(state["sum"], torch.tensor([[25.0], [1.0]], dtype=F64))
    torch.testing.assert_close(delta, -g / torch.tensor([[5.0], [1.0]], dtype=F64))


def test_gratton_toint_form_puts_eps_inside_sqrt():
    g = torch.tensor([0.3, -2.0], dtype=F64)
    for factory, acc in ((R.adagrad, g * g), (R.adanorm, (g * g).sum())):
        rule = factory(lr=0.5, eps=0.25, form="gratton_toint")
        delta, _ = rule.step(g, rule.init(g), 1)
        torch.testing.assert_close(delta, -0.5 * g / torch.sqrt(0.25 + acc))


def test_sgd_ema_momentum():
    rule = R.sgd(lr=0.1, momentum=0.8, ema=True)
    g1, g2 = torch.tensor([1.0], dtype=F64), torch.tensor([3.0], dtype=F64)
    s = rule.init(g1)
    d1, s = rule.step(g1, s, 1)
    d2, s = rule.step(g2, s, 2)
    torch.testing.assert_close(d1, -0.1 * 0.2 * g1)
    torch.testing.assert_close(d2, -0.1 * (0.8 * 0.2 * g1 + 0.2 * g2))


@pytest.mark.parametrize("schedule", ["constant", "inv_sqrt"])
def test_amsgrad_paper_algorithm1(schedule):
    b1, b2, lr = 0.9, 0.99, 0.1
    rule = R.amsgrad_paper(lr=lr, beta1=b1, beta2=b2, schedule=schedule)
    gen = torch.Generator().manual_seed(3)
    grads = torch.randn(20, 4, generator=gen, dtype=F64)
    m = v = vhat = torch.zeros(4, dtype=F64)
    state = rule.init(m)
    for k in range(1, 21):
        g = grads[k - 1]
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        vhat = torch.maximum(vhat, v)
        alpha = lr / math.sqrt(k) if schedule == "inv_sqrt" else lr
        delta, state = rule.step(g, state, k)
        torch.testing.assert_close(delta, -alpha * m / vhat.sqrt())


def test_amsgrad_paper_zero_over_zero_is_zero():
    rule = R.amsgrad_paper(lr=0.1, beta1=0.9, beta2=0.99)
    g = torch.tensor([0.0, 1.0, 0.0], dtype=F64)
    delta, state = rule.step(g, rule.init(g), 1)
    assert torch.isfinite(delta).all() and delta[0] == 0 and delta[2] == 0 and delta[1] < 0


def test_amsgrad_code_differs_from_paper():
    g = torch.tensor([1.0, -2.0], dtype=F64)
    p, c = R.amsgrad_paper(lr=0.1, beta1=0.9, beta2=0.999, schedule="constant"), R.amsgrad_code(lr=0.1)
    dp, _ = p.step(g, p.init(g), 1)
    dc, _ = c.step(g, c.init(g), 1)
    assert not torch.allclose(dp, dc)  # bias correction: the code's first step is -lr sign(g)
    torch.testing.assert_close(dc, -0.1 * g / (g.abs() + 1e-8))


def test_normalized_step_length():
    rule = R.normalized(lr=0.3, schedule="inv_sqrt")
    g = torch.tensor([[3.0, 4.0], [0.0, 0.0]], dtype=F64)
    delta, _ = rule.step(g, rule.init(g), 4)
    torch.testing.assert_close(delta[0], -0.15 * g[0] / 5)
    assert torch.equal(delta[1], torch.zeros(2, dtype=F64))


@pytest.mark.parametrize("random", [False, True])
@given(seed=st.integers(0, 2**31 - 1), delta=st.floats(0.0, 0.9))
def test_inexact_normalized_bounds(random, seed, delta):
    gen = torch.Generator().manual_seed(seed)
    rule = R.inexact_normalized(lr=1.0, delta=delta,
                                generator=torch.Generator().manual_seed(seed + 1) if random else None)
    state = rule.init(torch.zeros(5, 7, dtype=F64))
    for t in range(1, 6):
        g = torch.randn(5, 7, generator=gen, dtype=F64)
        d, state = rule.step(g, state, t)
        norm = torch.linalg.vector_norm(d, dim=-1)
        assert ((norm >= 1 - delta - 1e-12) & (norm <= 1 + delta + 1e-12)).all()
        assert ((d * g).sum(-1) < 0).all()  # a descent direction (delta = -lr d)


@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 8))
def test_topk_keeps_exactly_k_and_conserves_mass(seed, k):
    gen = torch.Generator().manual_seed(seed)
    inner = R.sgd(lr=0.1, momentum=0.5)
    ef = R.topk(inner, k=k, error_feedback=True)
    plain = R.topk(inner, k=k)
    x = torch.randn(3, 8, generator=gen, dtype=F64)
    s_ef, s_plain, s_in = ef.init(x), plain.init(x), inner.init(x)
    for t in range(1, 6):
        g = torch.randn(3, 8, generator=gen, dtype=F64)
        d_in, s_in = inner.step(g, s_in, t)
        e_old = s_ef["ef"]
        c, s_ef = ef.step(g, s_ef, t)
        assert ((c != 0).sum(-1) == k).all()
        assert torch.equal(c + s_ef["ef"], d_in + e_old)  # exact, entry by entry
        c_plain, s_plain = plain.step(g, s_plain, t)
        assert ((c_plain != 0).sum(-1) == k).all()
        kept = c_plain != 0
        assert torch.equal(c_plain[kept], d_in[kept])
        if k < 8:  # per row: every kept magnitude >= every dropped one
            a = d_in.abs()
            kept_min = torch.where(kept, a, torch.inf).min(-1).values
            dropped_max = torch.where(kept, -torch.inf, a).max(-1).values
            assert (kept_min >= dropped_max).all()


@pytest.mark.parametrize("error_feedback", [False, True])
def test_topk_with_k_equal_d_is_inner(error_feedback):
    gen = torch.Generator().manual_seed(0)
    inner = R.adam(lr=0.01)
    full = R.topk(inner, ratio=1.0, error_feedback=error_feedback)
    x = torch.randn(2, 6, generator=gen, dtype=F64)
    s_full, s_in = full.init(x), inner.init(x)
    for t in range(1, 11):
        g = torch.randn(2, 6, generator=gen, dtype=F64)
        d_full, s_full = full.step(g, s_full, t)
        d_in, s_in = inner.step(g, s_in, t)
        assert torch.equal(d_full, d_in)
    if error_feedback:
        assert torch.equal(s_full["ef"], torch.zeros_like(x))


def test_topk_state_and_k_too_large():
    rule = R.topk(R.sgd(lr=0.1, momentum=0.9), k=3, error_feedback=True)
    state = rule.init(torch.zeros(4, 5))
    assert set(state) == {"inner.momentum", "ef"}
    assert "topk_ef" in rule.name
    with pytest.raises(ValueError, match="k must be <="):
        rule.init(torch.zeros(2))


def test_rules_satisfy_protocol():
    for name, rule in BATCH_RULES.items():
        assert isinstance(rule, R.Rule), name
        assert isinstance(rule.name, str) and rule.name


@pytest.mark.parametrize("name", sorted(BATCH_RULES))
def test_step_never_mutates_inputs(name):
    rule = BATCH_RULES[name]
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 6, generator=gen, dtype=F64)
    _, state = rule.step(torch.randn(2, 6, generator=gen, dtype=F64), rule.init(x), 1)
    snap = {k: v.clone() for k, v in state.items()}
    g = torch.randn(2, 6, generator=gen, dtype=F64)
    g0 = g.clone()
    rule.step(g, state, 2)
    assert torch.equal(g, g0)
    assert all(torch.equal(state[k], snap[k]) for k in snap)


@pytest.mark.parametrize(("ratio", "d", "k"), [(0.25, 8, 2), (0.3, 10, 3), (0.01, 5, 1), (1.0, 7, 7)])
def test_topk_ratio_gives_ceil(ratio, d, k):
    rule = R.topk(R.sgd(lr=1.0), ratio=ratio)
    g = torch.arange(1.0, d + 1, dtype=F64)
    c, _ = rule.step(g, rule.init(g), 1)
    assert int((c != 0).sum()) == k
