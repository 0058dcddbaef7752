r"""Time complexity under fixed worker compute times: the lower bound of Tyurin & Richtarik and
Ringmaster ASGD's matching upper bound (RECONSTRUCTED: the full texts are not available here).

Setting (both papers). n workers; worker i needs a fixed time tau_i to compute one stochastic
gradient (sorted tau_1 <= ... <= tau_n); f is L-smooth, Delta = f(x_0) - f^*, noise variance
sigma^2, target E||grad f|| ^2 <= eps. Up to universal constants:

  t(m)   = ( (1/m) sum_{i<=m} 1/tau_i )^{-1} * ( L Delta / eps + sigma^2 L Delta / (m eps^2) )
  T_opt  = min_{m in 1..n} t(m)

- Tyurin & Richtarik, "Optimal time complexities of parallel stochastic optimization methods
  under a fixed computation model", NeurIPS 2023 (arXiv:2305.12387): no method that samples
  gradients in this model is faster than Omega(T_opt) (Rennala SGD attains it).
- Maranjyan, Tyurin & Richtarik, "Ringmaster ASGD: the first asynchronous SGD with optimal time
  complexity", ICML 2025 (arXiv:2501.16168): asynchronous SGD that discards gradients of delay
  >= R, with R = max(1, ceil(sigma^2 / eps)) and step gamma = min(1/(2 R L), eps/(4 L sigma^2)),
  reaches the target in O(T_opt).
- Minibatch SGD (synchronous rounds of n gradients) pays the slowest worker every round:
  T_mb = tau_n (L Delta / eps + sigma^2 L Delta / (n eps^2)).

The constants are not known here, so :mod:`asyncbound.checks.virtual_time_study` uses these
formulas only for the *predicted ordering* (which of Ringmaster and minibatch SGD is faster, and
the m* that says how many workers an optimal method effectively uses), never for an absolute
time. No :class:`~asyncbound.theory.bounds.Bound` is registered (no metric id measures time to a
target); ``BOUNDS`` is empty.
"""

from __future__ import annotations

import sympy as sp

m, L, Delta, eps, sigma, H = sp.symbols("m L Delta epsilon sigma H", positive=True)

#: t(m) with H the harmonic mean ((1/m) sum_{i<=m} 1/tau_i)^{-1} of the m fastest compute times
TIME_OF_M = H * (L * Delta / eps + sigma**2 * L * Delta / (m * eps**2))

BOUNDS = ()


def _check(taus, L_, Delta_, eps_, sigma_):
    taus = sorted(float(t) for t in taus)
    if not taus or any(not t > 0 for t in taus):
        raise ValueError(f"taus must be positive compute times, got {taus!r}")
    for name, v in (("L", L_), ("Delta", Delta_), ("eps", eps_)):
        if not float(v) > 0:
            raise ValueError(f"{name} must be > 0, got {v!r}")
    if float(sigma_) < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma_!r}")
    return taus


def time_of_m(taus, m_: int, L_, Delta_, eps_, sigma_) -> float:
    """t(m) of the module docstring (up to constants)."""
    taus = _check(taus, L_, Delta_, eps_, sigma_)
    h = m_ / sum(1.0 / t for t in taus[:m_])
    return float(TIME_OF_M.subs({H: h, m: m_, L: L_, Delta: Delta_, eps: eps_, sigma: sigma_}))


def optimal_time(taus, L_, Delta_, eps_, sigma_) -> tuple[float, int]:
    """``(T_opt, m*)``: the lower bound (up to constants) and the number of fastest workers
    at which it is attained (smallest such m)."""
    taus = _check(taus, L_, Delta_, eps_, sigma_)
    times = [time_of_m(taus, k, L_, Delta_, eps_, sigma_) for k in range(1, len(taus) + 1)]
    best = min(range(len(times)), key=lambda i: (times[i], i))
    return times[best], best + 1


def minibatch_time(taus, L_, Delta_, eps_, sigma_) -> float:
    """T_mb: every round waits for the slowest worker (up to constants)."""
    taus = _check(taus, L_, Delta_, eps_, sigma_)
    n = len(taus)
    return taus[-1] * (L_ * Delta_ / eps_ + sigma_**2 * L_ * Delta_ / (n * eps_**2))


def ringmaster_threshold(sigma_, eps_) -> int:
    """Ringmaster's R = max(1, ceil(sigma^2 / eps))."""
    # exact rationals of the decimal inputs: 0.1**2 / 0.01 is 1, not 1.0000000000000002
    return max(1, int(sp.ceiling(sp.Rational(str(sigma_))**2 / sp.Rational(str(eps_)))))
