"""The replay tolerance of a lock-free real run (why a lock-free run and its replay differ).

A locked run serialises reads and writes, so its reference replay is bit-for-bit identical.
Lock-free, two things break exactness, and both need two updates' windows to overlap in time:

1. a read (version stamp, then the copy of x) that overlaps another update's write window
   (from before the write to after its version bump) may see part or all of that update
   although its read_version does not count it (or the reverse): the view differs from
   x_{read_version} by at most ||delta_j|| per such write j;
2. two overlapping writes are non-atomic read-modify-writes of the same coordinates: one can
   be lost or the two applied in the other order: at most ||delta_j|| per racing write.

Let R be the racing writes (write window overlapping another update's read or write window)
and m_j the number of reads overlapping write j. For SGD-type steps delta = -eta g with an
L-smooth problem and identical noise draws (same per-worker streams), a view error e changes
the step by at most eta L e. With M_k the largest deviation of the real iterate from the
replayed one after k updates, M_{k+1} <= (1 + eta L) M_k + s_k, where s_k collects the
injected errors, so

    ||x_real - x_replay|| <= (1 + eta L)^(K - j0) * sum_{j in R} (1 + eta L m_j) ||delta_j||,

j0 the first racing update, ||delta_j|| = eta sqrt(sgrad_norm_sq_j) (heavy-ball momentum beta:
eta / (1 - beta)). With no overlapping windows the bound is 0: the replay must then be exact,
and in any case every update before j0 must match the replay exactly (a check of the kernel,
the noise streams and the recorded order that does not depend on the bound's slack). The bound is tight when
races are rare (small steps, short runs) and loose under heavy contention; the (1 + eta L)^K
factor is the price of allowing every later read to be stale.
"""

from __future__ import annotations

import math

import numpy as np


def racing(trace) -> tuple[np.ndarray, np.ndarray]:
    """``(racing mask over rows, number of reads overlapping each row's write)``."""
    iv = trace.intervals
    rs, re_ = iv["read_start"], iv["read_end"]
    ws, we = iv["write_start"], iv["write_end"]
    n = len(ws)
    race = np.zeros(n, dtype=bool)
    m = np.zeros(n, dtype=np.int64)
    for j in range(n):
        ov_read = (rs <= we[j]) & (re_ >= ws[j])
        ov_read[j] = False
        ov_write = (ws <= we[j]) & (we >= ws[j])
        ov_write[j] = False
        m[j] = int(ov_read.sum())
        race[j] = bool(ov_read.any() or ov_write.any())
    return race, m


def lockfree_replay_tolerance(trace, *, L: float, lr: float, momentum: float = 0.0) -> dict:
    """The bound above for one real lock-free trace (sorted by update). Returns its parts."""
    eta = lr / (1.0 - momentum)
    race, m = racing(trace)
    sq = np.asarray(trace["sgrad_norm_sq"], dtype=np.float64)
    if np.isnan(sq).any():
        raise ValueError("the lock-free replay tolerance needs every update's ||g||^2: this trace "
                         "has no sgrad_norm_sq (run it with grad_norms=True and instrument=True)")
    step = eta * np.sqrt(sq)
    injected = float(((1.0 + eta * L * m) * step)[race].sum())
    first = int(np.argmax(race)) if race.any() else len(step)
    amp = math.exp((len(step) - first) * math.log1p(eta * L))  # nothing deviates before `first`
    return {"bound": amp * injected, "injected": injected, "amplification": amp,
            "n_racing": int(race.sum()), "first_race": first, "n_updates": len(step)}
