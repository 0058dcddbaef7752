"""Figure of an ``oracle`` record: the exact expected trajectory against the measured band.

One panel per metric the check decided (``record["oracle"]["bands"]``: f(x_k) - f* and
||grad f(x_k)||^2): the measured mean over seeds with its simultaneous band (the one the verdict
used) and the exact expectation as a line; the first point outside the band (a FAIL) is marked.
Log-log axes, like every trajectory figure of the report. Pure: record data in, Figure out.
"""

from __future__ import annotations

import matplotlib as mpl

from .figures import (
    BOUND_COLOUR,
    MEASURED_COLOUR,
    STYLE,
    WIDTH,
    _finite,
    _log_axes,
    _new_figure,
    _positive,
)

LABELS = {"loss": "f(x_k) - f*", "grad_norm_sq": "||grad f(x_k)||^2"}


def oracle_figure(oracle: dict):
    """The figure for ``record["oracle"]``, or None when it holds no bands (e.g. a diverged run)."""
    bands = (oracle or {}).get("bands") or {}
    if not bands:
        return None
    first = oracle.get("first_outside") or {}
    with mpl.rc_context(STYLE):
        fig, axes = _new_figure(ncols=len(bands), width=WIDTH * min(len(bands), 2))
        for ax, (metric, b) in zip(axes, bands.items(), strict=False):
            x = _finite(b["update"])
            ax.fill_between(x, _positive(_finite(b["lo"])), _positive(_finite(b["hi"])),
                            color=MEASURED_COLOUR, alpha=0.22, linewidth=0,
                            label="measured band (simultaneous)")
            ax.plot(x, _positive(_finite(b["mean"])), color=MEASURED_COLOUR, linewidth=1.4,
                    label="measured (mean)")
            ax.plot(x, _positive(_finite(b["exact"])), color=BOUND_COLOUR, linewidth=1.6,
                    linestyle="--", label="exact expectation")
            if first.get("metric") == metric:
                ax.plot([first["after_updates"]], [first["exact"]], marker="o", color="black",
                        linestyle="none", label="first point outside")
            _log_axes(ax)
            ax.set_xlabel("updates")
            ax.set_ylabel(LABELS.get(metric, metric))
            ax.legend(loc="best")
        axes[0].set_title("Exact oracle: expectation against the measured band")
    return fig


__all__ = ["oracle_figure"]
