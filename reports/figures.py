"""Pure figure builders: small summarised data in, a ``matplotlib.figure.Figure`` out.

seaborn draws where it is the better tool (axes-level functions on our own Axes): the spread
over seeds of the trace curves (mean and ±2 standard errors across seeds, ``sns.lineplot``), the
panels of a sweep (ratio against tau / workers, one hue per worker count / tau), the staleness
distributions (``sns.histplot`` per worker or per backend, ``sns.heatmap`` for many workers).
A check's own confidence band (the record's ``lo``/``hi``, built by ``checks.stats`` at the
check's alpha) is drawn as given: seaborn would compute a different interval.

Never pyplot, never a global theme: every figure is a fresh ``Figure``, drawn and saved inside
:func:`theme` (seaborn's ``whitegrid`` style and ``paper`` context, then :data:`STYLE`), which
restores every rcParam on exit (tested). :func:`to_svg` turns a figure into an inline ``<svg>``
string that is byte-reproducible (fixed ``svg.hashsalt``, no date, no bootstrap: seaborn's
intervals here are standard errors) and whose element ids carry a prefix, so several figures
can live in one HTML document.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
from collections.abc import Iterator, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
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
    "font.family": "DejaVu Sans",  # after seaborn's style: one font on every machine
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.fontsize": 8.0,
    "legend.title_fontsize": 8.0,
    "legend.frameon": False,
    "path.simplify": True,
    # A fixed title position: automatic placement measures every tick label (slow).
    "axes.titley": 1.02,
}

WIDTH, HEIGHT = 5.6, 3.5


@contextlib.contextmanager
def theme() -> Iterator[None]:
    """The figures' theme for the duration of a ``with`` block only: seaborn's ``whitegrid``
    style and ``paper`` context, then :data:`STYLE`. The outer ``rc_context`` restores every
    rcParam on exit, whatever seaborn's context managers touch."""
    with mpl.rc_context(), sns.axes_style("whitegrid"), sns.plotting_context("paper"), \
            mpl.rc_context(STYLE):
        yield


def _new_figure(ncols: int = 1, width: float | None = None, height: float = HEIGHT) -> tuple[Figure, list]:
    width = width or (WIDTH if ncols == 1 else 5.0 * ncols)
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


def _labels(ax, x: str, y: str) -> None:
    """Axis labels, set BEFORE a seaborn call: seaborn labels an unlabelled axis itself and, to
    decide the label's visibility, computes every tick (which doubled the drawing time)."""
    ax.set_xlabel(x)
    ax.set_ylabel(y)


def _untitled_legend(ax) -> None:
    """seaborn's legend (it also lists the labelled artists drawn before it) without the hue
    variable's name as a title: the entries name themselves."""
    if ax.get_legend() is not None:
        ax.get_legend().set_title(None)


def series_figure(series: dict, metric: str | None = None, title: str | None = None) -> Figure:
    """Measured metric (mean with the check's [lo, hi] band) and the bound over iterations,
    log-log axes. Lines by ``sns.lineplot`` (one hue and dash style per curve)."""
    with theme():
        fig, (ax,) = _new_figure()
        it = _finite(series["iteration"])
        x = np.where(it > 0, it, np.nan)
        if series["lo"] and series["hi"]:
            lo, hi = _positive(_finite(series["lo"])), _positive(_finite(series["hi"]))
            ax.fill_between(x, lo, hi, color=MEASURED_COLOUR, alpha=0.22, linewidth=0,
                            label="confidence band")
        curves = []
        if series["mean"]:
            curves.append(("measured (mean)", _positive(_finite(series["mean"]))))
        if series["bound"] and np.isfinite(_finite(series["bound"])).any():
            curves.append(("bound", _positive(_finite(series["bound"]))))
        _labels(ax, "iteration", series.get("label") or metric or "metric")
        if curves:
            long = pd.DataFrame({"iteration": np.concatenate([x for _ in curves]),
                                 "value": np.concatenate([v for _, v in curves]),
                                 "curve": np.repeat([name for name, _ in curves], len(x))})
            sns.lineplot(data=long, x="iteration", y="value", hue="curve", style="curve",
                         palette={"measured (mean)": MEASURED_COLOUR, "bound": BOUND_COLOUR},
                         dashes={"measured (mean)": "", "bound": (4, 2)}, linewidth=1.6,
                         estimator=None, errorbar=None, sort=False, ax=ax)
        _log_axes(ax)
        ax.set_title(title or "Measured metric against the bound")
        _untitled_legend(ax)
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


