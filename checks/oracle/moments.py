r"""Exact E f(x_k) - f*, E||x_k - x*||^2 and E||grad f(x_k)||^2 of a linear async algorithm on
the Gaussian quadratic, for every k: a linear recursion on second moments. DERIVED here.

Setting (see :mod:`.model`, :mod:`.laws`). Eigen-coordinates y = Q(x - x*), Lambda = diag(lambda),
noise xi_k ~ N(0, Sigma) with Sigma = diag(noise_var) (divided by P for ``sync``, the mean of P
independent draws), independent over updates and of everything else. Update k is written by
worker w_k, whose gradient is taken at the view y_{k - tau_k}:

    g_k   = Lambda y_{k - tau_k} + xi_k
    m'    = m + P_k ((a_t - 1) m + c_t g_k)                    (m: the rule state of w_k, or the
    y_{k+1} = y_k + alpha_m P_k m + alpha_g P_k g_k             shared one; t its clock)

with P_k the projector on the block the update writes (identity for full-model writes; in
eigen-coordinates P = Q diag(1_block) Q^T), and (a_t, c_t, alpha_m, alpha_g) the rule's
coefficients (heavy ball torch-style: b_1 = g, so a_1 = 0, c_1 = 1, later a = mu, c = 1 -
dampening, d = m'; Nesterov d = g + mu m'; EMA a = beta, c = 1 - beta; plain SGD: no m,
alpha_g = -lr). Because P is idempotent, P m' = a P m + c P g, which gives the two coefficients
of the iterate. Every map is linear, so the *augmented state*

    u_k = (y_k, y_{k-1}, ..., y_{k-T}, m_1, ..., m_B)      (T = the largest delay; B buffers)

moves by u_{k+1} = M_k(tau_k) u_k + N_k xi_k. The past iterates live in a ring (version v in slot
v mod (T+1)), so M_k only overwrites the slot of version k - T with y_{k+1} and the buffer slot
of w_k; every other slot is copied. Let S_k = E[u_k u_k^T]. Since xi_k is independent of
(u_k, tau_k) with mean zero, and tau_k is independent of u_k (the delay law draws tau_k i.i.d.,
independently of the noise; :mod:`.laws`),

    S_{k+1} = sum_j P(tau_k = j) M_k(j) S_k M_k(j)^T + N_k Sigma N_k^T.

M_k(j) differs across j only in which ring slot r_j = (k - j) mod (T+1) feeds the gradient, so
the average needs the j-averaged row  R = sum_j p_j S[r_j, :]  and corner
S_rr = sum_j p_j S[r_j, r_j], never the (T+1)-fold product: with new slot n = sum_s C_{n,s} u_s
(s in {x = y_k, m, r}),  S'[n, q] = sum_s C_{n,s} S[s, q]  for every copied slot q, and
S'[n, n'] = sum_{s, s'} C_{n,s} S[s, s'] C_{n',s'}^T + D_n Sigma D_{n'}^T,  where any S[., r] is
replaced by its j-average. A recorded (or deterministic) schedule is the case p = point mass:
the expectation is then conditional on that interleaving. E y_0 y_0^T comes from the start-point
law (problem.x0: centre + x0_scale N(0, I)/sqrt(d)); E y_0 = 0 is not needed (raw moments).
Then E f(x_k) - f* = 1/2 tr(Lambda S_x), E||x_k - x*||^2 = tr S_x, E||grad f||^2 = tr(Lambda^2 S_x),
S_x = S_k[slot of y_k, slot of y_k].

Conditioning on the start point. S_k is linear in (S_0, Sigma). In the decoupled form each
eigen-coordinate evolves alone, so E[y_{k,i}^2 | y_0] = h_{k,i} y_{0,i}^2 + n_{k,i}, with h the
response to S_0 = I without noise and n the response to the noise from S_0 = 0: two runs of the
recursion give E[f(x_k) | x_0] for every seed (:func:`start_conditional`). The check uses it
to remove the start point's share of the seed-to-seed variance (the largest share in the
transient), which is exact, not an approximation.

Cost. Every coefficient is a polynomial in Lambda and the block projectors. When no update
writes a proper block (full, master-worker, sync) and the start moment is diagonal, every
coefficient is diagonal: the d eigen-coordinates decouple and each is an (n x n) system,
n = T + 1 + B (``G = d`` groups of size ``e = 1``). Block writes (PASSM, PASSM+) couple the
coordinates through P: one dense system with blocks of size d (``G = 1, e = d``). Per update
the cost is O((T + n) n G e^3) flops, independent of the number of seeds that the Monte-Carlo
run it checks has to simulate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import LinearAlgorithm, QuadraticModel


@dataclass
class ExactCurves:
    """Exact moments at k = 0..K (index k: after k updates)."""

    loss_gap: np.ndarray   # E f(x_k) - f*
    dist_sq: np.ndarray    # E ||x_k - x*||^2
    grad_sq: np.ndarray    # E ||grad f(x_k)||^2
    mode: str              # "decoupled" (per eigen-coordinate) or "dense"
    #: (K + 1, d): E[y_k,i^2] per eigen-coordinate (``per_coordinate=True`` only)
    coord: np.ndarray | None = None

    def metric(self, name: str) -> np.ndarray:
        return {"loss": self.loss_gap, "grad_norm_sq": self.grad_sq, "dist_sq": self.dist_sq}[name]


class _Algebra:
    """Coefficients as (G, e, e) arrays: decoupled (G = d, e = 1) or dense (G = 1, e = d)."""

    def __init__(self, prob: QuadraticModel, dense: bool):
        d = prob.dim
        self.dense, self.d, self.Q = dense, d, prob.Q
        lam = prob.spectrum
        if dense:
            self.I = np.eye(d)[None]
            self.Lam = np.diag(lam)[None]
        else:
            self.I = np.ones((d, 1, 1))
            self.Lam = lam.reshape(d, 1, 1)
        self.lam = lam
        self._proj: dict = {}

    def diag(self, v: np.ndarray) -> np.ndarray:
        return np.diag(v)[None] if self.dense else v.reshape(self.d, 1, 1)

    def full(self, M: np.ndarray) -> np.ndarray:
        return M[None] if self.dense else np.diagonal(M).reshape(self.d, 1, 1).copy()

    def projector(self, block) -> np.ndarray:
        if block is None:
            return self.I
        if block not in self._proj:
            a, b = block
            Qb = self.Q[:, a:b]
            self._proj[block] = (Qb @ Qb.T)[None]
        return self._proj[block]

    def diag_of(self, Sx: np.ndarray) -> np.ndarray:
        return np.diagonal(Sx[0]) if self.dense else Sx[:, 0, 0]

    def curves_of(self, diag: np.ndarray) -> tuple[float, float, float]:
        return (0.5 * float(self.lam @ diag), float(diag.sum()), float((self.lam ** 2) @ diag))


def _T(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _advance(S, src: dict, targets: list, reads: list, Sig) -> np.ndarray:
    """One update of the second-moment matrix (module docstring). ``src``: name -> slot for
    'x' (and 'm'); ``targets``: (slot, {source: coefficient}, noise coefficient); ``reads``:
    (slot, probability) of the view that feeds the gradient ('r')."""
    Rr = sum(p * S[r] for r, p in reads)              # (n, G, e, e): E_j S[r_j, q]
    Srr = sum(p * S[r, r] for r, p in reads)          # E_j S[r_j, r_j]
    rows = {name: S[slot] for name, slot in src.items()}
    rows["r"] = Rr
    new_rows = [sum(C @ rows[s] for s, C in coefs.items()) for _, coefs, _ in targets]

    def cross(i: int, s: str):  # E[new_i u_s^T]
        if s != "r":
            return new_rows[i][src[s]]
        return sum(C @ (Srr if s2 == "r" else _T(Rr[src[s2]])) for s2, C in targets[i][1].items())

    out = S.copy()
    for (dest, _, _), row in zip(targets, new_rows, strict=True):
        out[dest, :] = row
        out[:, dest] = _T(row)
    for i, (di, _, ni) in enumerate(targets):
        for dj, cj, nj in targets:
            blk = sum(cross(i, s) @ _T(C) for s, C in cj.items())
            out[di, dj] = blk + ni @ Sig @ _T(nj)
    return out


def exact_curves(alg: LinearAlgorithm, prob: QuadraticModel, steps: int, *, law=None,
                 worker=None, read=None, dense: bool | None = None, start_moment=None,
                 with_noise: bool = True, per_coordinate: bool = False) -> ExactCurves:
    """Exact curves for ``steps`` updates: under an i.i.d. delay ``law`` (``(pmf, T)`` from
    :func:`.laws.iid_law`, workers round-robin), or conditional on one schedule (``worker``,
    ``read``: int arrays of length ``steps``). ``dense``: force the dense form (None: the
    decoupled one whenever the structure allows). ``start_moment`` (d, d) replaces E[y0 y0^T]
    and ``with_noise=False`` drops the gradient noise: the moments are linear in both, which
    is how :mod:`.check` conditions on each seed's start point. ``per_coordinate``: also keep
    E[y_k,i^2] for every k and i."""
    if (law is None) == (worker is None):
        raise ValueError("give either law= or worker= and read=")
    K, W = int(steps), alg.n_workers
    if law is not None:
        pmf, T = law
    else:
        worker, read = np.asarray(worker, dtype=np.int64), np.asarray(read, dtype=np.int64)
        T = int((np.arange(K) - read[:K]).max()) if K else 0
    if alg.averaged:
        T = 0
    blocks_used = alg.pattern in ("partition", "partition_plus")
    start = prob.start_moment if start_moment is None else np.asarray(start_moment, dtype=float)
    start_diag = np.allclose(start, np.diag(np.diagonal(start)))
    must = blocks_used or not start_diag
    alg_ = _Algebra(prob, dense=must if dense is None else (dense or must))
    Bq = T + 1
    n = Bq + alg.n_buffers
    G, e = (1, prob.dim) if alg_.dense else (prob.dim, 1)
    S = np.zeros((n, n, G, e, e))
    S[0, 0] = alg_.full(start)
    Sig = alg_.diag(prob.noise_var / (W if alg.averaged else 1) * float(with_noise))
    out = np.empty((3, K + 1))
    coord = np.full((K + 1, prob.dim), np.inf) if per_coordinate else None
    diag = alg_.diag_of(S[0, 0])
    out[:, 0] = alg_.curves_of(diag)
    if coord is not None:
        coord[0] = diag
    counts = np.zeros(W, dtype=np.int64)
    cache: dict = {}
    for k in range(K):
        w = int(worker[k]) if worker is not None else k % W
        counts[w] += 1
        t = int(counts[w]) if alg.clock == "local" else k + 1
        block = alg.block(w, int(counts[w]))
        key = (t == 1, block)
        if key not in cache:
            a, c, am, ag = alg.step_coefficients(t)
            P = alg_.projector(block)
            PL = P @ alg_.Lam
            x_coef = {"x": alg_.I, "r": ag * PL}
            m_coef = None
            if alg.has_buffer:
                x_coef["m"] = am * P
                m_coef = ({"m": alg_.I + (a - 1.0) * P, "r": c * PL}, c * P)
            cache[key] = (x_coef, ag * P, m_coef)
        x_coef, x_noise, m_coef = cache[key]
        xs, cs = k % Bq, (k + 1) % Bq
        if alg.averaged:
            reads = [(xs, 1.0)]
        elif law is not None:
            reads = [((k - j) % Bq, p) for j, p in enumerate(pmf(k)) if p > 0]
        else:
            reads = [(int(read[k]) % Bq, 1.0)]
        src = {"x": xs}
        targets = [(cs, x_coef, x_noise)]
        if m_coef is not None:
            ms = Bq + (w if alg.holder == "per_worker" else 0)
            src["m"] = ms
            targets.append((ms, m_coef[0], m_coef[1]))
        with np.errstate(over="ignore", invalid="ignore"):
            S = _advance(S, src, targets, reads, Sig)
            diag = alg_.diag_of(S[cs, cs])
            out[:, k + 1] = alg_.curves_of(diag)
        if coord is not None:
            coord[k + 1] = diag
        if not np.isfinite(out[:, k + 1]).all():  # diverged: the moments are infinite from here
            out[:, k + 1:] = np.inf
            break
    return ExactCurves(out[0], out[1], out[2], "dense" if alg_.dense else "decoupled", coord)


def decouples(alg: LinearAlgorithm, prob: QuadraticModel) -> bool:
    """Whether the eigen-coordinates evolve independently (no block writes, diagonal start)."""
    start = prob.start_moment
    return (alg.pattern not in ("partition", "partition_plus")
            and np.allclose(start, np.diag(np.diagonal(start))))


def start_conditional(alg: LinearAlgorithm, prob: QuadraticModel, steps: int, y0: np.ndarray,
                      **schedule) -> tuple[dict[str, np.ndarray], ExactCurves] | None:
    """``({metric: (S, K + 1)}, unconditional curves)``: E[metric at k | y_0 = y0[s]] for each
    row of ``y0`` (S, d), under the same ``law=``/``worker=, read=`` as :func:`exact_curves`,
    and the unconditional curves; None when the coordinates do not decouple (block writes
    couple them: the start would enter through all of y0 y0^T).

    One recursion on 2d independent coordinates: the first d answer S_0 = I without noise
    (h_{k,i}), the last d the noise from S_0 = 0 (n_{k,i})."""
    if not decouples(alg, prob):
        return None
    d, lam = prob.dim, prob.spectrum
    twin = QuadraticModel(np.concatenate([lam, lam]), np.eye(2 * d),
                          np.concatenate([np.zeros(d), prob.noise_var]),
                          np.diag(np.concatenate([np.ones(d), np.zeros(d)])), prob.f_star)
    both = exact_curves(alg, twin, steps, per_coordinate=True, **schedule)
    h, n = both.coord[:, :d], both.coord[:, d:]
    weights = {"loss": 0.5 * lam, "grad_norm_sq": lam ** 2, "dist_sq": np.ones(d)}
    y2 = np.asarray(y0, dtype=float) ** 2
    with np.errstate(over="ignore", invalid="ignore"):
        per_seed = {m: (y2 * w) @ h.T + (n @ w)[None, :] for m, w in weights.items()}
        moment = h * np.diagonal(prob.start_moment)[None, :] + n        # E[y_{k,i}^2]
        uncond = ExactCurves(moment @ weights["loss"], moment.sum(1), moment @ weights["grad_norm_sq"],
                             "decoupled", moment)
    return per_seed, uncond


__all__ = ["ExactCurves", "decouples", "exact_curves", "start_conditional"]
