"""The worst-case search of a bound check, drawn (issue 12): every screened configuration's
measured/bound ratio against the step (eta/eta_max, or the factor of the configured step for a
bound with no condition on eta) and against the staleness bound tau, one hue per delay family,
one marker per problem family; the deciding (worst) configuration circled; configurations the
theorem makes no claim about (NOT_APPLICABLE, DIVERGED with measured constants) drawn as crosses
at the top edge. For a proxy (a slope, no positive bound value) the y value is
``1 - margin/|bound|``, the same ranking the search uses (1: on the bound).

Torch-free (reports never import torch, implementations or checks): input is the record's
``search`` list and ``worst`` dict, JSON as written.
"""

from __future__ import annotations

import math

import pandas as pd
import seaborn as sns
from asyncbound.reports.figures import (
    BOUND_COLOUR,
    PALETTE,
    _labels,
    _new_figure,
    _untitled_legend,
    theme,
)
from matplotlib.figure import Figure

MARKERS = ("o", "s", "^", "D", "v", "P")


def _y(entry: dict) -> float | None:
    b = entry.get("badness")
    if not b or b[1] is None or not math.isfinite(b[1]):
        return None
    return 1.0 + float(b[1])


def search_frame(search: list[dict]) -> pd.DataFrame:
    """One row per screened configuration: step axis, tau, delay family, problem, ratio, claim."""
    rows = []
    for e in search:
        ax = e.get("axes") or {}
        step = ax.get("eta_over_eta_max", ax.get("lr_factor"))
        rows.append({"step": 0.5 if ax.get("anchor") and step is None else step,
                     "tau": e.get("tau_max") if ax.get("tau") is None else ax.get("tau"),
                     "delay": ax.get("delay_family") or str(e.get("delay", "")).split(":")[0],
                     "problem": ax.get("problem") or e.get("problem"),
                     "ratio": _y(e), "verdict": e.get("verdict"), "base_seed": e.get("base_seed")})
    return pd.DataFrame(rows)


def search_figure(search: list[dict] | None, worst: dict | None = None) -> Figure | None:
    """Two panels (ratio against the step and against tau); None when nothing has a ratio."""
    if not search:
        return None
    frame = search_frame(search)
    ok = frame[frame["ratio"].notna()]
    if ok.empty:
        return None
    step_name = ("η / η_max" if any("eta_over_eta_max" in (e.get("axes") or {}) for e in search)
                 else "step / configured step")
    worst_seed = ((worst or {}).get("screening") or {}).get("base_seed")
    delays = list(dict.fromkeys(ok["delay"]))
    problems = list(dict.fromkeys(ok["problem"]))
    palette = {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(delays)}
    markers = {p: MARKERS[i % len(MARKERS)] for i, p in enumerate(problems)}
    top = float(ok["ratio"].max())
    with theme():
        fig, axes = _new_figure(ncols=2)
        for ax, x, label in zip(axes, ("step", "tau"), (step_name, "staleness bound τ"), strict=True):
            _labels(ax, label, "measured / bound")
            # labelled artists first: seaborn's legend lists those drawn before it
            ax.axhline(1.0, color=BOUND_COLOUR, linestyle="--", linewidth=1.1, label="bound")
            sel = ok[ok[x].notna()]
            bad = frame[frame["ratio"].isna() & frame[x].notna()]
            if len(bad):
                ax.scatter(bad[x], [max(top, 1.0) * 1.08] * len(bad), marker="x", color="#949494",
                           s=22, label="no claim")
            if worst_seed is not None:
                w = ok[(ok["base_seed"] == worst_seed) & ok[x].notna()]
                ax.scatter(w[x], w["ratio"], s=140, facecolors="none", edgecolors="#000000",
                           linewidths=1.0, label="worst (decided)")
            sns.scatterplot(data=sel, x=x, y="ratio", hue="delay", hue_order=delays, palette=palette,
                            style="problem", style_order=problems, markers=markers, s=28,
                            linewidth=0, ax=ax, legend=x == "step")
            ax.set_title(f"Ratio against {'the step' if x == 'step' else 'τ'}")
            _untitled_legend(ax)
    return fig