def _hue_palette(labels: Sequence[str]) -> dict[str, str]:
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def sweep_figure(sweep: list[dict]) -> Figure | None:
    """measured/bound ratio against tau (one hue per worker count) and against workers (one hue
    per tau), one panel per swept variable; ``None`` when the sweep has no ratio to show."""
    pts = [p for p in sweep if p["ratio"] is not None and math.isfinite(p["ratio"])]
    if not pts:
        return None
    # A panel only where its x variable takes at least two values.
    panels = [k for k in ("tau", "workers") if len({p[k] for p in pts if p[k] is not None}) >= 2]
    if not panels:
        return None
    frame = pd.DataFrame({"tau": [p["tau"] for p in pts], "workers": [p["workers"] for p in pts],
                          "ratio": [float(p["ratio"]) for p in pts]})
    with theme():
        fig, axes = _new_figure(ncols=len(panels))
        for ax, xkey in zip(axes, panels, strict=False):
            gkey = "workers" if xkey == "tau" else "tau"
            sel = frame[frame[xkey].notna()].sort_values([gkey, xkey], na_position="last")
            name = "workers" if gkey == "workers" else "τ"
            sel = sel.assign(group=[f"{name} = {_fmt_num(g)}" for g in sel[gkey]])
            order = list(dict.fromkeys(sel["group"]))
            _labels(ax, "staleness bound τ" if xkey == "tau" else "workers", "measured / bound")
            ax.axhline(1.0, color=BOUND_COLOUR, linestyle="--", linewidth=1.1, label="bound (ratio 1)")
            sns.lineplot(data=sel, x=xkey, y="ratio", hue="group", hue_order=order,
                         palette=_hue_palette(order), marker="o", markersize=3.5, markeredgewidth=0,
                         linewidth=1.3, estimator=None, errorbar=None, sort=True, ax=ax,
                         legend=len(order) <= 8)
            ratios = sel["ratio"].to_numpy()
            if np.all(ratios > 0) and ratios.max() / ratios.min() > 20:
                set_log_scale(ax, "y")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(f"Ratio against {'τ' if xkey == 'tau' else 'workers'}")
            _untitled_legend(ax)
    return fig


def _bins(smax: int) -> tuple[np.ndarray, int]:
    """Bin edges centred on the integers 0..smax (at most ~60 bins) and the bin width."""
    width = max(1, math.ceil((smax + 1) / 60))
    return np.arange(0, smax + width + 1, width, dtype=float) - 0.5 * width, width


def staleness_figure(per_worker: dict[str, dict[str, list[float]]], title: str | None = None,
                     max_lines: int = 8) -> Figure | None:
    """Staleness distribution per worker, fractions of each worker's updates: step histograms
    (``sns.histplot``, one hue per worker, each normalised on its own) for at most ``max_lines``
    workers, a worker × staleness heat map (``sns.heatmap``) for more."""
    if not per_worker:
        return None
    smax = int(max(max(h["values"], default=0) for h in per_worker.values()))
    edges, width = _bins(smax)
    workers = list(per_worker)
    counts = pd.DataFrame({
        "worker": np.concatenate([[w] * len(per_worker[w]["values"]) for w in workers]),
        "staleness": np.concatenate([np.asarray(per_worker[w]["values"], dtype=float) for w in workers]),
        "count": np.concatenate([np.asarray(per_worker[w]["counts"], dtype=float) for w in workers]),
    })
    with theme():
        fig, (ax,) = _new_figure()
        _labels(ax, "staleness (updates)",
                "fraction of the worker's updates" if len(workers) <= max_lines else "worker")
        if len(workers) <= max_lines:
            labels = {w: f"worker {w}" for w in workers}
            data = counts.assign(worker=counts["worker"].map(labels))
            order = [labels[w] for w in workers]
            sns.histplot(data=data, x="staleness", weights="count", hue="worker", hue_order=order,
                         palette=_hue_palette(order), bins=edges.tolist(), stat="probability",
                         common_norm=False, element="step", fill=False, linewidth=1.4, ax=ax)
            if len(workers) > 4:
                sns.move_legend(ax, "best", ncols=2, title=None, frameon=False)
            _untitled_legend(ax)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            matrix = []
            for w in workers:
                h, _ = np.histogram(per_worker[w]["values"], bins=edges, weights=per_worker[w]["counts"])
                matrix.append(h / h.sum() if h.sum() else h)
            cols = [_fmt_num(float(c)) for c in (edges[:-1] + 0.5 * width)]
            # the frame's axis names are the heat map's axis labels (sns.heatmap sets them)
            frame = pd.DataFrame(matrix, index=pd.Index(workers, name="worker"),
                                 columns=pd.Index(cols, name="staleness (updates)"))
            sns.heatmap(frame, cmap="viridis", ax=ax,
                        xticklabels="auto", yticklabels=workers if len(workers) <= 24 else False,
                        cbar_kws={"label": "fraction"})
        ax.set_title(title or "Staleness per worker")
    return fig


