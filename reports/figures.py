"""Pure figure builders: small summarised data in, a ``matplotlib.figure.Figure`` out.

Never pyplot, never a global theme: every figure is a fresh ``Figure`` drawn through its own
Axes, styled by :data:`STYLE` inside a local ``rc_context``. :func:`to_svg` turns a figure
into an inline ``<svg>`` string that is byte-reproducible (fixed ``svg.hashsalt``, no date)
and whose element ids carry a prefix, so several figures can live in one HTML document.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

#: Colour-blind-safe palette (seaborn "colorblind"), hard-coded so nothing global is touched.
PALETTE = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4",
           "#949494", "#ece133", "#56b4e9")
BOUND_COLOUR = "#d55e00"
MEASURED_COLOUR = "#0173b2"

STYLE = {
    "svg.hashsalt": "asyncbound",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.fontsize": 8.0,
    "legend.frameon": False,
    "path.simplify": True,
    # A fixed title position: automatic placement measures every tick label (slow).
    "axes.titley": 1.02,
}

WIDTH, HEIGHT = 5.6, 3.5


def _new_figure(ncols: int = 1, width: float | None = None, height: float = HEIGHT) -> tuple[Figure, list]:
    width = width or (WIDTH if ncols == 1 else 5.0 * ncols)
    with mpl.rc_context(STYLE):
        # Fixed margins: constrained/tight layout would double the drawing time of each figure.
        fig = Figure(figsize=(width, height))
        axes = fig.subplots(1, ncols, squeeze=False)[0].tolist()
        fig.subplots_adjust(left=0.5 / width * 1.9, right=0.97, bottom=0.15, top=0.89,
                            wspace=0.32 if ncols > 1 else 0.2)
    return fig, axes


def _finite(values: Sequence[float | None]) -> np.ndarray:
    return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)


def _positive(a: np.ndarray) -> np.ndarray:
    return np.where(a > 0, a, np.nan)


def series_figure(series: dict, metric: str | None = None, title: str | None = None) -> Figure:
    """Measured metric (mean with [lo, hi] band) and the bound over iterations, log-log axes."""
    with mpl.rc_context(STYLE):
        fig, (ax,) = _new_figure()
        it = _finite(series["iteration"])
        x = np.where(it > 0, it, np.nan)
        mean = _positive(_finite(series["mean"])) if series["mean"] else None
        if series["lo"] and series["hi"]:
            lo, hi = _positive(_finite(series["lo"])), _positive(_finite(series["hi"]))
            ax.fill_between(x, lo, hi, color=MEASURED_COLOUR, alpha=0.22, linewidth=0,
                            label="confidence band")
        if mean is not None:
            ax.plot(x, mean, color=MEASURED_COLOUR, linewidth=1.6, label="measured (mean)")
        if series["bound"] and np.isfinite(_finite(series["bound"])).any():
            ax.plot(x, _positive(_finite(series["bound"])), color=BOUND_COLOUR, linewidth=1.6,
                    linestyle="--", label="bound")
        _log_axes(ax)
        ax.set_xlabel("iteration")
        ax.set_ylabel(series.get("label") or metric or "metric")
        ax.set_title(title or "Measured metric against the bound")
        ax.legend(loc="best")
    return fig


def _log_axes(ax, x: bool = True, y: bool = True) -> None:
    """Log scales where the data allow it (positive, finite), linear otherwise."""
    for axis, on in (("x", x), ("y", y)):
        if not on:
            continue
        data = []
        for line in ax.get_lines():
            data.append(np.asarray(line.get_xdata() if axis == "x" else line.get_ydata(), dtype=float))
        vals = np.concatenate(data) if data else np.array([])
        vals = vals[np.isfinite(vals)]
        if vals.size and np.all(vals > 0):
            set_log_scale(ax, axis, span=float(vals.max() / vals.min()))


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _pow10_label(value: float, _pos=None) -> str:
    """Tick label ``10⁻³`` in plain Unicode (mathtext would dominate the drawing time)."""
    if value <= 0 or not math.isfinite(value):
        return ""
    exponent = math.log10(value)
    if abs(exponent - round(exponent)) > 1e-9:
        return f"{value:g}"
    e = int(round(exponent))
    if 0 <= e <= 2:
        return f"{10 ** e:d}"
    return "10" + str(e).translate(_SUPERSCRIPT)


def set_log_scale(ax, axis: str, span: float = math.inf) -> None:
    """Log scale on ``axis`` with decade ticks (1-2-5 ticks when the data ``span``, max/min, is
    under ~1.5 decades; linear axis under half a decade), Unicode labels, no minor ticks."""
    if span < 3:  # less than half a decade: a linear axis reads better
        return
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    target = ax.xaxis if axis == "x" else ax.yaxis
    subs = (1.0, 2.0, 5.0) if span < 30 else (1.0,)
    target.set_major_locator(LogLocator(base=10.0, subs=subs, numticks=8))
    target.set_major_formatter(FuncFormatter(_pow10_label))
    target.set_minor_locator(NullLocator())


def sweep_figure(sweep: list[dict]) -> Figure | None:
    """measured/bound ratio against tau (one line per worker count) and against workers
    (one line per tau); ``None`` when the sweep has no ratio to show."""
    pts = [p for p in sweep if p["ratio"] is not None and math.isfinite(p["ratio"])]
    if not pts:
        return None
    # A panel only where its x variable takes at least two values.
    panels = [k for k in ("tau", "workers") if len({p[k] for p in pts if p[k] is not None}) >= 2]
    if not panels:
        return None
    with mpl.rc_context(STYLE):
        fig, axes = _new_figure(ncols=len(panels))
        for ax, xkey in zip(axes, panels, strict=False):
            gkey = "workers" if xkey == "tau" else "tau"
            groups = sorted({p[gkey] for p in pts if p[xkey] is not None},
                            key=lambda g: (g is None, g if g is not None else 0))
            for i, g in enumerate(groups):
                sel = sorted((p for p in pts if p[gkey] == g and p[xkey] is not None), key=lambda p: p[xkey])
                label = f"{'workers' if gkey == 'workers' else 'τ'} = {_fmt_num(g)}" if g is not None else None
                ax.plot([p[xkey] for p in sel], [p["ratio"] for p in sel], marker="o", markersize=3.5,
                        linewidth=1.3, color=PALETTE[i % len(PALETTE)], label=label)
            ax.axhline(1.0, color=BOUND_COLOUR, linestyle="--", linewidth=1.1, label="bound (ratio 1)")
            ratios = np.array([p["ratio"] for p in pts])
            if np.all(ratios > 0) and ratios.max() / ratios.min() > 20:
                set_log_scale(ax, "y")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("staleness bound τ" if xkey == "tau" else "workers")
            ax.set_ylabel("measured / bound")
            ax.set_title(f"Ratio against {'τ' if xkey == 'tau' else 'workers'}")
            if len(groups) <= 8:
                ax.legend(loc="best")
    return fig


def staleness_figure(per_worker: dict[str, dict[str, list[float]]], title: str | None = None,
                     max_lines: int = 8) -> Figure | None:
    """Staleness distribution per worker: step histograms (≤ ``max_lines`` workers) or a
    worker × staleness heat map (more workers). Fractions of each worker's updates."""
    if not per_worker:
        return None
    smax = int(max(max(h["values"], default=0) for h in per_worker.values()))
    width = max(1, math.ceil((smax + 1) / 60))  # at most ~60 bins
    edges = np.arange(0, smax + width + 1, width, dtype=float)
    workers = list(per_worker)
    with mpl.rc_context(STYLE):
        fig, (ax,) = _new_figure()
        matrix = []
        for w in workers:
            h = per_worker[w]
            counts, _ = np.histogram(h["values"], bins=edges, weights=h["counts"])
            total = counts.sum()
            matrix.append(counts / total if total else counts)
        if len(workers) <= max_lines:
            for i, (w, frac) in enumerate(zip(workers, matrix, strict=False)):
                ax.stairs(frac, edges - 0.5 * width, color=PALETTE[i % len(PALETTE)], linewidth=1.4,
                          label=f"worker {w}")
            ax.set_ylabel("fraction of the worker's updates")
            ax.legend(loc="best", ncols=2 if len(workers) > 4 else 1)
        else:
            mesh = ax.pcolormesh(edges - 0.5 * width, np.arange(len(workers) + 1), np.array(matrix),
                                 cmap="viridis", shading="flat")
            ax.set_yticks(np.arange(len(workers)) + 0.5, labels=workers if len(workers) <= 24 else None)
            ax.set_ylabel("worker")
            ax.grid(False)
            fig.colorbar(mesh, ax=ax, label="fraction")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("staleness (updates)")
        ax.set_title(title or "Staleness per worker")
    return fig


