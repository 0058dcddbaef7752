"""Real-data problems: the scikit-learn loader, the certified L of breast-cancer logistic
regression against a Hessian power iteration, the digits MLP/CNN (split, gradient, accuracy)."""

from __future__ import annotations

import sys

import pytest
import torch

pytest.importorskip("sklearn")

from asyncbound.implementations.backends import run  # noqa: E402
from asyncbound.implementations.problems import PROBLEMS, get_problem  # noqa: E402
from asyncbound.implementations.problems.curvature import hessian_norm  # noqa: E402
from asyncbound.implementations.problems.datasets import load_builtin  # noqa: E402


def test_missing_sklearn_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ValueError, match=r"asyncbound\[data\]"):
        load_builtin("digits")
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_builtin("mnist")


def test_registered():
    assert {"breast_cancer_logistic", "digits_mlp", "digits_cnn"} <= set(PROBLEMS)


def test_breast_cancer_L_is_attained_at_zero_and_bounds_the_hessian_elsewhere():
    p = get_problem("breast_cancer_logistic")
    assert p.dim == 31 and p.n == 569
    # at x = 0 every s_i(1 - s_i) = 1/4: the Hessian is exactly A^T A/(4n) + lam I
    at0 = hessian_norm(p, torch.zeros(p.dim))
    assert at0 == pytest.approx(p.constants["L"], rel=1e-5)
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        x = 0.5 * torch.randn(p.dim, generator=gen, dtype=torch.float64)
        assert hessian_norm(p, x) <= p.constants["L"] * (1 + 1e-6)
    assert p.f_star < float(p.loss(torch.zeros(p.dim, dtype=torch.float64)))


@pytest.mark.parametrize("name", ["digits_mlp", "digits_cnn"])
def test_digits_split_is_seeded_and_disjoint(name):
    a, b, c = get_problem(name, seed=0), get_problem(name, seed=0), get_problem(name, seed=1)
    assert a.n + len(a.y_test) == 1797 and len(a.y_test) == 359
    assert torch.equal(a.X_test, b.X_test) and not torch.equal(a.X_test, c.X_test)
    train = {tuple(r) for r in a.X.tolist()}
    assert sum(tuple(r) in train for r in a.X_test.tolist()) < 10  # the data has a few duplicates


def test_cnn_gradient_matches_finite_differences_and_batching():
    p = get_problem("digits_cnn", seed=0)
    gen = torch.Generator().manual_seed(0)
    x = p.x0(3, gen).double()
    g = p.full_grad(x)
    for s in range(3):
        assert torch.allclose(p.full_grad(x[s]), g[s], rtol=1e-8, atol=1e-10)
    v = torch.randn(p.dim, generator=gen, dtype=torch.float64)
    e = 1e-5
    fd = (p.loss(x[0] + e * v) - p.loss(x[0] - e * v)) / (2 * e)
    assert float(fd) == pytest.approx(float(g[0] @ v), rel=1e-5)


def test_cnn_learns_the_digits_on_the_reference_backend():
    p = get_problem("digits_cnn", seed=0)
    tr = run("minibatch_sgd", p, "none", 300, 1, workers=2, lr=0.3, eval_every=100)
    x = torch.as_tensor(tr.final_params, dtype=torch.float32)
    m0 = p.metrics(p.x0(1, torch.Generator().manual_seed(0)))
    m = p.metrics(x)
    assert float(m["test_accuracy"]) > 0.8 > float(m0["test_accuracy"])
    assert float(m["loss"]) < 0.5 * float(m0["loss"])
