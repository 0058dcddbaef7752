"""Top-k sparsification of an inner rule's step, with or without error feedback.

Nadiradze, Markov, Chatterjee, Kungurtsev & Alistarh, "Elastic Consistency", AAAI 2021,
arXiv:2001.05918, §5 (asynchronous shared memory with top-k and error feedback; project notes
§2.2 (d)–(f)). With ``delta_t`` the inner rule's step and memory ``e`` (``e_0 = 0``):

    with EF:     u = delta_t + e,  c = TopK(u, k),  e <- u - c,  write c
    without EF:  c = TopK(delta_t, k)

TopK keeps the k entries of largest magnitude along the last dim (per block), ties broken by
``torch.topk``. Mass is conserved exactly: ``c + e_new == u`` entrywise (each entry lands in
exactly one of the two). With ``k = d`` the rule equals its inner rule.

Deviation from the paper: the paper compresses ``eta * G`` (the SGD step); composing with any
inner rule generalises it. Top-k is per vector (last dim), not global over a model's layers.
State: the inner rule's keys prefixed ``inner.``, plus ``ef`` (only with error feedback).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import FunctionalRule, Rule, State, check_bool, check_int, check_number

_PREFIX = "inner."


def topk_mask(u: Tensor, k: int) -> Tensor:
    """Boolean mask of the k largest |u| along the last dim."""
    idx = torch.topk(u.abs(), k, dim=-1, sorted=False).indices
    return torch.zeros_like(u, dtype=torch.bool).scatter(-1, idx, True)


def topk_size(d: int, *, ratio: float) -> int:
    """Entries kept of a length-``d`` vector at density ``ratio``: ``ceil(ratio d)`` in [1, d]
    (the ``1e-12`` keeps ``ratio d`` that is an integer up to rounding from gaining one)."""
    return max(1, min(d, math.ceil(ratio * d - 1e-12)))


def topk(inner: Rule, *, k: int | None = None, ratio: float | None = None,
         error_feedback: bool = False) -> Rule:
    """Sparsify ``inner``'s step to its top ``k`` (or ``ceil(ratio * d)``) entries per vector."""
    if not (hasattr(inner, "init") and hasattr(inner, "step") and hasattr(inner, "name")):
        raise ValueError(f"inner must be a Rule (init/step/name), got {inner!r}")
    if (k is None) == (ratio is None):
        raise ValueError(f"give exactly one of k or ratio, got k={k!r}, ratio={ratio!r}")
    if k is not None:
        k = check_int("k", k, ge=1)
    else:
        ratio = check_number("ratio", ratio, gt=0, le=1)
    error_feedback = check_bool("error_feedback", error_feedback)

    def k_for(d: int) -> int:
        if k is not None:
            if k > d:
                raise ValueError(f"k must be <= the vector length {d}, got {k}")
            return k
        return topk_size(d, ratio=ratio)

    def init(params: Tensor) -> State:
        k_for(params.shape[-1])
        state = {_PREFIX + key: val for key, val in inner.init(params).items()}
        if error_feedback:
            state["ef"] = torch.zeros_like(params)
        return state

    def step(grad: Tensor, state: State, t: int) -> tuple[Tensor, State]:
        inner_state = {key[len(_PREFIX):]: val for key, val in state.items() if key.startswith(_PREFIX)}
        delta, inner_new = inner.step(grad, inner_state, t)
        new = {_PREFIX + key: val for key, val in inner_new.items()}
        u = delta + state["ef"] if error_feedback else delta
        mask = topk_mask(u, k_for(u.shape[-1]))
        zero = torch.zeros_like(u)
        c = torch.where(mask, u, zero)
        if error_feedback:
            new["ef"] = torch.where(mask, zero, u)
        return c, new

    suffix = "_ef" if error_feedback else ""
    return FunctionalRule(f"topk{suffix}[{inner.name}]", init, step,
                          dict(k=k, ratio=ratio, error_feedback=error_feedback, inner=inner.name))
