"""Certified problems: constants, unbiasedness/variance, f*, batch consistency, data loading.

Statistical tests use a seeded generator (deterministic) and a false-alarm rate of at most
1e-6 per assertion: the z thresholds below are two-sided normal quantiles for 1e-6 (4.89),
Bonferroni-corrected over the coordinates where a vector is tested.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from asyncbound.implementations.problems import PROBLEMS, get_problem, load_dataset
from asyncbound.implementations.problems.real_data import REAL_DATA_PROBLEMS
from hypothesis import given, settings
from hypothesis import strategies as st

F64 = torch.float64
FALSE_ALARM = 1e-6


def z_threshold(n_tests: int) -> float:
    """Two-sided normal quantile for FALSE_ALARM / n_tests (Bonferroni)."""
    p = FALSE_ALARM / n_tests
    # inverse of the normal tail by bisection on erfc (no scipy)
    lo, hi = 0.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if math.erfc(mid / math.sqrt(2)) > p else (lo, mid)
    return hi


try:  # the real-data problems need the `data` extra; the others are tested without it
    import sklearn  # noqa: F401
    NAMES = PROBLEMS
except ImportError:
    NAMES = tuple(n for n in PROBLEMS if n not in REAL_DATA_PROBLEMS)
SMALL = dict(dim=6)
#: problems whose dimension is set by their data or architecture
FIXED_DIM = ("relu_net", "mlp", "tanh_net", "breast_cancer_logistic", "digits_mlp", "digits_cnn")
CACHE: dict[str, object] = {}


def problem(name):
    if name not in CACHE:
        CACHE[name] = get_problem(name, **({} if name in FIXED_DIM else SMALL), seed=1)
    return CACHE[name]


def points(p, S=8, seed=0, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    x = p.x0(S, gen)
    return p.project(x + scale * torch.randn(x.shape, generator=gen, dtype=x.dtype))


def test_registry_names_and_unknown():
    assert set(PROBLEMS) == {"quadratic", "quadratic_box", "least_squares", "logistic", "logistic_box",
                             "l1_least_squares", "hinge", "relu_net", "mlp", "huber", "huber_ridge",
                             "huber_box", "cauchy", "welsch", "tanh_net", "adam_counterexample",
                             "breast_cancer_logistic", "digits_mlp", "digits_cnn"}
    with pytest.raises(ValueError, match="valid names: .*quadratic"):
        get_problem("quadratc")


@pytest.mark.parametrize("name", NAMES)
def test_interface(name):
    p = problem(name)
    assert p.name == name and isinstance(p.dim, int) and p.dtype in (torch.float32, F64)
    assert set(p.constants) <= {"L", "mu", "sigma", "G", "M", "D"}
    assert set(p.constants) <= set(p.certificates)
    assert all(isinstance(v, str) and v for v in p.certificates.values())
    x = points(p, S=3)
    assert x.shape == (3, p.dim) and x.dtype == p.dtype
    assert p.loss(x).shape == (3,) and p.full_grad(x).shape == (3, p.dim)
    g = p.stochastic_grad(x, torch.Generator().manual_seed(0))
    assert g.shape == (3, p.dim) and g.dtype == p.dtype
    assert p.stationarity(x).shape == (3,)


@pytest.mark.parametrize("name", NAMES)
def test_batch_consistency(name):
    p = problem(name)
    x = points(p, S=4)
    tol = dict(rtol=1e-5, atol=1e-6) if p.dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    for s in range(4):
        torch.testing.assert_close(p.loss(x[s]), p.loss(x)[s], **tol)
        torch.testing.assert_close(p.full_grad(x[s]), p.full_grad(x)[s], **tol)
        torch.testing.assert_close(p.full_grad(x[s:s + 1])[0], p.full_grad(x)[s], **tol)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_autograd(name):
    p = problem(name)
    x = points(p, S=3).clone().requires_grad_(True)
    no_grad_loss = ("mlp", "digits_mlp", "digits_cnn")
    (g,) = torch.autograd.grad(p.loss(x).sum(), x) if name not in no_grad_loss else (None,)
    if g is None:  # the networks' loss is evaluated under no_grad (their gradients have own tests)
        return
    torch.testing.assert_close(g, p.full_grad(x.detach()), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", [n for n in NAMES if "L" in problem(n).constants])
def test_certified_L_on_random_pairs(name):
    p = problem(name)
    x, y = points(p, S=64, seed=1, scale=3.0), points(p, S=64, seed=2, scale=3.0)
    num = torch.linalg.vector_norm(p.full_grad(x) - p.full_grad(y), dim=-1)
    den = torch.linalg.vector_norm(x - y, dim=-1)
    assert (num <= p.constants["L"] * den * (1 + 1e-12)).all()


@given(seed=st.integers(0, 10**6), dim=st.integers(2, 12), L=st.floats(0.1, 100.0),
       cond=st.floats(1.0, 1e4))
@settings(max_examples=10)
def test_quadratic_L_mu_exact_at_eigenvectors(seed, dim, L, cond):
    p = get_problem("quadratic", dim=dim, seed=seed, L=L, cond=cond)
    for i, c in ((0, p.constants["L"]), (dim - 1, p.constants["mu"])):
        v = p.eigenvector(i)
        ratio = torch.linalg.vector_norm(p.full_grad(p.x_star + v) - p.full_grad(p.x_star)) / v.norm()
        assert math.isclose(float(ratio), c, rel_tol=1e-10)
    ev = torch.linalg.eigvalsh(p.A)
    assert math.isclose(float(ev[-1]), L, rel_tol=1e-10)
    assert math.isclose(float(ev[0]), L / cond, rel_tol=1e-8)


def test_quadratic_noise_unbiased_with_exact_variance():
    p = get_problem("quadratic", dim=8, seed=3, sigma=0.7)
    N = 20000
    x = points(p, S=1, seed=5).expand(N, -1)
    xi = p.stochastic_grad(x, torch.Generator().manual_seed(11)) - p.full_grad(x)
    sd = p.sigma / math.sqrt(p.dim)
    assert (xi.mean(0).abs() <= z_threshold(p.dim) * sd / math.sqrt(N)).all()
    sq = (xi * xi).sum(-1)  # (sigma^2/d) chi^2_d: mean sigma^2, variance 2 sigma^4/d
    assert abs(float(sq.mean()) - 0.49) <= z_threshold(1) * 0.49 * math.sqrt(2 / p.dim / N)


@pytest.mark.parametrize("name", ["least_squares", "logistic", "logistic_box", "hinge", "tanh_net"])
def test_minibatch_unbiased_and_variance_bounded(name):
    p = problem(name)
    x = points(p, S=4, seed=7)
    if name == "least_squares":  # sigma is certified on the ball of radius p.radius around x*
        x = p.x_star + (x - p.x_star) * (p.radius / torch.linalg.vector_norm(x - p.x_star, dim=-1, keepdim=True)).clamp(max=1)
    full = p.full_grad(x)
    per = p.per_sample_grads(x) if name != "hinge" else None
    if per is not None:  # exact unbiasedness: the per-sample mean is the full gradient
        torch.testing.assert_close(per.mean(1), full, rtol=1e-12, atol=1e-12)
        var = ((per - full.unsqueeze(1)) ** 2).sum(-1).mean(-1) / p.batch_size
        assert (var <= p.constants["sigma"] ** 2).all()
    N = 20000  # the sampler: empirical mean within a CLT band (per-coordinate sd <= sigma)
    xs = x[:1].expand(N, -1)
    g = p.stochastic_grad(xs, torch.Generator().manual_seed(13))
    err = (g.mean(0) - full[0]).abs()
    assert (err <= z_threshold(p.dim) * p.constants["sigma"] / math.sqrt(N)).all()
    emp_var = float(((g - full[0]) ** 2).sum(-1).mean())
    assert emp_var <= p.constants["sigma"] ** 2 * (1 + z_threshold(1) * math.sqrt(2.0 / N) * 5)


@pytest.mark.parametrize("name", NAMES)
def test_f_star_below_sampled_losses(name):
    p = problem(name)
    for scale in (0.01, 1.0, 5.0):
        x = points(p, S=32, seed=int(scale * 100), scale=scale)
        assert (p.loss(x) >= p.f_star - 1e-10).all()
    if p.x_star is not None:
        gap = getattr(p, "f_star_gap", 0.0)
        assert abs(float(p.loss(p.x_star)) - p.f_star) <= max(gap, 1e-12)
        assert gap <= 1e-4


@pytest.mark.parametrize("name", [n for n in NAMES if problem(n).convex])
def test_subgradient_inequality(name):
    p = problem(name)
    x, y = points(p, S=32, seed=3, scale=2.0), points(p, S=32, seed=4, scale=2.0)
    lhs = p.loss(y)
    rhs = p.loss(x) + ((p.full_grad(x)) * (y - x)).sum(-1)
    assert (lhs >= rhs - 1e-10).all()


def test_strong_convexity_constants():
    for name in ("quadratic", "least_squares", "logistic"):
        p = problem(name)
        x, y = points(p, S=32, seed=8, scale=2.0), points(p, S=32, seed=9, scale=2.0)
        mono = ((p.full_grad(x) - p.full_grad(y)) * (x - y)).sum(-1)
        assert (mono >= p.constants["mu"] * ((x - y) ** 2).sum(-1) * (1 - 1e-10)).all(), name


def test_box_constants_G_and_M():
    p = problem("logistic_box")
    x = points(p, S=256, seed=2, scale=10.0)
    assert (x.abs() <= p.constants["D"]).all()
    g = p.stochastic_grad(x, torch.Generator().manual_seed(0))
    assert (g.abs().amax(-1) <= p.constants["G"]).all()
    assert (torch.linalg.vector_norm(g, dim=-1) <= p.constants["M"]).all()


def test_lasso_stationarity_zero_at_solution():
    p = problem("l1_least_squares")
    assert float(p.stationarity(p.x_star)) <= 1e-6
    assert float(p.stationarity(p.x_star + 0.1)) > 1e-3


def test_dim_and_options_validated():
    with pytest.raises(ValueError, match="dim"):
        get_problem("quadratic", dim=0)
    with pytest.raises(ValueError, match="cond"):
        get_problem("quadratic", cond=0.5)
    with pytest.raises(ValueError, match="dim"):
        get_problem("relu_net", dim=3)
    with pytest.raises(ValueError, match="batch_size"):
        get_problem("logistic", batch_size=0)


def test_deterministic_construction():
    a, b = get_problem("logistic", dim=5, seed=4), get_problem("logistic", dim=5, seed=4)
    assert torch.equal(a.A, b.A) and a.f_star == b.f_star
    assert not torch.equal(a.A, get_problem("logistic", dim=5, seed=5).A)


def test_mlp_float32_and_batched():
    p = problem("mlp")
    assert p.dtype == torch.float32
    x = p.x0(5, torch.Generator().manual_seed(0))
    g = p.stochastic_grad(x, torch.Generator().manual_seed(1))
    assert g.dtype == torch.float32 and torch.isfinite(g).all()
    assert (p.loss(x) >= 0).all()


def test_load_dataset_and_mlp_on_file(tmp_path):
    path = tmp_path / "tiny.npz"
    rng = np.random.default_rng(0)
    np.savez(path, X=rng.normal(size=(20, 3)), y=np.repeat([5, 7], 10))
    X, y = load_dataset(path)
    assert X.shape == (20, 3) and y.shape == (20,)
    p = get_problem("mlp", data=str(path), hidden=4, batch_size=4)
    assert p.dim == 3 * 4 + 4 + 4 * 4 + 4 + 4 * 2 + 2
    x = p.x0(2, torch.Generator().manual_seed(0))
    assert p.stochastic_grad(x, torch.Generator().manual_seed(0)).shape == (2, p.dim)


@pytest.mark.parametrize("content", ["corrupt", "missing", "pickled", "shape", "absent"])
def test_load_dataset_bad_file_names_path(tmp_path, content):
    path = tmp_path / f"{content}.npz"
    if content == "corrupt":
        path.write_bytes(b"this is not a zip archive")
    elif content == "missing":
        np.savez(path, X=np.zeros((3, 2)))
    elif content == "pickled":
        np.savez(path, X=np.array([{"a": 1}], dtype=object), y=np.zeros(1))
    elif content == "shape":
        np.savez(path, X=np.zeros((3, 2)), y=np.zeros(4))
    with pytest.raises(ValueError, match=str(path).replace("\\", "\\\\")):
        load_dataset(path)


def test_quadratic_explicit_spectrum():
    p = get_problem("quadratic", spectrum=[0.5, 4.0, 0.0], seed=2)
    assert p.dim == 3 and p.constants["L"] == 4.0 and p.constants["mu"] == 0.0
    torch.testing.assert_close(torch.linalg.eigvalsh(p.A), torch.tensor([0.0, 0.5, 4.0], dtype=F64))
    with pytest.raises(ValueError, match="dim must equal"):
        get_problem("quadratic", spectrum=[1.0, 2.0], dim=3)
    with pytest.raises(ValueError, match="spectrum"):
        get_problem("quadratic", spectrum=[-1.0, 2.0])


def test_hinge_duality_gap_small():
    p = problem("hinge")
    assert 0 <= p.f_star_gap <= 1e-6


@given(seed=st.integers(0, 10**4), box=st.sampled_from([0.2, 0.5, 2.0]), cond=st.sampled_from([1.0, 100.0]))
@settings(max_examples=10, deadline=None)
def test_quadratic_box_m_and_minimum_over_the_box(seed, box, cond):
    p = get_problem("quadratic_box", seed=seed, box=box, cond=cond, dim=6, sigma=0.3)
    free = get_problem("quadratic", seed=seed, cond=cond, dim=6, sigma=0.3)
    assert p.name == "quadratic_box" and p.projects and p.constants["D"] == box
    x = p.project(10 * torch.randn(128, 6, generator=torch.Generator().manual_seed(seed), dtype=F64))
    torch.testing.assert_close(p.loss(x), free.loss(x))  # the same f, on the box
    second_moment = (p.full_grad(x) ** 2).sum(-1) + p.sigma ** 2  # E||g||^2, exact
    assert bool((second_moment <= p.constants["M"] ** 2 * (1 + 1e-12)).all())
    corner = torch.sign(p.centre) * -box  # the farthest corner attains the R of the certificate
    assert math.isclose(float((corner - p.centre).norm()) * p.constants["L"],
                        math.sqrt(p.constants["M"] ** 2 - p.sigma ** 2), rel_tol=1e-9)
    assert bool((p.loss(x) >= p.f_star - 1e-12).all()) and p.f_star_gap <= 1e-10
    xs = p.x_star
    torch.testing.assert_close(p.project(xs - p.full_grad(xs) / p.constants["L"]), xs, rtol=0, atol=1e-6)
