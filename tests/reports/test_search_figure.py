"""The worst-case search figure: torch-free, two panels, the worst circled, None when empty."""

from __future__ import annotations

from asyncbound.reports import figures
from asyncbound.reports.search_figure import search_figure, search_frame


def entries():
    out = []
    for i, (fam, tau, step, ratio) in enumerate([("uniform", 4, 0.5, 0.3), ("adversarial", 12, 0.9, 0.6),
                                                 ("pareto", 2, 0.4, 0.1), ("virtual", 4, 0.8, None)]):
        out.append({"axes": {"problem": "quadratic" if i % 2 else "huber", "delay_family": fam, "tau": tau,
                             "eta_over_eta_max": step},
                    "base_seed": 10_000_000 + 1000 * i, "verdict": "PASS" if ratio else "NOT_APPLICABLE",
                    "badness": None if ratio is None else [0, ratio - 1.0], "delay": f"{fam}:{tau}"})
    return out


def test_frame_reads_the_ratio_back_from_the_ranking():
    f = search_frame(entries())
    assert list(f["ratio"].round(6)[:3]) == [0.3, 0.6, 0.1] and f["ratio"].isna().iloc[3]


def test_figure_has_two_panels_and_circles_the_worst():
    e = entries()
    fig = search_figure(e, {"screening": e[1]})
    assert fig is not None and len(fig.axes) == 2
    svg = figures.to_svg(fig, "s")
    assert svg.startswith("<svg") and "worst" in svg and svg == figures.to_svg(search_figure(e, {"screening": e[1]}), "s")


def test_nothing_to_draw_is_none():
    assert search_figure([]) is None
    assert search_figure([entries()[3]]) is None


def test_report_shows_the_search_the_reproduce_line_and_the_side_by_side():
    from asyncbound import reports
    from tests.reports.fixtures import records

    rec = dict(records()[0])
    e = entries()
    rec.update(search=e, worst={"axes": e[1]["axes"], "screening": e[1]},
               reproduce="python -m asyncbound.checks.search --reproduce '{}'",
               diverges_where_baseline_converges=[{"axes": e[0]["axes"], "base_seed": 0,
                                                   "baseline": {"algorithm": "hogwild_sgd",
                                                                "verdict": "PASS"}}])
    html = reports.render([rec])
    assert "Worst-case search" in html and "asyncbound.checks.search --reproduce" in html
    assert "Diverges where the algorithm it extends converges" in html and "hogwild_sgd" in html