def backend_staleness_figure(by_backend: dict[str, dict[int, float]]) -> Figure | None:
    """Staleness distribution pooled per backend (fractions), one step line (hue) per backend."""
    if not by_backend:
        return None
    edges, _ = _bins(max(max(h) for h in by_backend.values()))
    data = pd.DataFrame([{"backend": b, "staleness": float(v), "count": float(c)}
                         for b, hist in by_backend.items() for v, c in hist.items()])
    order = list(by_backend)
    with theme():
        fig, (ax,) = _new_figure()
        _labels(ax, "staleness (updates)", "fraction of updates")
        sns.histplot(data=data, x="staleness", weights="count", hue="backend", hue_order=order,
                     palette=_hue_palette(order), bins=edges.tolist(), stat="probability", common_norm=False,
                     element="step", fill=False, linewidth=1.5, ax=ax)
        fracs = np.concatenate([np.histogram(list(h), bins=edges, weights=list(h.values()))[0]
                                / max(sum(h.values()), 1e-300) for h in by_backend.values()])
        positive = fracs[fracs > 0]
        if positive.size:
            set_log_scale(ax, "y", span=float(positive.max() / positive.min()))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("Staleness per backend (all checks pooled)")
        _untitled_legend(ax)
    return fig


def throughput_figure(speedup: list[dict]) -> Figure | None:
    """Measured speed-up against workers, with the ideal linear speed-up for reference and the
    paper's numbers where a record carries them."""
    pts = [p for p in speedup if p["speedup"] is not None]
    if not pts:
        return None
    data = pd.DataFrame({"workers": [p["workers"] for p in pts], "speedup": [p["speedup"] for p in pts]})
    with theme():
        fig, (ax,) = _new_figure()
        _labels(ax, "workers", "speed-up over 1 worker")
        ax.plot(data["workers"], data["workers"], color="#949494", linestyle=":", linewidth=1.1,
                label="ideal (linear)")
        sns.lineplot(data=data, x="workers", y="speedup", marker="o", markersize=4, color=MEASURED_COLOUR,
                     linewidth=1.6, estimator=None, errorbar=None, label="measured", ax=ax)
        paper = [p for p in speedup if p.get("paper") is not None]
        if paper:  # the paper's reported speed-ups, overlaid (checks/paper_suite)
            ax.plot([p["workers"] for p in paper], [p["paper"] for p in paper], marker="s",
                    markersize=5, linestyle="none", color="#d55e00", label="paper")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("Speed-up against workers")
    return fig


#: the across-seed band of the trace curves: mean ± 2 standard errors (no bootstrap: deterministic)
SEED_BAND = ("se", 2)


def trace_curves_figure(curves: dict, title: str | None = None) -> Figure | None:
    """Loss and ‖∇f‖² over the trace: per log-spaced bin of updates, the mean over seeds with a
    band of ±2 standard errors across seeds (``sns.lineplot``; the bounds speak of expectations,
    so the band is about the mean, not about single runs). ``curves``: column -> DataFrame
    (update, seed, value) of per-seed bin means (``summarise.seed_binned_means``)."""
    if not curves:
        return None
    labels = {"loss": "loss f(x)", "grad_norm_sq": "‖∇f(x)‖²"}
    names = [c for c in ("loss", "grad_norm_sq") if c in curves]
    with theme():
        fig, axes = _new_figure(ncols=len(names))
        for i, (ax, name) in enumerate(zip(axes, names, strict=False)):
            df = curves[name]
            df = df.assign(value=_positive(df["value"].to_numpy(dtype=float)))
            n_seeds = int(df["seed"].nunique())
            _labels(ax, "update", labels[name])
            sns.lineplot(data=df, x="update", y="value", estimator="mean", errorbar=SEED_BAND,
                         color=PALETTE[i % len(PALETTE)], linewidth=1.5, ax=ax,
                         label=f"mean of {n_seeds} seed{'s' if n_seeds != 1 else ''}",
                         err_kws={"alpha": 0.22, "linewidth": 0})
            _log_axes(ax)
            ax.set_title(f"{labels[name]} over the trace")
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
    with theme():
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = _REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", text)
    # Let CSS size the figure; keep the viewBox for the aspect ratio.
    text = re.sub(r'^<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 class="fig"', text, count=1)
    return text.strip()
