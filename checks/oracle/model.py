"""What the oracle needs to know about a run, read from the registry entry and the problem.

An algorithm is *linear* when its update is a linear map of (iterate, stale view, optimizer
state, gradient). Which ones are is declared in two tables, not in branches on algorithm names:

- :data:`LINEAR_RULES`: the rule name (``FunctionalRule.name`` of ``rules.sgd``) -> the
  momentum form (torch heavy ball, Nesterov, EMA, none). Weight decay is excluded (the rule keeps
  its own copy of x, which async writes by other workers do not reach: not the iterate's map);
- :data:`LINEAR_PATTERNS`: the access pattern -> who holds the rule state (one buffer per
  worker, or one shared buffer held by the master) and which clock it runs on.

The oracle reads the rule's *declared* name and hyperparameters (``rule.name``, ``rule.hparams``)
and computes the trajectory of the algorithm those declare; it never runs the rule's code. So a
variant that claims heavy-ball SGD with lr 0.1 but computes something else is compared with the
exact heavy-ball trajectory.

The problem must be :class:`~asyncbound.implementations.problems.quadratic.Quadratic` without a
box (no projection): ``f(x) = 1/2 (x - x*)^T A (x - x*) + f*`` with ``A = Q^T diag(lambda) Q``
and Gaussian gradient noise of covariance ``(sigma^2/d) Q^T diag(w) Q`` (w = 1: isotropic).
In eigen-coordinates ``y = Q (x - x*)`` the gradient is ``diag(lambda) y + Q xi``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: rule name -> momentum form (see rules/sgd.py for each form's equations)
LINEAR_RULES = {"sgd": "plain", "sgd_momentum": "heavy", "sgd_nesterov": "nesterov",
                "sgd_ema": "ema"}

#: pattern -> (who holds the rule state, the rule's clock, averaged gradients per update)
LINEAR_PATTERNS = {
    "full": ("per_worker", "local", False),
    "partition": ("per_worker", "local", False),
    "partition_plus": ("per_worker", "local", False),
    "master_worker": ("shared", "global", False),
    "sync": ("shared", "global", True),
}


class NotLinear(ValueError):
    """The algorithm or the problem is outside what the exact oracle covers (the reason says why)."""


@dataclass(frozen=True)
class LinearAlgorithm:
    """The claimed linear algorithm: momentum form, its coefficients, and the access pattern."""

    pattern: str
    form: str            # plain | heavy | nesterov | ema
    lr: float
    momentum: float
    dampening: float
    n_workers: int
    holder: str          # per_worker | shared
    clock: str           # local | global
    averaged: bool       # sync: the mean of all workers' gradients at the same x
    pattern_obj: object  # block_for(worker, t_local) and the partition's blocks

    @property
    def has_buffer(self) -> bool:
        return self.form != "plain"

    @property
    def n_buffers(self) -> int:
        if not self.has_buffer:
            return 0
        return self.n_workers if self.holder == "per_worker" else 1

    def buffer_coefficients(self, t: int) -> tuple[float, float]:
        """``(a, c)`` of ``m' = a m + c g`` at rule clock t (torch: b_1 = g; EMA: 1 - beta)."""
        if self.form == "ema":
            return self.momentum, 1.0 - self.momentum
        if t == 1:
            return 0.0, 1.0
        return self.momentum, 1.0 - self.dampening

    def step_coefficients(self, t: int) -> tuple[float, float, float, float]:
        """``(a, c, alpha_m, alpha_g)``: ``m' = a m + c g`` and ``x' = x + alpha_m m + alpha_g g``
        (all restricted to the written block)."""
        if not self.has_buffer:
            return 0.0, 0.0, 0.0, -self.lr
        a, c = self.buffer_coefficients(t)
        if self.form == "nesterov":  # d = g + mu m'
            return a, c, -self.lr * self.momentum * a, -self.lr * (1.0 + self.momentum * c)
        return a, c, -self.lr * a, -self.lr * c  # d = m'

    def block(self, worker: int, t_local: int) -> tuple[int, int] | None:
        """Coordinate range the update writes, or None for the whole model."""
        if self.pattern not in ("partition", "partition_plus"):
            return None
        b = self.pattern_obj.block_for(worker, t_local)
        return None if b < 0 else tuple(self.pattern_obj.blocks[b])


