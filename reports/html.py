"""Records -> one self-contained HTML string / file.

Pipeline: validated records -> trace summaries (:mod:`reports.summarise`) -> figures
(:mod:`reports.figures`, inline SVG) -> one jinja2 template with autoescape
(``templates/report.html.j2``, package data). Only SVG produced by :mod:`reports.figures` and
MathML re-serialised by :mod:`reports.mathml` are marked safe; every text from a record is
escaped. No scripts, no external assets; the same records give the same bytes.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from asyncbound.reports import figures, summarise, tables
from asyncbound.reports.audit import AUDIT_SCHEMA, audit_section
from asyncbound.reports.mathml import sanitize_mathml
from asyncbound.reports.records import (
    Record,
    RecordError,
    anchor,
    as_record,
    load_records,
    load_run,
    validate_run,
)
from markupsafe import Markup

from asyncbound._files import atomic_write_text

log = logging.getLogger(__name__)

TEMPLATE = "report.html.j2"


def _load_template(name: str) -> str:
    return importlib.resources.files("asyncbound.reports").joinpath("templates", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The jinja2 environment (autoescape on for every template)."""
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        autoescape=jinja2.select_autoescape(("html", "j2"), default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = tables.fmt
    return env


def _figure(fig, prefix: str, caption: str) -> dict[str, Any] | None:
    if fig is None:
        return None
    wide = len(fig.axes) > 1 and fig.get_figwidth() > figures.WIDTH + 1
    return {"caption": caption, "svg": Markup(figures.to_svg(fig, prefix)), "wide": wide}


def check_context(record: Record, prefix: str, summary: summarise.TraceSummary | None = None,
                  with_traces: bool = True) -> dict[str, Any]:
    """Everything the template shows of one check (strings/numbers; SVG and MathML as Markup)."""
    d = record.data
    b = d["bound"]
    if summary is None and with_traces:
        summary = summarise.summarise_traces(record)
    mathml = sanitize_mathml(b.get("mathml"))
    staleness = (d.get("staleness") or {}).get("per_worker") or (summary.staleness if summary else {})
    staleness_from = "record" if (d.get("staleness") or {}).get("per_worker") else ("trace" if staleness else None)

    figs = []
    metric = b.get("metric") or b.get("metric_id")
    if d.get("test") == "oracle" and (d.get("oracle") or {}).get("bands"):
        from .oracle_figures import oracle_figure

        figs.append(_figure(oracle_figure(d["oracle"]), f"{prefix}-oracle",
                            "Exact expectation (dashed) against the measured mean and the "
                            "simultaneous band the verdict used, log axes."))
    elif d.get("series"):
        figs.append(_figure(figures.series_figure(d["series"], metric=metric),
                            f"{prefix}-series", "Measured metric (mean, confidence band) against the bound, log axes."))
    if d.get("sweep"):
        figs.append(_figure(figures.sweep_figure(d["sweep"]), f"{prefix}-sweep",
                            "Measured/bound ratio across the sweep (dashed: ratio 1, the bound)."))
    if d.get("search"):
        from asyncbound.reports.search_figure import search_figure

        figs.append(_figure(search_figure(d["search"], d.get("worst")), f"{prefix}-search",
                            f"Worst-case search: measured/bound of the {len(d['search'])} screened "
                            "configurations (circled: the worst, decided on fresh seeds; crosses: "
                            "no claim there; dashed: the bound)."))
    if staleness:
        figs.append(_figure(figures.staleness_figure(staleness, title=f"Staleness per worker ({d['backend']})"),
                            f"{prefix}-stale", f"Staleness distribution per worker, from the {staleness_from}."))
    if d.get("throughput") and d["throughput"]["speedup"]:
        figs.append(_figure(figures.throughput_figure(d["throughput"]["speedup"]), f"{prefix}-speed",
                            "Speed-up against the number of workers (dotted: linear)."))
    if summary and summary.curves:
        n = summary.rows
        figs.append(_figure(figures.trace_curves_figure(summary.curves), f"{prefix}-trace",
                            f"Trace summary: mean over seeds and ±2 standard errors across seeds, per "
                            f"log-spaced bin of updates ({n:,} rows summarised)."))
    figs = [f for f in figs if f is not None]

    ce_rows, ce_text = tables.counterexample_text(d.get("counterexample"))
    measured = d.get("measured")
    updates_per_s = (d.get("throughput") or {}).get("updates_per_s")
    return {
        "anchor": anchor(d["check_id"]),
        "d": d,
        "bound": b,
        "provenance": tables.provenance_label(b.get("provenance")),
        "mathml": Markup(mathml) if mathml else None,
        "measured": measured,
        "constants": [
            {"name": k, "value": tables.fmt(c["value"]) if not isinstance(c["value"], str) else c["value"],
             "origin": c.get("origin") or "—", "how": c.get("how") or ""}
            for k, c in d["constants"].items()
        ],
        "conditions": d["conditions"],
        "config": tables.config_rows(d["config"]),
        "figures": figs,
        "summary": summary,
        "updates_per_s": updates_per_s if updates_per_s is not None else (summary.updates_per_s if summary else None),
        "ce_rows": ce_rows,
        "ce_text": ce_text,
        "ratio_class": tables._ratio_class(d),
        "div_rows": tables.config_rows(d["divergence"]) if d.get("divergence") else [],
        "reproduce": d.get("reproduce"),
        "side_by_side": [
            {"config": ", ".join(f"{k}={tables.fmt(v) if isinstance(v, float) else v}"
                                 for k, v in (e.get("axes") or {}).items()),
             "baseline": (e.get("baseline") or {}).get("algorithm"),
             "baseline_verdict": (e.get("baseline") or {}).get("verdict")}
            for e in (d.get("diverges_where_baseline_converges") or [])],
    }


#: the check kinds (record field ``test``, CONTRACTS §9) in the order the report shows them,
#: each in its own section; records without the field are ``bound`` checks
KIND_ORDER = ("conformance", "lemma", "oracle", "bound", "study")


def _kind_rank(d: Mapping[str, Any]) -> int:
    kind = d.get("test") or "bound"
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def render(records: Iterable[Record | Mapping[str, Any]], run_info: Mapping[str, Any] | None = None,
           *, title: str = "asyncbound report", base_dir: str | Path | None = None,
           audits: Iterable[Mapping[str, Any]] = ()) -> str:
    """The HTML report for ``records`` (validated :class:`Record`s or raw record mappings).

    ``run_info`` is the content of ``run.json`` (validated here) for the reproducibility
    header. ``base_dir`` is where raw mappings' ``trace_files`` are relative to.
    """
    recs = sorted((as_record(r, base_dir) for r in records),
                  key=lambda r: (_kind_rank(r.data), r.check_id))
    seen: set[str] = set()
    for r in recs:
        if r.check_id in seen:
            raise RecordError(f"{r.source}: field 'check_id': {r.check_id!r} is used by two records")
        seen.add(r.check_id)
    run = validate_run(run_info, "run.json") if run_info is not None else None

    checks = []
    backend_hist: list[tuple[str, dict]] = []
    for i, r in enumerate(recs):
        summary = summarise.summarise_traces(r)
        ctx = check_context(r, prefix=f"f{i}", summary=summary)
        checks.append(ctx)
        per_worker = (r.data.get("staleness") or {}).get("per_worker") or (summary.staleness if summary else {})
        if per_worker:
            backend_hist.append((r.data["backend"], per_worker))
    overview = []
    by_backend = summarise.staleness_by_backend(backend_hist)
    if by_backend:
        overview.append(_figure(figures.backend_staleness_figure(by_backend), "ov-stale",
                                "Staleness distribution per backend, pooled over every check that measured it."))
    html = environment().get_template(TEMPLATE).render(
        title=title,
        run=run,
        counts=tables.verdict_counts(recs),
        rows=tables.index_rows(recs),
        checks=checks,
        overview=[f for f in overview if f is not None],
        audits=[Markup(audit_section(a)) for a in audits],  # escaped inside audit_section
        standalone=True,
    )
    log.info("rendered %d checks, %d characters", len(recs), len(html))
    return html


def write_report(result_dir: str | Path, out: str | Path | None = None) -> Path:
    """Read ``result_dir`` (records, run.json, traces), write the HTML report, return its path.

    ``out`` defaults to ``result_dir/report.html``. The file is written to a temporary file in
    the same directory and moved into place, so a failure never leaves a half-written report.
    """
    result_dir = Path(result_dir)
    records = load_records(result_dir)
    run = load_run(result_dir)
    html = render(records, run, audits=load_audits(result_dir))
    out = Path(out) if out is not None else result_dir / "report.html"
    atomic_write_text(out, html)
    log.info("wrote %s", out)
    return out


def load_audits(result_dir: str | Path) -> list[dict[str, Any]]:
    """``audit.json`` files (``asyncbound audit --out RESULT_DIR``) in ``result_dir`` or one
    level below it; an unreadable one is skipped with a warning (the report still renders)."""
    d = Path(result_dir)
    out = []
    for p in sorted([d / "audit.json", *d.glob("*/audit.json")]):
        if not p.is_file():
            continue
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("skipping %s: %s", p, exc)
            continue
        if isinstance(data, dict) and data.get("schema") == AUDIT_SCHEMA:
            out.append(data)
    return out


class CheckResultView:
    """Notebook view of one check: ``CheckResultView(record)`` displays as HTML in Jupyter.

    ``record`` is a :class:`Record` or a raw record mapping; ``base_dir`` locates its traces.
    """

    def __init__(self, record: Record | Mapping[str, Any], base_dir: str | Path | None = None):
        self.record = as_record(record, base_dir)

    def _repr_html_(self) -> str:
        ctx = check_context(self.record, prefix="v-" + anchor(self.record.check_id))
        return environment().get_template("check.html.j2").render(c=ctx, standalone=False)

    def __repr__(self) -> str:
        d = self.record.data
        return f"CheckResultView({d['check_id']!r}, verdict={d['verdict']}, ratio={tables.fmt(d.get('ratio'))})"
