"""Per-update recomputation on the reference backend, for the lemma and conformance checks.

A :class:`Probe` is passed to the reference backend as its ``observer`` (see
``implementations.backends.reference``): after every update it sees the iterate before and after,
the stale view, the stochastic gradient, the pattern's step and the rule state before and after,
for the whole seed batch at once, and evaluates the per-update quantities each lemma compares.
Nothing is recorded by the kernels themselves (the instrumentation of real backends stays as
cheap as it was); the probe is the "recompute on the reference backend, where the full state is
available per step" route of the issue.

For every lemma the probe stores, per update and seed, a triple ``(lhs, rhs, scale)``; the lemma
holds at that update when ``lhs <= rhs + EXACT_RTOL * scale`` (see :mod:`checks.lemmas`).
Identities are stored as ``(||a - b||, 0, ||b||)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def _n(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy()


class Probe:
    """Observer computing the lemma quantities; ``lemmas``: names from ``checks.lemmas.LEMMAS``.

    ``params``: what the lemma needs from the configuration (``L``, ``lr``, ``k`` of top-k,
    ``partition`` for block ownership, ``schedule``/``beta1`` for AMSGrad, ``n_workers``).
    ``keep_updates``: also keep every applied update ``x_{k+1} - x_k`` (conformance).
    """

    def __init__(self, problem, lemmas=(), params: dict | None = None, keep_updates: bool = False):
        self.problem, self.lemmas, self.p = problem, set(lemmas), dict(params or {})
        self.keep_updates = keep_updates
        self.rows: dict[str, list] = {name: [] for name in self.lemmas}
        self.updates: list[np.ndarray] = []
        self.worker: list[int] = []
        self.block: list = []

    # ------------------------------------------------------------------------------------------
    def __call__(self, k: int, info: dict) -> None:
        x, x_new, delta, g = info["x"], info["x_new"], info["delta"], info["grad"]
        u = x_new - x
        self.worker.append(int(info["worker"]))
        blk = info["block"]
        self.block.append(blk.detach().cpu().numpy().copy() if torch.is_tensor(blk) else int(blk))
        if self.keep_updates:
            self.updates.append(_n(u))
        if "descent" in self.lemmas:
            self._descent(x, x_new, u)
        if "sgd_step_at_view" in self.lemmas:
            s = -self.p["lr"] * g
            self._identity("sgd_step_at_view", delta, s)
        if {"ef_identity", "topk_contraction"} & self.lemmas:
            self._error_feedback(info, delta, g)
        if "block_ownership" in self.lemmas:
            self._ownership(info, u)
        if {"amsgrad_monotone", "amsgrad_convention"} & self.lemmas:
            self._amsgrad(k, info, delta)

    # ------------------------------------------------------------------------------------------
    def _put(self, name, lhs, rhs, scale):
        self.rows[name].append(np.stack([_n(lhs), _n(rhs), _n(scale)]))

    def _identity(self, name, a, b):
        self._put(name, torch.linalg.vector_norm(a - b, dim=-1), torch.zeros(a.shape[0]),
                  torch.linalg.vector_norm(b, dim=-1))

    def _descent(self, x, x_new, u):
        L = self.p["L"]
        f0, f1 = self.problem.loss(x), self.problem.loss(x_new)
        lin = torch.linalg.vecdot(self.problem.full_grad(x), u)
        quad = 0.5 * L * torch.linalg.vecdot(u, u)
        self._put("descent", f1, f0 + lin + quad, f0.abs() + f1.abs() + lin.abs() + quad)

    def _error_feedback(self, info, delta, g):
        """Virtual sequence: with ``e_w`` the part of worker w's step not yet applied (the top-k
        rule stores ``e <- u - C(u)``, ``u = s + e``), ``x + sum_w e_w`` moves by the
        uncompressed step ``s = -lr g`` exactly; and ``||u - C(u)||^2 <= (1 - k/d) ||u||^2``."""
        s = -self.p["lr"] * g
        ef = self.p.get("error_feedback", False)
        zero = torch.zeros_like(delta)
        e_before = info["wstate_before"].get("ef", zero) if ef else zero
        e_after = info["wstate_after"].get("ef", zero) if ef else zero
        if "topk_contraction" in self.lemmas:
            u = s + e_before
            r = u - delta
            k, d = self.p["k"], delta.shape[-1]
            self._put("topk_contraction", torch.linalg.vecdot(r, r),
                      (1 - k / d) * torch.linalg.vecdot(u, u), torch.linalg.vecdot(u, u))
        if "ef_identity" in self.lemmas:
            # the worker's memory moves by e_after - e_before; the model by delta
            self._identity("ef_identity", delta + (e_after - e_before), s)

    def _ownership(self, info, u):
        """Outside the writer's own block, the applied update is exactly zero."""
        w, blocks = info["worker"], self.p["partition"]
        full_ok = self.p.get("full_steps_allowed", False) and int(info["block"]) < 0
        mask = torch.ones(u.shape[-1], dtype=torch.bool)
        if full_ok or w < 0:
            mask[:] = False
        else:
            a, b = blocks[w]
            mask[a:b] = False
        outside = torch.linalg.vector_norm(u[..., mask], dim=-1) if mask.any() else \
            torch.zeros(u.shape[0], dtype=u.dtype)
        self._put("block_ownership", outside, torch.zeros_like(outside), torch.zeros_like(outside))

    def _amsgrad(self, k, info, delta):
        before = info["shared_before"] or info["wstate_before"]
        after = info["shared_after"] or info["wstate_after"]
        S = delta.shape[0]
        if "amsgrad_monotone" in self.lemmas:
            if "vhat" in after and "vhat" in before:
                drop = (before["vhat"] - after["vhat"]).clamp_min(0).amax(-1)
                scale = before["vhat"].abs().amax(-1)
            else:  # no v-hat at all: the maximum the proof needs is not kept
                drop, scale = torch.full((S,), math.inf), torch.zeros(S)
            self._put("amsgrad_monotone", drop, torch.zeros_like(drop), scale)
        if "amsgrad_convention" in self.lemmas:
            if "m" in after and "vhat" in after:
                from asyncbound.implementations.rules.base import schedule_factor

                m, vh = after["m"], after["vhat"]
                pos = vh > 0
                ratio = torch.where(pos, m / torch.where(pos, vh, torch.ones_like(vh)).sqrt(),
                                    torch.zeros_like(m))
                expect = -(self.p["lr"] * schedule_factor(self.p["schedule"], k + 1)) * ratio
                self._identity("amsgrad_convention", delta, expect)
            else:
                inf = torch.full((S,), math.inf)
                self._put("amsgrad_convention", inf, torch.zeros(S), torch.zeros(S))

    # ------------------------------------------------------------------------------------------
    def table(self, name: str) -> np.ndarray:
        """``(K, 3, S)``: lhs, rhs, scale of lemma ``name`` per update and seed."""
        rows = self.rows[name]
        return np.stack(rows) if rows else np.zeros((0, 3, 0))

    def applied_updates(self) -> np.ndarray:
        """``(K, S, d)`` applied updates (``keep_updates=True``)."""
        return np.stack(self.updates) if self.updates else np.zeros((0, 0, 0))


__all__ = ["Probe"]