@dataclass(frozen=True)
class QuadraticModel:
    """The problem in eigen-coordinates: spectrum, basis, noise and start-point second moments."""

    spectrum: np.ndarray   # (d,) lambda_i
    Q: np.ndarray          # (d, d), rows = eigenvectors
    noise_var: np.ndarray  # (d,) variance of the noise along eigenvector i
    start_moment: np.ndarray  # (d, d) E[y0 y0^T]
    f_star: float

    @property
    def dim(self) -> int:
        return self.spectrum.size


def linear_algorithm(spec, config: dict, dim: int, workers: int) -> LinearAlgorithm:
    """The linear description of registry entry ``spec`` run with ``config`` (NotLinear if none)."""
    from asyncbound.implementations.patterns import make_pattern
    from asyncbound.implementations.registry import build_rule, split_config

    if spec.pattern not in LINEAR_PATTERNS:
        raise NotLinear(f"pattern {spec.pattern!r} is not linear (oracle patterns: "
                        f"{', '.join(LINEAR_PATTERNS)})")
    rule_kw, pat_kw = split_config(spec, config)
    rule = build_rule(spec, **rule_kw)
    form = LINEAR_RULES.get(getattr(rule, "name", None))
    hp = dict(getattr(rule, "hparams", {}) or {})
    if form is None:
        raise NotLinear(f"rule {getattr(rule, 'name', rule)!r} is not linear (oracle rules: "
                        f"{', '.join(LINEAR_RULES)})")
    if float(hp.get("weight_decay", 0.0) or 0.0) != 0.0:
        raise NotLinear("weight decay keeps a private copy of x in the rule state: not a linear "
                        "map of the shared iterate under asynchrony")
    holder, clock, averaged = LINEAR_PATTERNS[spec.pattern]
    pattern = make_pattern(spec.pattern, rule, dim, workers, **pat_kw)
    return LinearAlgorithm(spec.pattern, form, float(hp["lr"]), float(hp.get("momentum", 0.0)),
                           float(hp.get("dampening", 0.0)), workers, holder, clock, averaged,
                           pattern)


def quadratic_model(problem) -> QuadraticModel:
    """Eigen-coordinate description of a :class:`Quadratic` (NotLinear for other problems)."""
    from asyncbound.implementations.problems.quadratic import Quadratic

    if not isinstance(problem, Quadratic):
        raise NotLinear(f"the exact oracle needs the quadratic problem, got {problem.name!r}")
    if problem.constants.get("D") is not None:
        raise NotLinear("a projected (boxed) quadratic is not linear")
    Q = problem.Q.double().numpy()
    lam = problem.spectrum.double().numpy()
    d = lam.size
    w = (np.ones(d) if problem.noise_weights is None
         else problem.noise_weights.double().numpy())
    noise_var = problem.sigma ** 2 / d * w
    # x0 = centre + x0_scale N(0, I)/sqrt(d): y0 = Q (centre - x*) + N(0, x0_scale^2/d I)
    centre = problem.x0_center if problem.x0_center is not None else np.zeros(d)
    m0 = Q @ (np.asarray(centre, dtype=float) - problem.x_star.double().numpy())
    start = np.outer(m0, m0) + (problem.x0_scale ** 2 / d) * np.eye(d)
    return QuadraticModel(lam, Q, noise_var, start, float(problem.f_star))


__all__ = ["LINEAR_PATTERNS", "LINEAR_RULES", "LinearAlgorithm", "NotLinear", "QuadraticModel",
           "linear_algorithm", "quadratic_model"]