def backend_staleness_figure(by_backend: dict[str, dict[int, float]]) -> Figure | None:
    """Staleness distribution pooled per backend (fractions), one step line per backend."""
    if not by_backend:
        return None
    smax = max(max(h) for h in by_backend.values())
    width = max(1, math.ceil((smax + 1) / 60))
    edges = np.arange(0, smax + width + 1, width, dtype=float)
    with mpl.rc_context(STYLE):
        fig, (ax,) = _new_figure()
        fracs = []
        for i, (backend, hist) in enumerate(by_backend.items()):
            counts, _ = np.histogram(list(hist), bins=edges, weights=list(hist.values()))
            total = counts.sum()
            frac = counts / total if total else counts
            fracs.append(frac[frac > 0])
            ax.stairs(frac, edges - 0.5 * width, color=PALETTE[i % len(PALETTE)], linewidth=1.5,
                      label=backend)
        positive = np.concatenate(fracs) if fracs else np.array([])
        if positive.size:
            set_log_scale(ax, "y", span=float(positive.max() / positive.min()))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("staleness (updates)")
        ax.set_ylabel("fraction of updates")
        ax.set_title("Staleness per backend (all checks pooled)")
        ax.legend(loc="best")
    return fig


def throughput_figure(speedup: list[dict]) -> Figure | None:
    """Measured speed-up against workers, with the ideal linear speed-up for reference."""
    pts = [p for p in speedup if p["speedup"] is not None]
    if not pts:
        return None
    with mpl.rc_context(STYLE):
        fig, (ax,) = _new_figure()
        w = [p["workers"] for p in pts]
        ax.plot(w, w, color="#949494", linestyle=":", linewidth=1.1, label="ideal (linear)")
        ax.plot(w, [p["speedup"] for p in pts], marker="o", markersize=4, color=MEASURED_COLOUR,
                linewidth=1.6, label="measured")
        paper = [p for p in speedup if p.get("paper") is not None]
        if paper:
            ax.plot([p["workers"] for p in paper], [p["paper"] for p in paper], marker="s",
                    markersize=5, linestyle="none", color="#d55e00", label="paper")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("workers")
        ax.set_ylabel("speed-up over 1 worker")
        ax.set_title("Speed-up against workers")
        ax.legend(loc="best")
    return fig


