"""Measuring a run's constants for ``asyncbound audit`` (the numbers; :mod:`.audit` judges them).

Iterates. A trace stores one row per applied update but not the iterates x_k. The audit
rebuilds them by *replaying prefixes* of the recorded interleaving on the reference backend
(``implementations.backends.replay(trace, steps=k)``): x_0 from the recorded seed, x_k after
the first k recorded updates. Chosen over recording checkpoints during the run because it
needs nothing from the backends (every existing trace, including a user's, can be audited),
it is deterministic, and the replay is exact for locked runs and within the lock-free
tolerance (implementations/backends/_tolerance.py) otherwise; the price is O(K) reference
updates per sampled point, small next to the run itself. The replay of the full trace also
records ``view_gap`` (the elastic-consistency B needs it; real backends record it only on
request).

Estimators, at each sampled iterate x (seed row 0):
- L: ``||H(x)||_2`` by power iteration on finite-difference Hessian-vector products
  (:mod:`implementations.problems.curvature`); L_hat = max over the points (a lower estimate
  of the global L, the local curvature the run met);
- sigma^2: the variance of the stochastic gradient the run used. Exact where the problem
  exposes per-sample gradients: (1/B)(1/n) sum_i ||g_i(x) - grad f(x)||^2 (minibatch of B drawn
  with replacement); otherwise the Monte-Carlo mean of ||g_r - grad f(x)||^2 over
  ``N_DRAWS`` oracle draws (unbiased: grad f(x) is exact). sigma_hat^2 = max over points;
- M^2 = max over points of the mean ||g_r||^2 over the draws, and over the trace's recorded
  ``sgrad_norm_sq`` (every update) when present; G = max |g_r|_inf over all draws;
- tau: max, mean, p99 and the histogram of the trace's staleness column (the one definition);
- p_min: smallest fraction of writes to one block (``checks.measure.block_frequencies``);
- B: sqrt(max_t mean over seeds ||x_t - v_t||^2) / eta (as ``checks.binding``), from the
  trace's view gaps or the full replay's.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch
from asyncbound.checks import measure

log = logging.getLogger(__name__)

#: stochastic-gradient draws per sampled point (Monte-Carlo sigma^2, M^2, G): the relative
#: standard error of a mean of 64 squared norms is ~ 1/8 for roughly chi-square spreads
N_DRAWS = 64
#: power iteration for L: relative tolerance and iteration cap per point (1e-3 is far below
#: the spread of ||H|| along a trajectory)
POWER_RTOL, POWER_ITERS = 1e-3, 40
HIST_MAX = 64  # staleness histogram: values 0..HIST_MAX-1 and one ">= HIST_MAX" bin


def sample_updates(n_updates: int, n_points: int) -> list[int]:
    """``n_points`` update counts evenly spread over [0, K], both ends included, distinct."""
    if n_points < 2:
        raise ValueError(f"points must be >= 2 (x_0 and x_K at least), got {n_points}")
    return sorted({int(round(j * n_updates / (n_points - 1))) for j in range(n_points)})


def iterates(trace, problem, updates: list[int], *, eval_every: int) -> tuple[dict, object]:
    """``{k: x_k (S, d)}`` for the sampled ``updates`` and the full replay's Trace."""
    from asyncbound.implementations.backends import initial_point, replay

    meta = trace.meta
    K = max(updates)
    full = replay(trace, problem=problem, steps=K, eval_every=eval_every)
    out = {}
    for k in updates:
        if k == 0:
            out[0] = initial_point(problem, int(meta.get("n_seeds") or 1), int(meta.get("base_seed") or 0)).numpy()
        elif k == K:
            out[k] = np.asarray(full.final_params)
        else:
            out[k] = np.asarray(replay(trace, problem=problem, steps=k, eval_every=k).final_params)
    return out, full


def _oracle_stats(problem, x: torch.Tensor, gen: torch.Generator) -> dict:
    """sigma^2, E||g||^2, max |g|_inf at one point (see the module docstring)."""
    xd = x.to(problem.dtype)
    gf = problem.full_grad(xd).to(torch.float64)
    draws = torch.stack([problem.stochastic_grad(xd, gen).to(torch.float64) for _ in range(N_DRAWS)])
    m2 = float((draws ** 2).sum(-1).mean())
    G = float(draws.abs().max())
    if hasattr(problem, "per_sample_grads"):
        ps = problem.per_sample_grads(xd.unsqueeze(0).to(torch.float64))[0]
        s2 = float(((ps - gf) ** 2).sum(-1).mean()) / int(getattr(problem, "batch_size", 1))
        how = "exact: (1/B)(1/n) sum_i ||g_i - grad f||^2"
    else:
        s2 = float(((draws - gf) ** 2).sum(-1).mean())
        how = f"Monte-Carlo over {N_DRAWS} oracle draws: mean ||g_r - grad f||^2"
    return {"sigma2": s2, "sigma2_how": how, "M2": m2, "G": G, "grad_sq": float((gf ** 2).sum())}


def point_measurements(problem, xs: dict, seed: int = 0) -> list[dict]:
    """Per sampled iterate (seed row 0): f, ||grad f||^2, ||H||_2, sigma^2, E||g||^2, G."""
    from asyncbound.implementations.problems.curvature import hessian_norm

    out = []
    for k, X in sorted(xs.items()):
        x = torch.as_tensor(np.atleast_2d(X)[0], dtype=torch.float64)
        gen = torch.Generator().manual_seed(seed * 7919 + k)
        st = _oracle_stats(problem, x, gen)
        L = hessian_norm(problem, x, iters=POWER_ITERS, rtol=POWER_RTOL, generator=gen)
        out.append({"update": k, "loss": float(problem.loss(x.to(problem.dtype))), "hessian_norm": L,
                    "x_inf": float(x.abs().max()), **st})
    return out


def staleness_stats(df) -> dict:
    st = measure.staleness_summary(df)
    s = np.asarray(df["staleness"], dtype=np.int64)
    counts = np.bincount(np.minimum(s, HIST_MAX), minlength=1) if len(s) else np.zeros(1, int)
    hist = {str(i): int(c) for i, c in enumerate(counts[:HIST_MAX]) if c}
    if len(counts) > HIST_MAX and counts[HIST_MAX]:
        hist[f">={HIST_MAX}"] = int(counts[HIST_MAX])
    return {"max": int(st["tau_max"]), "avg": float(st["tau_avg"]), "p99": float(st.get("tau_p99", 0.0)),
            "histogram": hist, "per_worker": st.get("per_worker", {})}


def elastic_B(df, eta: float) -> float:
    mat = measure.elastic_B_samples(df, eta)
    if not mat.size or not np.isfinite(mat).any():
        return math.nan
    return float(np.sqrt(np.nanmax(np.nanmean(mat ** 2, axis=0))))


def loss_curve(trace) -> tuple[np.ndarray, np.ndarray]:
    """(updates, mean loss over seeds) at the evaluated updates of ``trace``."""
    df = measure.as_frame(trace)
    ev = df[np.isfinite(df["loss"])]
    g = ev.groupby("update")["loss"].mean()
    return g.index.to_numpy(), g.to_numpy()


def updates_to_target(trace, target: float) -> int | None:
    """First evaluated update (1-based count of applied updates) whose mean loss <= target."""
    u, f = loss_curve(trace)
    hit = np.nonzero(f <= target)[0]
    return int(u[hit[0]]) + 1 if len(hit) else None
