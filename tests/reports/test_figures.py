"""Figure builders: seaborn-drawn, themed locally (global rcParams untouched), pure and
byte-deterministic, and the numbers they draw are the numbers they were given."""

from __future__ import annotations

import copy

import matplotlib as mpl
import numpy as np
import pytest
from asyncbound.reports import figures, summarise

from tests.reports.fixtures import records


def _inputs() -> dict:
    recs = records()
    series = next(r["series"] for r in recs if r.get("series"))
    sweep = next(r["sweep"] for r in recs if r.get("sweep"))
    per_worker = next(r["staleness"]["per_worker"] for r in recs if (r.get("staleness") or {}).get("per_worker"))
    rng = np.random.default_rng(0)
    upd, seed = np.tile(np.arange(500), 3), np.repeat(np.arange(3), 500)
    loss = 1.0 / (1.0 + upd / 50.0) * np.exp(rng.normal(0.0, 0.3, upd.size))
    return {
        "series": (figures.series_figure, (series,)),
        "sweep": (figures.sweep_figure, (sweep,)),
        "staleness": (figures.staleness_figure, (per_worker,)),
        "heatmap": (figures.staleness_figure, ({str(w): per_worker["0"] for w in range(12)},)),
        "backend": (figures.backend_staleness_figure, ({"reference": {0: 5.0, 1: 3.0}, "processes": {0: 1.0, 3: 1.0}},)),
        "throughput": (figures.throughput_figure, ([{"workers": w, "speedup": s} for w, s in ((1, 1.0), (2, 1.8), (4, 3.0))],)),
        "trace": (figures.trace_curves_figure, ({"loss": summarise.seed_binned_means(upd, loss, seed, n_bins=30)},)),
    }


INPUTS = _inputs()


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_global_rcparams_unchanged_and_svg_deterministic(name):
    build, args = INPUTS[name]
    before = copy.deepcopy(dict(mpl.rcParams))
    frozen = copy.deepcopy(args)
    first = figures.to_svg(build(*args), "a")
    assert dict(mpl.rcParams) == before, "a figure changed the global matplotlib rcParams"
    assert figures.to_svg(build(*args), "a") == first
    assert "DejaVu Sans" in first and 'id="a-' in first
    assert repr(args) == repr(frozen), "a figure builder mutated its input"


def test_the_theme_is_applied_inside_and_only_inside():
    outside = mpl.rcParams["axes.titlesize"], mpl.rcParams["svg.hashsalt"]
    with figures.theme():
        assert mpl.rcParams["svg.hashsalt"] == "asyncbound"
        assert mpl.rcParams["axes.titlesize"] == figures.STYLE["axes.titlesize"]
        assert mpl.rcParams["axes.facecolor"] == "white"  # seaborn's whitegrid style
    assert (mpl.rcParams["axes.titlesize"], mpl.rcParams["svg.hashsalt"]) == outside


def test_no_pyplot_figure_is_left_behind():
    import matplotlib.pyplot as plt

    for build, args in INPUTS.values():
        figures.to_svg(build(*args), "p")
    assert plt.get_fignums() == []


def test_staleness_histogram_normalises_each_worker_on_its_own():
    per_worker = {"0": {"values": [0, 1], "counts": [9, 1]}, "1": {"values": [2], "counts": [1000]}}
    fig = figures.staleness_figure(per_worker)
    (ax,) = fig.axes
    tops = sorted(round(float(np.nanmax(line.get_ydata())), 6) for line in ax.get_lines())
    assert tops == [0.9, 1.0]  # worker 0: 9 of 10 updates at 0; worker 1: all at 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["worker 0", "worker 1"]


def test_trace_band_is_across_seeds_and_the_line_is_their_mean():
    upd = np.tile(np.arange(4), 3)
    seed = np.repeat([0, 1, 2], 4)
    loss = np.repeat([1.0, 2.0, 3.0], 4)  # constant per seed: the mean is 2, the spread is the seeds'
    curve = summarise.seed_binned_means(upd, loss, seed, n_bins=2)
    assert set(curve.columns) == {"update", "seed", "value"} and curve["seed"].nunique() == 3
    fig = figures.trace_curves_figure({"loss": curve})
    (ax,) = fig.axes
    line = ax.get_lines()[0]
    assert np.allclose(line.get_ydata(), 2.0)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    se = np.std([1.0, 2.0, 3.0], ddof=1) / np.sqrt(3)
    assert band.min() == pytest.approx(2 - 2 * se) and band.max() == pytest.approx(2 + 2 * se)
    assert ax.get_legend().get_texts()[0].get_text() == "mean of 3 seeds"


def test_sweep_draws_one_hue_per_group_and_the_bound_line():
    sweep = [{"tau": t, "workers": w, "ratio": 0.1 * (t + 1) * w} for t in (0, 2, 4) for w in (1, 2)]
    fig = figures.sweep_figure(sweep)
    assert len(fig.axes) == 2
    labels = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes]
    assert labels[0] == ["bound (ratio 1)", "workers = 1", "workers = 2"]
    assert labels[1] == ["bound (ratio 1)", "τ = 0", "τ = 2", "τ = 4"]
