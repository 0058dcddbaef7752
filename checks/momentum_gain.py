"""The first-order prediction of the momentum-gain study (``studies.passm_momentum_gain``), one
per access pattern: the gradient energy each update moves along, weighted by heavy-ball gains.

Source: Kungurtsev et al. 2021 (arXiv:1910.10787) §4.2, the reconstructed limiting ODE
xdot = -grad f / (1 - m) (DERIVED here, not the paper's statement). A heavy-ball buffer
``v <- m v + g`` that has been stepped j times along a slowly varying gradient holds
``(1 - m^j)/(1 - m) g``, so update k of worker w, writing ``x <- x - gamma_k v`` on the set of
coordinates S_k, decreases f to first order in gamma by

    gamma_k sum_{i in S_k} (d_i f(x_k))^2 gain(j_{w,i}),   gain(j) = (1 - m^j)/(1 - m),

with j_{w,i} the number of w's steps so far (this one included) that moved coordinate i, since a
coordinate's momentum moves only when its worker steps on it. Summed over the run this is the
predicted decrease f(x_0) - f(x_K). Each function here returns the per-update weight
``w_k = sum_{i in S_k} (d_i f(x_k))^2 gain(j_{w,i})`` per seed, ``(S, K)``; the study multiplies
by gamma_k.

- ``partition`` (PASSM): S_k is the writer's block and j = its own-step count; the trace records
  only ||grad f(x_k)||^2, and the block's share of it is taken as an even spread,
  ||grad f(x_k)||^2 / n_blocks (an approximation: block-gradient imbalance is part of what
  ``GAIN_RTOL`` allows for).
- ``partition_plus`` (PASSM+): the first ``warmup`` own steps of a worker are full-model steps,
  then partitioned (own block) and full steps alternate, and the worker's buffer covers the
  whole model. Own-block coordinates are moved by every one of w's steps (j = its own-step
  count); the other coordinates only by its full steps (j = its full-step count). The gain
  differs per block, so the prediction weighs each block's own energy: :class:`BlockEnergyProbe`
  (the reference backend's ``observer``) evaluates grad f at every iterate x_k of the run itself
  and keeps, per update, the exact gradient energy of every block and the block it wrote. No
  approximation is left in the energies; the study needs a backend that observes updates.

Measured on the suite's quadratic (d = 10, 4 blocks of 2-3 coordinates): the even spread would
change the PASSM+ ratio by 0.1% there (its blocks are alike), and counting the foreign blocks at
the own-step j instead of the full-step j by about 2% (the gains saturate at 1/(1 - m) within a
few tens of steps): the exact form matters on unequal blocks and short runs, not for the verdict
of this configuration. The ratio's excess over 1 (+7 to +11% for PASSM+) is the buffers' lag;
it shrinks with gamma (1.06 at gamma/16 over 16x the steps).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Prediction(NamedTuple):
    """How a pattern's prediction knows the gradient energy each update moves along."""

    block_energies: bool  # needs every iterate's block energies (a :class:`BlockEnergyProbe`)
    how: str              # for the record's reason


#: pattern -> its prediction (the momentum-gain study applies to these patterns only)
PREDICTIONS = {
    "partition": Prediction(False, "own block = even share of ||grad f(x_k)||^2, gain of j own steps"),
    "partition_plus": Prediction(True, "exact block energies at x_k; own block at the gain of j own "
                                       "steps, other blocks at the gain of j full steps"),
}


def heavy_ball_gain(j, m: float):
    """``(1 - m^j)/(1 - m)``: a heavy-ball buffer after j steps along a constant gradient."""
    return (1 - m ** np.asarray(j, dtype=float)) / (1 - m)


class BlockEnergyProbe:
    """Observer (``implementations.backends.reference``, ``observer=``) keeping, per update, the
    writing worker, the block it wrote (-1: the whole model) and the energy
    ``sum_{i in block b} (d_i f(x_k))^2`` of every block b at the iterate x_k before the update."""

    def __init__(self, problem, blocks):
        self.problem = problem
        self.blocks = [(int(a), int(b)) for a, b in blocks]
        self.energy: list[np.ndarray] = []   # (S, n_blocks) per update
        self.worker: list[int] = []
        self.block: list[int] = []

    def __call__(self, k: int, info: dict) -> None:
        import torch

        g2 = self.problem.full_grad(info["x"]).double() ** 2
        self.energy.append(torch.stack([g2[..., a:b].sum(-1) for a, b in self.blocks], -1).cpu().numpy())
        self.worker.append(int(info["worker"]))
        blk = info["block"]
        self.block.append(int(blk) if not torch.is_tensor(blk) else int(blk.reshape(-1)[0]))


def partition_weights(gprev: np.ndarray, own: np.ndarray, n_blocks: int, m: float) -> np.ndarray:
    """PASSM: ``||grad f(x_k)||^2 / n_blocks * gain(own step count)`` (even spread, see above)."""
    return gprev * (heavy_ball_gain(own, m) / n_blocks)[None, :]


def partition_plus_weights(probe: BlockEnergyProbe, m: float) -> np.ndarray:
    """PASSM+: per update, own block at gain(own steps), other blocks (full steps only) at
    gain(full steps), from the probe's exact block energies. Worker w owns block w."""
    energy = np.stack(probe.energy, axis=1)               # (S, K, n_blocks)
    S, K, nb = energy.shape
    touches = np.zeros((max(probe.worker) + 1, nb), dtype=np.int64)
    out = np.empty((S, K))
    for k, (w, blk) in enumerate(zip(probe.worker, probe.block, strict=True)):
        moved = np.arange(nb) if blk < 0 else np.array([blk])
        touches[w, moved] += 1
        out[:, k] = energy[:, k, moved] @ heavy_ball_gain(touches[w, moved], m)
    return out
