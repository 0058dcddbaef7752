"""Estimators on a trace (CONTRACTS §5): staleness, view gap, elastic constant B, noise,
block fairness, the metrics bounds speak of, and throughput.

Every estimator takes the trace as a pandas DataFrame (``Trace.to_pandas()``; a Trace is
accepted too) with one row per applied update per seed. Seeds are independent replicates;
estimators that feed a confidence interval return one value per seed (or a seeds x points
matrix), never a pooled number, so that ``checks.stats`` can build the interval over seeds.

Staleness has exactly one definition, the trace's: ``staleness = write_version -
read_version``, counted in applied updates. Rows of discarded gradients (``discarded`` True,
issue 16) are kept in the trace (their compute counts in throughput) but the delay and view-gap
estimators use applied rows only (:func:`applied`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def as_frame(trace) -> pd.DataFrame:
    if isinstance(trace, pd.DataFrame):
        return trace
    if hasattr(trace, "to_pandas"):
        return trace.to_pandas()
    return pd.DataFrame(trace)


def applied(df: pd.DataFrame) -> pd.DataFrame:
    """The rows whose update was applied (all rows when the trace has no discards)."""
    if "discarded" not in df or not df["discarded"].any():
        return df
    return df[~df["discarded"].astype(bool)]


def seeds_matrix(df: pd.DataFrame, column: str, *, evaluated_only: bool = False
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(n_seeds, n_points) matrix of ``column`` and the update index of each column.

    Rows are aligned by ``update`` across seeds (the reference backend applies the same number
    of updates in every seed). ``evaluated_only`` keeps only the updates where every seed has a
    non-NaN value (the ``eval_every`` points of ``loss``/``grad_norm_sq``).
    """
    df = as_frame(df)
    if column not in df or len(df) == 0:
        return np.empty((0, 0)), np.empty(0, dtype=np.int64)
    wide = df.pivot(index="seed", columns="update", values=column)
    wide = wide.sort_index(axis=0).sort_index(axis=1)
    mat = wide.to_numpy(dtype=float)
    cols = np.asarray(wide.columns, dtype=np.int64)
    if evaluated_only:
        keep = ~np.all(np.isnan(mat), axis=0)
        mat, cols = mat[:, keep], cols[keep]
    return mat, cols