def trace_curves_figure(curves: dict, title: str | None = None) -> Figure | None:
    """Binned quantiles (median, 10–90 % band) of loss and ‖∇f‖² from the trace, log axes."""
    if not curves:
        return None
    labels = {"loss": "loss f(x)", "grad_norm_sq": "‖∇f(x)‖²"}
    names = [c for c in ("loss", "grad_norm_sq") if c in curves]
    with mpl.rc_context(STYLE):
        fig, axes = _new_figure(ncols=len(names))
        for i, (ax, name) in enumerate(zip(axes, names, strict=False)):
            df = curves[name]
            colour = PALETTE[i % len(PALETTE)]
            ax.fill_between(df["update"], _positive(df["q10"].to_numpy()), _positive(df["q90"].to_numpy()),
                            color=colour, alpha=0.22, linewidth=0, label="10–90 %")
            ax.plot(df["update"], _positive(df["q50"].to_numpy()), color=colour, linewidth=1.5, label="median")
            _log_axes(ax)
            ax.set_xlabel("update")
            ax.set_ylabel(labels[name])
            ax.set_title(f"{labels[name]} over the trace")
            ax.legend(loc="best")
        if title:
            fig.suptitle(title)
    return fig


def _fmt_num(x) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return f"{x:g}"


def _place_axis_labels(fig: Figure) -> None:
    """Put axis labels at fixed offsets (inches) from the axes instead of measuring every tick
    label, which is what dominates drawing time. Tick labels here are at most ~5 characters."""
    fw, fh = fig.get_size_inches()
    for ax in fig.axes:
        if ax.yaxis.get_label_position() != "left" or ax.xaxis.get_label_position() != "bottom":
            continue  # colorbars keep automatic placement
        pos = ax.get_position()
        ax.yaxis.set_label_coords(-0.5 / (pos.width * fw), 0.5)
        ax.xaxis.set_label_coords(0.5, -0.3 / (pos.height * fh))


_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^)"]+)')


def to_svg(fig: Figure, prefix: str) -> str:
    """Inline SVG for ``fig``: deterministic bytes, ids prefixed with ``prefix``.

    The XML declaration and DOCTYPE are dropped (the SVG is embedded in HTML).
    """
    _place_axis_labels(fig)
    buf = io.StringIO()
    with mpl.rc_context(STYLE):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = _REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", text)
    # Let CSS size the figure; keep the viewBox for the aspect ratio.
    text = re.sub(r'^<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 class="fig"', text, count=1)
    return text.strip()
