"""Certified problems (CONTRACTS §3) and their registry.

``get_problem(name, *, dim=None, seed=0, **options)`` builds one; ``PROBLEMS`` lists the names.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from .adam_counterexample import AdamCounterexample
from .base import CANONICAL_CONSTANTS, Problem
from .data import load_dataset
from .huber import Huber
from .mlp import MLP
from .nonsmooth import Hinge, L1LeastSquares, ReluNet
from .quadratic import Quadratic
from .real_data import REAL_DATA_PROBLEMS
from .regression import LeastSquares, Logistic
from .robust import ROBUST_LOSSES, RobustRegression
from .tanh_net import TanhNet


def _logistic_box(*, box: float = 1.0, lam: float = 0.0, **options) -> Logistic:
    return Logistic(box=box, lam=lam, **options)


def _quadratic_box(*, box: float = 1.0, **options) -> Quadratic:
    return Quadratic(box=box, **options)


def _huber_ridge(*, lam: float = 0.03, **options) -> Huber:
    if not lam > 0:
        raise ValueError(f"lam must be > 0 for huber_ridge (lam = 0 is huber), got {lam!r}")
    return Huber(lam=lam, **options)


def _huber_box(*, box: float = 1.0, lam: float = 0.03, **options) -> Huber:
    return Huber(box=box, lam=lam, **options)


def _robust(loss: str) -> Callable[..., Problem]:
    def make(**options) -> RobustRegression:
        return RobustRegression(loss=loss, **options)
    return make


_FACTORIES: dict[str, Callable[..., Problem]] = {
    "quadratic": Quadratic,
    "quadratic_box": _quadratic_box,
    "least_squares": LeastSquares,
    "logistic": Logistic,
    "logistic_box": _logistic_box,
    "huber": Huber,
    "huber_ridge": _huber_ridge,
    "huber_box": _huber_box,
    **{name: _robust(name) for name in ROBUST_LOSSES},  # cauchy, welsch: smooth, non-convex
    "l1_least_squares": L1LeastSquares,
    "hinge": Hinge,
    "relu_net": ReluNet,
    "mlp": MLP,
    "tanh_net": TanhNet,  # one tanh hidden layer, fixed output layer: non-convex, certified L
    "adam_counterexample": AdamCounterexample,  # Reddi et al. 2018: Adam fails, AMSGrad converges
    **REAL_DATA_PROBLEMS,  # real data (scikit-learn, the `data` extra): breast cancer, digits
}


PROBLEMS: tuple[str, ...] = tuple(_FACTORIES)


def get_problem(name: str, *, dim: int | None = None, seed: int = 0, **options) -> Problem:
    """Build the problem ``name`` (``dim=None``: the problem's default dimension)."""
    if name not in _FACTORIES:
        close = difflib.get_close_matches(str(name), list(_FACTORIES), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"unknown problem {name!r}{hint}; valid names: {', '.join(PROBLEMS)}")
    if dim is not None:
        options["dim"] = dim
    return _FACTORIES[name](seed=seed, **options)


__all__ = ["CANONICAL_CONSTANTS", "MLP", "Huber", "PROBLEMS", "Hinge", "L1LeastSquares", "LeastSquares",
           "Logistic", "Problem", "Quadratic", "ReluNet", "RobustRegression", "TanhNet", "get_problem",
           "load_dataset"]
