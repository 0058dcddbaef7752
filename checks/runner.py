"""Run a list of checks: progress on stderr (one line per check), a record per check, traces as
Parquet, the run description, and the HTML report. Shared by ``verify`` and ``check``."""

from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path

from asyncbound.checks import records
from asyncbound.checks.engine import CheckSpec, run_check
from asyncbound.checks.stats import ALPHA_SUITE, n_statistical, per_check_alpha
from asyncbound.checks.verdicts import FAILING, Verdict

log = logging.getLogger(__name__)


def _write_trace(out: Path, cid: str, trace) -> str | None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
        from asyncbound.implementations.trace import COLUMNS

        d = out / "traces"
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"{records.safe_id(cid)}.parquet"
        table = pa.table({c: trace.columns[c] for c in COLUMNS})
        pq.write_table(table, path, compression="zstd")
        return f"traces/{path.name}"
    except Exception as exc:  # noqa: BLE001 - a record without its trace is still a record
        log.warning("could not write the trace of %s: %s", cid, exc)
        return None


def error_record(spec: CheckSpec, exc: BaseException) -> dict:
    from asyncbound import theory

    try:
        from asyncbound.checks.records import bound_record

        b = bound_record(theory.get_bound(spec.bound))
    except Exception:  # noqa: BLE001
        b = {"key": spec.bound}
    unknown = isinstance(exc, ValueError) and "unknown bound" in str(exc)
    return {
        "check_id": spec.check_id, "algorithm": spec.algorithm_name, "backend": spec.backend,
        "problem": spec.problem, "workers": spec.workers, "bound": b, "config": spec.config(),
        "test": "study" if spec.study else spec.test,
        "verdict": Verdict.NOT_APPLICABLE.value if unknown else Verdict.ERROR.value,
        "reason": (f"the algorithm claims a bound that theory does not define: {exc}" if unknown
                   else f"the check could not run: {type(exc).__name__}: {exc}"),
        "error": "".join(traceback.format_exception_only(type(exc), exc)).strip(),
    }


def run_specs(specs: list[CheckSpec], out_dir, *, alpha_suite: float = ALPHA_SUITE,
              progress=None, keep_traces: bool = True, results: list | None = None,
              record_extra=None) -> list[dict]:
    """Run ``specs`` (Bonferroni: each statistical check at alpha_suite / their number; the
    exact conformance and lemma checks spend none); write records.

    ``progress``, if given, is called with one line per finished check (the CLI prints it on
    stderr); library callers get the same line through logging at INFO level. ``results``,
    if given, is the list the records are appended to as they finish, so a caller that is
    interrupted (``KeyboardInterrupt`` propagates: it is never turned into a record) still
    holds every finished check. ``record_extra(spec)``, if given, returns fields added to that
    check's record (the CLI's ``variant: {path, sha256}``).
    """
    out = Path(out_dir)
    (out / "records").mkdir(parents=True, exist_ok=True)
    alpha = per_check_alpha(n_statistical(specs), alpha_suite)
    results = [] if results is None else results
    n = len(specs)
    for i, spec in enumerate(specs, 1):
        t0 = time.perf_counter()
        try:
            rec = run_check(spec, alpha)
        except Exception as exc:  # noqa: BLE001 - one broken check must not stop the suite
            log.debug("check %s crashed", spec.check_id, exc_info=True)
            rec = error_record(spec, exc)
        rec.setdefault("duration_s", time.perf_counter() - t0)
        rec.setdefault("test", "study" if spec.study else getattr(spec, "test", "bound"))
        traces = rec.pop("_traces", None) or {}
        tr = rec.pop("_trace", None)
        if tr is not None:
            traces = {"": tr, **traces}
        files = []
        if keep_traces:
            for suffix, t in traces.items():
                f = _write_trace(out, rec["check_id"] + (f"--{suffix}" if suffix else ""), t)
                if f:
                    files.append(f)
        rec["trace_files"] = files
        if record_extra is not None:
            rec.update(record_extra(spec) or {})
        records.write_record(out, rec)
        results.append(rec)
        m = rec.get("measured") or {}
        val = m.get("value")
        bv = rec.get("bound_value")
        extra = f" measured={val:.3g} bound={bv:.3g}" if isinstance(val, float) and isinstance(bv, float) else ""
        if rec["verdict"] == Verdict.ERROR.value:  # the exception on the progress line
            extra = f" {(rec.get('error') or rec.get('reason') or '').splitlines()[0][:200]}"
        line = f"[{i}/{n}] {rec['verdict']:<14} {rec['check_id']} ({rec['duration_s']:.1f}s){extra}"
        log.info("%s", line)
        if progress is not None:
            progress(line)
    return results


def verdict_table(results: list[dict]) -> str:
    rows = [("VERDICT", "CHECK", "MEASURED", "BOUND", "PROVENANCE")]
    for r in results:
        m = r.get("measured") or {}
        val = m.get("value")
        bv = r.get("bound_value")
        rows.append((r["verdict"], r["check_id"],
                     f"{val:.4g}" if isinstance(val, (int, float)) else "-",
                     f"{bv:.4g}" if isinstance(bv, (int, float)) else "-",
                     str((r.get("bound") or {}).get("provenance") or "-")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    counts = {}
    for r in results:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    lines.append("")
    lines.append("  ".join(f"{k}: {counts[k]}" for k in records.VERDICTS if k in counts))
    errors = [r for r in results if r.get("error")]
    if errors:
        lines.append(f"{len(errors)} check(s) could not run (ERROR, see their reasons): "
                     + ", ".join(r["check_id"] for r in errors[:5]) + (" ..." if len(errors) > 5 else ""))
    return "\n".join(lines)


def exit_code(results: list[dict]) -> int:
    return 1 if any(Verdict(r["verdict"]) in FAILING for r in results) else 0


def write_report(out_dir, results: list[dict], info: dict) -> Path:
    out = Path(out_dir)
    try:
        from asyncbound import reports

        if hasattr(reports, "write_report"):
            p = reports.write_report(out, out / "index.html")
            return Path(p) if p else out / "index.html"
    except Exception as exc:  # noqa: BLE001 - the records are the product; the page is a view
        log.warning("reports.write_report failed (%s: %s); writing a minimal page", type(exc).__name__, exc)
    return _minimal_page(out, results, info)


def _minimal_page(out: Path, results: list[dict], info: dict) -> Path:
    import html

    intr = info.get("interrupted") or {}
    rows = "".join(
        f"<tr><td>{html.escape(r['verdict'])}</td><td>{html.escape(r['check_id'])}</td>"
        f"<td>{html.escape(str((r.get('bound') or {}).get('provenance')))}</td>"
        f"<td>{html.escape(str(r.get('reason', '')))}</td></tr>" for r in results)
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>asyncbound verify</title></head>"
            f"<body><h1>asyncbound: {html.escape(str(info.get('command')))}</h1>"
            + (f"<p><strong>INTERRUPTED</strong> by {html.escape(str(intr.get('signal')))}: only "
               f"{int(intr.get('checks_done') or 0)} of {int(intr.get('checks_planned') or 0)} "
               "checks ran. This is a partial result, not the verdict of the suite.</p>"
               if info.get("status") == "interrupted" else "") +
            "<table border='1'><tr><th>verdict</th><th>check</th><th>provenance</th><th>reason</th></tr>"
            f"{rows}</table></body></html>")
    p = out / "index.html"
    p.write_text(page, encoding="utf-8")
    return p
