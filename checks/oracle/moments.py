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
response to S_0 = I without noise and n the response to the noise from S_0 = 0: one recursion on
2d independent coordinates (d of each kind) gives E[f(x_k) | x_0] for every seed and, with
S_0's diagonal, the unconditional moments (:func:`start_conditional`). The check uses it
to remove the start point's share of the seed-to-seed variance (the largest share in the
transient), which is exact, not an approximation.

Cost. Every coefficient is a polynomial in Lambda and the block projectors. When no update
writes a proper block (full, master-worker, sync) and the start moment is diagonal, every
coefficient is diagonal: the d eigen-coordinates decouple and each is an (n x n) system,
n = T + 1 + B (``G = d`` groups of size ``e = 1``). Block writes (PASSM, PASSM+) couple the
coordinates through P: one dense system with blocks of size d (``G = 1, e = d``). Per update
the cost is O((T + n) n G e^3) flops, independent of the number of seeds that the Monte-Carlo
run it checks has to simulate. Recorded schedules that differ across seeds (the replay form)
are solved as one batch of systems (leading axis B, one per distinct schedule): O(B n^2 G e^3)
per update, the one case that costs more than the run it checks.
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

    def mul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a @ b if self.dense else a * b

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



def _T(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _advance(S, src: dict, targets: list, reads: list, Sig, mm) -> np.ndarray:
    """One update of the second moments of a batch of systems (module docstring). ``S``:
    (B, n, n, G, e, e). ``src``: name -> (B,) slots of 'x' (and 'm'); ``targets``: ((B,) slots,
    {source: (B|1, G, e, e) coefficient}, noise coefficient); ``reads``: ((B,) slots, probability)
    of the view that feeds the gradient ('r'). ``mm``: the block product (matmul, or the
    element-wise product when e = 1, where blocks are scalars and transposes are no-ops)."""
    T = _T if mm is np.matmul else (lambda a: a)
    ar = np.arange(S.shape[0])
    Rr = sum(p * S[ar, r] for r, p in reads)              # (B, n, G, e, e): E_j S[r_j, q]
    Srr = sum(p * S[ar, r, r] for r, p in reads)          # E_j S[r_j, r_j]
    rows = {name: S[ar, slot] for name, slot in src.items()}
    rows["r"] = Rr
    new_rows = [sum(mm(C[:, None], rows[s]) for s, C in coefs.items()) for _, coefs, _ in targets]

    def cross(i: int, s: str):  # E[new_i u_s^T]
        if s != "r":
            return new_rows[i][ar, src[s]]
        return sum(mm(C, Srr if s2 == "r" else T(Rr[ar, src[s2]]))
                   for s2, C in targets[i][1].items())

    out = S  # in place: every value read below was gathered (copied) before the writes
    for (dest, _, _), row in zip(targets, new_rows, strict=True):
        out[ar, dest] = row
        out[ar, :, dest] = T(row)
    for i, (di, _, ni) in enumerate(targets):
        for dj, cj, nj in targets:
            blk = sum(mm(cross(i, s), T(C)) for s, C in cj.items())
            out[ar, di, dj] = blk + mm(mm(ni, Sig), T(nj))
    return out


def _local_clocks(worker: np.ndarray, n_workers: int) -> np.ndarray:
    """(B, K): how many updates the writer of update k has made, this one included."""
    t = np.zeros_like(worker)
    for w in range(n_workers):
        m = worker == w
        t[m] = np.cumsum(m, axis=1)[m]
    return t


def exact_curves(alg: LinearAlgorithm, prob: QuadraticModel, steps: int, *, law=None,
                 worker=None, read=None, dense: bool | None = None, start_moment=None,
                 with_noise: bool = True, per_coordinate: bool = False) -> ExactCurves:
    """Exact curves for ``steps`` updates: under an i.i.d. delay ``law`` (``(pmf, T)`` from
    :func:`.laws.iid_law`, workers round-robin), or conditional on a schedule (``worker``,
    ``read``: int arrays (K,), or (B, K) for B schedules solved as one batch: the curves are
    then (B, K + 1)). ``dense``: force the dense form (None: the decoupled one whenever the
    structure allows). ``start_moment`` (d, d) replaces E[y0 y0^T] and ``with_noise=False``
    drops the gradient noise: the moments are linear in both, which is how :mod:`.check`
    conditions on each seed's start point. ``per_coordinate``: also keep E[y_k,i^2]."""
    if (law is None) == (worker is None):
        raise ValueError("give either law= or worker= and read=")
    K, W = int(steps), alg.n_workers
    batched = worker is not None and np.ndim(worker) == 2
    if law is not None:
        pmf, T = law
        worker = np.arange(K)[None] % W
    else:
        worker = np.atleast_2d(np.asarray(worker, dtype=np.int64))[:, :K]
        read = np.atleast_2d(np.asarray(read, dtype=np.int64))[:, :K]
        T = int((np.arange(K)[None] - read).max()) if K else 0
    if alg.averaged:
        T = 0
    Bt = worker.shape[0]
    clocks = _local_clocks(worker, W) if alg.clock == "local" else np.broadcast_to(
        np.arange(1, K + 1), worker.shape)
    blocks_used = alg.pattern in ("partition", "partition_plus")
    start = prob.start_moment if start_moment is None else np.asarray(start_moment, dtype=float)
    start_diag = np.allclose(start, np.diag(np.diagonal(start)))
    must = blocks_used or not start_diag
    alg_ = _Algebra(prob, dense=must if dense is None else (dense or must))
    mm = np.matmul if alg_.dense else np.multiply
    Bq = T + 1
    n = Bq + alg.n_buffers
    G, e = (1, prob.dim) if alg_.dense else (prob.dim, 1)
    S = np.zeros((Bt, n, n, G, e, e))
    S[:, 0, 0] = alg_.full(start)
    Sig = alg_.diag(prob.noise_var / (W if alg.averaged else 1) * float(with_noise))
    out = np.full((3, Bt, K + 1), np.inf)
    coord = np.full((Bt, K + 1, prob.dim), np.inf) if per_coordinate else None

    lam = prob.spectrum

    def record(k, Sx):  # Sx: (B, G, e, e)
        diag = np.diagonal(Sx[:, 0], axis1=-2, axis2=-1) if alg_.dense else Sx[:, :, 0, 0]
        out[:, :, k] = (0.5 * diag @ lam, diag.sum(-1), diag @ lam ** 2)
        if coord is not None:
            coord[:, k] = diag

    record(0, S[:, 0, 0])
    cache: dict = {}

    def coefficients(t: int, block):
        key = (t == 1, block)
        if key not in cache:
            a, c, am, ag = alg.step_coefficients(t)
            P = alg_.projector(block)
            PL = alg_.mul(P, alg_.Lam)
            x_coef = {"x": alg_.I[None], "r": (ag * PL)[None]}
            m_coef = None
            if alg.has_buffer:
                x_coef["m"] = (am * P)[None]
                m_coef = ({"m": (alg_.I + (a - 1.0) * P)[None], "r": (c * PL)[None]},
                          (c * P)[None])
            cache[key] = (x_coef, (ag * P)[None], m_coef)
        return cache[key]

    ar = np.arange(Bt)
    for k in range(K):
        w, t = worker[:, k], clocks[:, k]
        keys = {(int(ti) == 1, alg.block(int(wi), int(ti))) for wi, ti in
                {(int(wi), int(ti)) for wi, ti in zip(w, t, strict=True)}}
        if len(keys) == 1:
            x_coef, x_noise, m_coef = coefficients(int(t[0]), alg.block(int(w[0]), int(t[0])))
        else:  # members differ: stack each member's coefficients (leading axis B)
            per = [coefficients(int(ti), alg.block(int(wi), int(ti))) for wi, ti in zip(w, t, strict=True)]
            x_coef = {s_: np.concatenate([p[0][s_] for p in per]) for s_ in per[0][0]}
            x_noise = np.concatenate([p[1] for p in per])
            m_coef = None if per[0][2] is None else (
                {s_: np.concatenate([p[2][0][s_] for p in per]) for s_ in per[0][2][0]},
                np.concatenate([p[2][1] for p in per]))
        xs = np.full(Bt, k % Bq)
        cs = np.full(Bt, (k + 1) % Bq)
        if alg.averaged:
            reads = [(xs, 1.0)]
        elif law is not None:
            reads = [(np.full(Bt, (k - j) % Bq), p) for j, p in enumerate(pmf(k)) if p > 0]
        else:
            reads = [(read[:, k] % Bq, 1.0)]
        src = {"x": xs}
        targets = [(cs, x_coef, x_noise)]
        if m_coef is not None:
            ms = Bq + (w if alg.holder == "per_worker" else np.zeros_like(w))
            src["m"] = ms
            targets.append((ms, m_coef[0], m_coef[1]))
        with np.errstate(over="ignore", invalid="ignore"):
            S = _advance(S, src, targets, reads, Sig, mm)
            record(k + 1, S[ar, cs, cs])
        if not np.isfinite(out[:, :, k + 1]).all():  # diverged: infinite from here (inf fill)
            break
    if not batched:
        out, coord = out[:, 0], None if coord is None else coord[0]
    return ExactCurves(out[0], out[1], out[2], "dense" if alg_.dense else "decoupled", coord)


def decouples(alg: LinearAlgorithm, prob: QuadraticModel) -> bool:
    """Whether the eigen-coordinates evolve independently (no block writes, diagonal start)."""
    start = prob.start_moment
    return (alg.pattern not in ("partition", "partition_plus")
            and np.allclose(start, np.diag(np.diagonal(start))))


def start_conditional(alg: LinearAlgorithm, prob: QuadraticModel, steps: int, y0: np.ndarray,
                      which=None, **schedule) -> tuple[dict[str, np.ndarray], ExactCurves] | None:
    """``({metric: (S, K + 1)}, unconditional curves)``: E[metric at k | y_0 = y0[s]] for each
    row of ``y0`` (S, d), under the same ``law=``/``worker=, read=`` as :func:`exact_curves`
    (row s under schedule ``which[s]`` of a (B, K) batch), and the unconditional curves; None
    when the coordinates do not decouple (block writes couple them: the start would enter
    through all of y0 y0^T).

    One recursion on 2d independent coordinates: the first d answer S_0 = I without noise
    (h_{k,i}), the last d the noise from S_0 = 0 (n_{k,i})."""
    if not decouples(alg, prob):
        return None
    d, lam = prob.dim, prob.spectrum
    twin = QuadraticModel(np.concatenate([lam, lam]), np.eye(2 * d),
                          np.concatenate([np.zeros(d), prob.noise_var]),
                          np.diag(np.concatenate([np.ones(d), np.zeros(d)])), prob.f_star)
    both = exact_curves(alg, twin, steps, per_coordinate=True, **schedule)
    coord = both.coord if both.coord.ndim == 3 else both.coord[None]     # (B, K + 1, 2d)
    h, n = coord[..., :d], coord[..., d:]
    which = np.zeros(len(y0), dtype=int) if which is None else np.asarray(which)
    weights = {"loss": 0.5 * lam, "grad_norm_sq": lam ** 2, "dist_sq": np.ones(d)}
    y2 = np.asarray(y0, dtype=float) ** 2
    with np.errstate(over="ignore", invalid="ignore"):
        per_seed = {m: np.einsum("sd,skd->sk", y2 * w, h[which]) + n[which] @ w
                    for m, w in weights.items()}
        moment = h * np.diagonal(prob.start_moment) + n                # E[y_{k,i}^2], (B, K+1, d)
        if both.coord.ndim == 2:
            moment = moment[0]
        uncond = ExactCurves(moment @ weights["loss"], moment.sum(-1),
                             moment @ weights["grad_norm_sq"], "decoupled", moment)
    return per_seed, uncond


__all__ = ["ExactCurves", "decouples", "exact_curves", "start_conditional"]
