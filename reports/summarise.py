"""Summaries of traces and records, computed BEFORE plotting so figures stay small.

A trace (CONTRACTS.md §5) may hold millions of rows; figures only ever see:

- :func:`seed_binned_means`: per seed and log-spaced bin of ``update``, the mean of a column
  (``loss``, ``grad_norm_sq``) — at most ``n_bins`` points per seed and curve;
- :func:`staleness_histograms`: per worker, the counts of each staleness value;
- a few scalars (rows, seeds, workers, max staleness, updates per second).

Everything here is pure (numpy/pandas in, small numpy/pandas out) and deterministic.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from asyncbound.reports.records import Record, RecordError

log = logging.getLogger(__name__)

#: Trace columns the report reads (others are never loaded).
TRACE_COLUMNS = ("seed", "update", "worker", "staleness", "wall_time", "loss", "grad_norm_sq",
                 "discarded")


@dataclass
class TraceSummary:
    """What the report shows of one record's traces."""

    files: list[str]
    missing: list[str] = field(default_factory=list)
    rows: int = 0
    seeds: int = 0
    workers: int = 0
    max_staleness: int | None = None
    mean_staleness: float | None = None
    updates_per_s: float | None = None
    #: per worker (str) -> {"values": [...], "counts": [...]}
    staleness: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    #: column -> DataFrame(update, seed, value): per-seed bin means
    curves: dict[str, pd.DataFrame] = field(default_factory=dict)


def read_trace(path: Path) -> pd.DataFrame:
    """Read the report's columns of one Parquet trace; one-line :class:`RecordError` if corrupt."""
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        cols = [c for c in TRACE_COLUMNS if c in schema.names]
        table = pq.read_table(path, columns=cols)
    except FileNotFoundError:
        raise RecordError(f"{path}: trace file not found") from None
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise RecordError(f"{path}: not a readable Parquet trace: {str(exc).splitlines()[0]}") from None
    return table.to_pandas()


def seed_binned_means(update: np.ndarray, values: np.ndarray, seed: np.ndarray | None = None,
                      n_bins: int = 80) -> pd.DataFrame:
    """Per seed, the mean of ``values`` in log-spaced bins of ``update`` (NaNs dropped).

    Returns columns ``update`` (geometric bin centre, the same bins for every seed), ``seed``,
    ``value``: at most ``n_bins`` rows per seed, so a figure over a million-row trace draws at
    most that many points per seed, and the spread across seeds stays visible to the figure.
    """
    update = np.asarray(update, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    seed = np.zeros(update.shape, dtype=np.int64) if seed is None else np.asarray(seed, dtype=np.int64)
    ok = np.isfinite(values) & np.isfinite(update)
    update, values, seed = update[ok], values[ok], seed[ok]
    if update.size == 0:
        return pd.DataFrame({"update": pd.Series(dtype="float64"), "seed": pd.Series(dtype="int64"),
                             "value": pd.Series(dtype="float64")})
    x = update + 1.0  # updates are 0-based; log axes need > 0
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        edges = np.array([lo, lo + 1.0])
    else:
        edges = np.unique(np.geomspace(lo, hi * (1 + 1e-12), n_bins + 1))
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    means = pd.DataFrame({"bin": idx, "seed": seed, "v": values}).groupby(["bin", "seed"], sort=True)["v"].mean()
    bins = means.index.get_level_values("bin").to_numpy()
    return pd.DataFrame({
        "update": np.sqrt(edges[bins] * edges[bins + 1]),
        "seed": means.index.get_level_values("seed").to_numpy(),
        "value": means.to_numpy(),
    })


def staleness_histograms(worker: np.ndarray, staleness: np.ndarray) -> dict[str, dict[str, list[float]]]:
    """Per worker, the sorted distinct staleness values and their counts."""
    worker = np.asarray(worker, dtype=np.int64)
    staleness = np.asarray(staleness, dtype=np.int64)
    out: dict[str, dict[str, list[float]]] = {}
    if worker.size == 0:
        return out
    smax = int(staleness.max()) + 1
    smin = int(staleness.min())
    if smin < 0:
        raise RecordError(f"trace has negative staleness ({smin})")
    for w in np.unique(worker):
        counts = np.bincount(staleness[worker == w], minlength=smax)
        nz = np.nonzero(counts)[0]
        out[str(int(w))] = {"values": nz.astype(float).tolist(), "counts": counts[nz].astype(float).tolist()}
    return out


def summarise_traces(record: Record, n_bins: int = 80) -> TraceSummary | None:
    """Read a record's trace files (if any) and summarise them; ``None`` without trace files.

    Missing files are listed in ``missing`` (logged as warnings) rather than failing the
    report: records render what is there. Corrupt files raise :class:`RecordError`.
    """
    names = record.data["trace_files"]
    if not names:
        return None
    summary = TraceSummary(files=list(names))
    frames = []
    for name, path in zip(names, record.trace_paths(), strict=False):
        if not path.exists():
            log.warning("%s: trace file %s not found; its figures are left out", record.source, path)
            summary.missing.append(name)
            continue
        frames.append(read_trace(path))
    if not frames:
        return summary
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    summary.rows = len(df)
    if "seed" in df:
        summary.seeds = int(df["seed"].nunique())
    if "worker" in df:
        summary.workers = int(df["worker"].nunique())
    # the delay of applied updates only: a discarded gradient (issue 16) was never applied
    applied = (~df["discarded"].to_numpy(dtype=bool) if "discarded" in df
               else np.ones(len(df), dtype=bool))
    if "staleness" in df and applied.any():
        st = df["staleness"].to_numpy()[applied]
        summary.max_staleness = int(st.max())
        summary.mean_staleness = float(st.mean())
        if "worker" in df:
            summary.staleness = staleness_histograms(df["worker"].to_numpy()[applied], st)
    if "wall_time" in df and len(df):
        seeds = df["seed"].to_numpy() if "seed" in df else np.zeros(len(df), dtype=np.int64)
        span = pd.Series(df["wall_time"].to_numpy()).groupby(seeds).agg(["min", "max", "size"])
        dur = (span["max"] - span["min"]).to_numpy()
        if np.all(dur > 0):
            n_applied = pd.Series(applied).groupby(seeds).sum().to_numpy()
            summary.updates_per_s = float(np.mean(n_applied / dur))
    if "update" in df:
        upd = df["update"].to_numpy()
        seeds = df["seed"].to_numpy() if "seed" in df else None
        for col in ("loss", "grad_norm_sq"):
            if col in df:
                curve = seed_binned_means(upd, df[col].to_numpy(), seeds, n_bins=n_bins)
                if len(curve):
                    summary.curves[col] = curve
    return summary


def staleness_by_backend(items: list[tuple[str, dict[str, dict[str, list[float]]]]]) -> dict[str, dict[int, float]]:
    """Pool per-worker staleness histograms by backend: backend -> {staleness: count}."""
    out: dict[str, dict[int, float]] = {}
    for backend, per_worker in items:
        acc = out.setdefault(backend, {})
        for h in per_worker.values():
            for value, count in zip(h["values"], h["counts"], strict=False):
                acc[int(value)] = acc.get(int(value), 0.0) + float(count)
    return {b: dict(sorted(h.items())) for b, h in sorted(out.items()) if h}