def _fast_matrix(df: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Like ``seeds_matrix`` but by reshape when every seed has the same updates in order."""
    seeds = df["seed"].to_numpy()
    n_seeds = len(np.unique(seeds))
    if n_seeds and len(df) % n_seeds == 0:
        order = np.lexsort((df["update"].to_numpy(), seeds))
        upd = df["update"].to_numpy()[order].reshape(n_seeds, -1)
        if np.all(upd == upd[0]):
            return df[column].to_numpy(dtype=float)[order].reshape(n_seeds, -1), upd[0]
    return seeds_matrix(df, column)


def evaluated(df: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, eval points) matrix of an evaluated column (``loss``, ``grad_norm_sq``)."""
    df = as_frame(df)
    if column not in df:
        return np.empty((0, 0)), np.empty(0, dtype=np.int64)
    mat, cols = _fast_matrix(df, column)
    keep = ~np.all(np.isnan(mat), axis=0)
    return mat[:, keep], cols[keep]


# --------------------------------------------------------------------------------------------
# staleness


def staleness_summary(df) -> dict:
    """tau_max and tau_avg overall, per worker and per block.

    tau_max = max over all updates and seeds of ``staleness`` (what a bounded-delay theorem's
    tau must dominate); tau_avg = mean staleness (the average-delay quantity of Gratton-Toint
    style results). Per-worker/per-block maxima show heterogeneity (stragglers, PASSM owners).
    """
    df = applied(as_frame(df))
    if len(df) == 0:
        return {"tau_max": 0, "tau_avg": 0.0, "per_worker": {}, "per_block": {}}
    s = df["staleness"]
    out = {"tau_max": int(s.max()), "tau_avg": float(s.mean()),
           "tau_p99": float(np.quantile(s.to_numpy(), 0.99))}
    for key, col in (("per_worker", "worker"), ("per_block", "block")):
        if col in df:
            g = df.groupby(col)["staleness"]
            out[key] = {str(k): {"tau_max": int(v.max()), "tau_avg": float(v.mean()), "n": int(v.size)}
                        for k, v in g}
    return out


def staleness_histograms(df, by: str = "worker", max_values: int = 64) -> dict:
    """``{"<worker>": {"values": [...], "counts": [...]}}`` for the report's distributions."""
    df = applied(as_frame(df))
    out = {}
    if by not in df:
        return out
    for k, v in df.groupby(by)["staleness"]:
        vc = v.value_counts().sort_index()
        if len(vc) > max_values:  # keep the report small: the largest values are in the tail
            vc = vc.iloc[:max_values]
        out[str(k)] = {"values": [int(i) for i in vc.index], "counts": [int(c) for c in vc.to_numpy()]}
    return out


def staleness_max_per_seed(df) -> np.ndarray:
    df = applied(as_frame(df))
    return df.groupby("seed")["staleness"].max().to_numpy(dtype=float)


# --------------------------------------------------------------------------------------------
# view gap and elastic consistency


def view_gap_matrix(df) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, updates) matrix of ||x_t - v_t|| (NaN where the backend did not measure it).

    With discarded gradients (never applied at their view) the columns are the applied updates
    t = 0, 1, ... of each seed (its ``write_version``), up to the smallest count over seeds."""
    df = as_frame(df)
    if "view_gap" not in df or df["view_gap"].isna().all():
        return np.empty((0, 0)), np.empty(0, dtype=np.int64)
    if "discarded" in df and df["discarded"].any():
        df = applied(df)
        n = int(df.groupby("seed").size().min())
        df = df.assign(update=df["write_version"])
        df = df[df["update"] < n]
    return _fast_matrix(df, "view_gap")


def elastic_B_samples(df, eta: float) -> np.ndarray:
    """Per-update ratios E||x_t - v_t|| / eta as a (seeds, updates) matrix.

    The empirical elastic-consistency constant (Nadiradze et al. 2021, norm form) is
    B_hat = max_t E||x_t - v_t|| / eta: the expectation over seeds at each t, then the max over
    t. Use ``stats.extremum_of_means(..., "max")`` on this matrix for an interval.
    """
    mat, _ = view_gap_matrix(df)
    return mat / float(eta)


# --------------------------------------------------------------------------------------------
# gradient statistics


def grad_second_moment(df) -> dict:
    """Empirical M^2 = sup_x E||g(x)||^2, estimated as max_t mean_seeds ||g_t||^2.

    Also returns the pooled mean (a lower estimate). Uses ``sgrad_norm_sq``: the squared norm
    of the stochastic gradient each update used.
    """
    df = as_frame(df)
    if "sgrad_norm_sq" not in df or df["sgrad_norm_sq"].isna().all():
        return {"M2_max": math.nan, "M2_mean": math.nan}
    mat, _ = _fast_matrix(df, "sgrad_norm_sq")
    with np.errstate(invalid="ignore", over="ignore"):
        per_t = np.nanmean(mat, axis=0)
        return {"M2_max": float(np.nanmax(per_t)), "M2_mean": float(np.nanmean(per_t))}


def grad_second_moment_at_iterates(df) -> dict:
    """M^2 over every iterate and every evaluated gradient (assumption
    ``gradient_bounded_at_iterates``): max_t of the mean over seeds of max(||g_t||^2,
    ||grad f(x_{t+1})||^2). The trace's ``grad_norm_sq`` at update t is the full gradient at
    the iterate after it, x_{t+1}; x_0 is covered by g_0, read at x_0 (no update precedes it).
    NaN unless ``grad_norm_sq`` is recorded at every update (``eval_every = 1``): an iterate
    never evaluated cannot be bounded from the trace.
    """
    df = as_frame(df)
    if any(c not in df or df[c].isna().any() for c in ("sgrad_norm_sq", "grad_norm_sq")):
        return {"M2_max": math.nan, "complete": False}
    g, _ = _fast_matrix(df, "sgrad_norm_sq")
    full, _ = _fast_matrix(df, "grad_norm_sq")
    with np.errstate(invalid="ignore", over="ignore"):
        per_t = np.maximum(np.mean(g, axis=0), np.mean(full, axis=0))
        return {"M2_max": float(np.max(per_t)), "complete": True}


def grad_noise_variance(df) -> float:
    """sigma^2 estimate: E||g||^2 - ||grad f||^2 at matching evaluated updates.

    At an evaluated update t the trace has ||grad f(x_t)||^2 (after the update) and
    ||g_t||^2 (the gradient the update used, at the view v_t). For small steps x_t ~ v_t and
    E||g(v)||^2 = ||grad f(v)||^2 + sigma^2, so the mean difference estimates sigma^2 (biased
    by the step; an order-of-magnitude check of the certified sigma, not a certificate).
    """
    df = as_frame(df)
    if "sgrad_norm_sq" not in df or "grad_norm_sq" not in df:
        return math.nan
    ok = df["grad_norm_sq"].notna() & df["sgrad_norm_sq"].notna()
    if not ok.any():
        return math.nan
    return float((df.loc[ok, "sgrad_norm_sq"] - df.loc[ok, "grad_norm_sq"]).mean())


# --------------------------------------------------------------------------------------------
# fairness


def block_frequencies(df) -> dict:
    """Fraction of writes to each block and p_min = min fraction (block fairness, A10/A11 of
    Kungurtsev et al.). Block -1 (whole model) counts every block as written."""
    df = as_frame(df)
    if "block" not in df or len(df) == 0:
        return {"freq": {}, "p_min": math.nan, "n_blocks": 0}
    counts = df["block"].value_counts()
    if set(counts.index) == {-1}:
        return {"freq": {"-1": 1.0}, "p_min": 1.0, "n_blocks": 1}
    counts = counts.drop(index=-1, errors="ignore")
    freq = counts / counts.sum()
    return {"freq": {str(k): float(v) for k, v in freq.sort_index().items()},
            "p_min": float(freq.min()), "n_blocks": int(len(freq))}


# --------------------------------------------------------------------------------------------
# metrics (CONTRACTS §8)


def running_min(mat: np.ndarray) -> np.ndarray:
    return np.fmin.accumulate(mat, axis=1) if mat.size else mat


def per_seed_average(mat: np.ndarray) -> np.ndarray:
    """Per seed, the average over evaluated points ((1/T) sum_t, sampled every eval_every)."""
    return np.nanmean(mat, axis=1) if mat.size else np.empty(0)


def final_values(mat: np.ndarray) -> np.ndarray:
    """Per seed, the last evaluated value."""
    return mat[:, -1] if mat.size else np.empty(0)


def divergence(df) -> dict | None:
    """Evidence of divergence: the first update where loss or gradient norm is NaN/inf."""
    df = as_frame(df)
    for col in ("loss", "grad_norm_sq", "sgrad_norm_sq", "view_gap"):
        if col not in df:
            continue
        v = df[col].to_numpy(dtype=float)
        bad = np.isinf(v)
        if col in ("loss", "grad_norm_sq"):
            # NaN means "not evaluated" there; only +-inf or NaN where a value is expected count.
            pass
        else:
            bad |= np.isnan(v) & ~df[col].isna().all()
        if bad.any():
            i = int(np.argmax(bad))
            return {"column": col, "update": int(df["update"].iloc[i]), "seed": int(df["seed"].iloc[i]),
                    "value": str(v[i])}
    return None


def huge(df, threshold: float = 1e100) -> dict | None:
    """Values that have blown past any bound (treated as divergence: float64 will overflow)."""
    df = as_frame(df)
    for col in ("loss", "grad_norm_sq"):
        if col in df:
            v = df[col].to_numpy(dtype=float)
            bad = np.abs(v) > threshold
            if bad.any():
                i = int(np.argmax(bad))
                return {"column": col, "update": int(df["update"].iloc[i]),
                        "seed": int(df["seed"].iloc[i]), "value": str(v[i])}
    return None


#: a run whose loss grew by this factor between its first and last evaluation is diverging, even
#: if float64 has not overflowed yet (real runs stop at a finite horizon)
BLOWUP_FACTOR = 1e6


def blowup(df, factor: float = BLOWUP_FACTOR) -> dict | None:
    """Evidence that a seed's loss grew by ``factor`` from its first to its last evaluation."""
    df = as_frame(df)
    mat, iters = evaluated(df, "loss")
    if mat.shape[1] < 2:
        return None
    first, last = np.abs(mat[:, 0]), np.abs(mat[:, -1])
    with np.errstate(divide="ignore", invalid="ignore"):
        grow = last / np.maximum(first, 1e-300)
    bad = np.isfinite(grow) & (grow > factor)
    if bad.any():
        s = int(np.argmax(bad))
        return {"column": "loss", "update": int(iters[-1]), "seed": s, "value": f"{last[s]:.3g}",
                "growth": float(grow[s])}
    return None


def throughput(df) -> dict:
    """Applied updates per second of (virtual, in the reference backend) wall time, per seed
    averaged. With discards, ``gradients_per_s`` counts every gradient computed and
    ``discarded_fraction`` the share declined (the wasted compute)."""
    df = as_frame(df)
    if "wall_time" not in df or len(df) == 0:
        return {"updates_per_s": None}
    g = df.groupby("seed")["wall_time"]
    span = (g.max() - g.min()).to_numpy(dtype=float)
    n = df.groupby("seed").size().to_numpy(dtype=float)
    ok = span > 0
    if not ok.any():
        return {"updates_per_s": None}
    if "discarded" not in df or not df["discarded"].any():
        return {"updates_per_s": float(np.mean(n[ok] / span[ok]))}
    n_app = applied(df).groupby("seed").size().reindex(g.max().index, fill_value=0)
    n_app = n_app.to_numpy(dtype=float)
    return {"updates_per_s": float(np.mean(n_app[ok] / span[ok])),
            "gradients_per_s": float(np.mean(n[ok] / span[ok])),
            "discarded_fraction": float(1.0 - n_app.sum() / n.sum())}
