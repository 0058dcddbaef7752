"""Rendering: content, determinism, self-containment, escaping, atomic writes, large traces."""

from __future__ import annotations

import re

import pytest
from asyncbound.reports.records import RecordError, anchor

from asyncbound import reports
from tests.reports.fixtures import make_trace, records, write_large


def test_index_lists_every_check_with_verdict_and_link(report_html, result_dir_master):
    recs = reports.load_records(result_dir_master)
    table = report_html[report_html.index('id="verdict-table"'):report_html.index("</table>", report_html.index('id="verdict-table"'))]
    for r in recs:
        assert f'href="#{anchor(r.check_id)}"' in table
        assert f'id="{anchor(r.check_id)}"' in report_html
    for verdict in reports.VERDICTS:
        assert f'class="verdict v-{verdict}"' in table
    assert "PASS: 2" in report_html and "FAIL: 1" in report_html and "DIVERGED: 1" in report_html
    for prov in ("verified", "derived", "reconstructed"):
        assert f"prov-{prov}" in table


def test_sections_show_theorem_constants_conditions_counterexample(report_html):
    assert report_html.count("<math ") >= 4  # MathML rendered where the record has it
    assert r"\Omega\left(\sqrt{\tau L \Delta / T}\right)" in report_html  # LaTeX fallback (escaped text)
    assert "max staleness of the trace" in report_html and ">measured<" in report_html
    assert "eta &lt;= mu/(L**2*tau)" in report_html and 'class="holds-no"' in report_html
    assert "Shrunk counterexample" in report_html and "adversarial:16" in report_html
    assert "0fc5452d1c0ffee" in report_html and "AMD EPYC" in report_html  # reproducibility header


def test_theorem_section_gives_the_cross_check_status(report_html):
    assert "Exact worst case (PEP cross-check): VALID on the full grid" in report_html


def test_every_expected_figure_is_inline_svg(report_html):
    n_svg = report_html.count("<svg ")
    # series x5, sweep x2, staleness x4 (2 from records, 2 from traces... see fixtures), speed-up x1,
    # trace curves x3, overview x1: at least these
    assert n_svg >= 12, n_svg
    assert "<img" not in report_html
    ids = re.findall(r'\bid="([^"]+)"', report_html)
    assert len(ids) == len(set(ids)), "duplicate element ids across inlined figures"


def test_deterministic_bytes(result_dir_master, report_html):
    again = reports.render(reports.load_records(result_dir_master), reports.load_run(result_dir_master))
    assert again == report_html


def test_self_contained(report_html):
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", report_html, re.I)
    assert "<script" not in report_html.lower()
    assert "<link" not in report_html.lower()
    assert "@import" not in report_html and "url(http" not in report_html
    assert "Content-Security-Policy" in report_html


def test_record_text_is_escaped_and_mathml_sanitised():
    rec = records()[0]
    rec["reason"] = "<script>alert(1)</script> & co"
    rec["algorithm"] = '"><img src=x onerror=alert(1)>'
    rec["bound"] = dict(rec["bound"], mathml='<math><mi onclick="alert(1)">x</mi><script>bad()</script>'
                                              '<mtext href="javascript:x">y</mtext></math>')
    html = reports.render([rec])
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "<img" not in html and "onclick" not in html and "javascript:" not in html
    assert "<mi>x</mi>" in html


def test_broken_mathml_falls_back_to_latex():
    rec = records()[0]
    rec["bound"] = dict(rec["bound"], mathml="<math><mi>x</mi", latex=r"x \le 1")
    html = reports.render([rec])
    assert "<math" not in html and r"x \le 1" in html


def test_render_accepts_raw_mappings_and_rejects_invalid():
    assert "<!DOCTYPE html>" in reports.render([records()[3]])
    bad = records()[0]
    del bad["bound"]["key"]
    with pytest.raises(RecordError, match="field 'bound.key'"):
        reports.render([bad])


def test_check_result_view():
    view = reports.CheckResultView(records()[2])
    html = view._repr_html_()
    assert "FAIL" in html and "<svg " in html and "<style>" in html and "<html" not in html
    assert "delayed_sgd" in repr(view)


def test_write_report_default_path_and_no_temp_left(result_dir):
    path = reports.write_report(result_dir)
    assert path == result_dir / "report.html" and path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not list(result_dir.glob(".report.html.*"))


def test_failure_leaves_existing_report_untouched(result_dir):
    out = result_dir / "report.html"
    out.write_text("previous report", encoding="utf-8")
    (result_dir / "records" / "zz.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(RecordError, match="zz.json"):
        reports.write_report(result_dir, out)
    assert out.read_text(encoding="utf-8") == "previous report"
    assert sorted(p.name for p in result_dir.iterdir()) == ["records", "report.html", "run.json", "traces"]


def test_failure_while_writing_leaves_nothing(result_dir, monkeypatch):
    import asyncbound._files as rh  # the one atomic writer reports uses

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rh.os, "replace", boom)
    with pytest.raises(OSError):
        reports.write_report(result_dir, result_dir / "r.html")
    assert not (result_dir / "r.html").exists() and not list(result_dir.glob(".r.html.*"))


def test_missing_trace_file_is_noted_not_fatal(result_dir):
    victim = sorted((result_dir / "traces").glob("*.parquet"))[0]
    victim.unlink()
    html = reports.render(reports.load_records(result_dir))
    assert "(missing)" in html


def test_corrupt_trace_names_the_file(result_dir):
    victim = sorted((result_dir / "traces").glob("*.parquet"))[0]
    victim.write_bytes(b"not parquet at all")
    with pytest.raises(RecordError) as info:
        reports.write_report(result_dir)
    assert victim.name in str(info.value) and "\n" not in str(info.value)


def test_trace_only_staleness_is_computed(tmp_path):
    """A record without a ``staleness`` field gets its histogram from the trace."""
    (tmp_path / "traces").mkdir()
    make_trace(5000, n_workers=3, tau=5).to_parquet(tmp_path / "traces" / "t.parquet")
    rec = dict(records()[3], trace_files=["traces/t.parquet"])
    html = reports.render([rec], base_dir=tmp_path)
    assert "Staleness distribution per worker, from the trace" in html
    assert "max 5" in html


@pytest.mark.slow
def test_million_row_trace_is_summarised(tmp_path):
    """One record over a 1,000,000-row trace: the HTML stays under 400 kB (points are binned)."""
    out = write_large(tmp_path / "big", n_records=1, total_rows=1_000_000)
    path = reports.write_report(out)
    size = path.stat().st_size
    assert size < 400_000, size
    assert "1,000,000 rows summarised" in path.read_text(encoding="utf-8")


def test_sympy_presentation_mathml_renders():
    """sympy writes HTML entities (&InvisibleTimes;) and no <math> wrapper: both are handled."""
    import sympy as sp
    from sympy.printing.mathml import mathml

    L, eta, tau, T = sp.symbols("L eta tau T")
    body = mathml(2 / (eta * T) + eta * L * (1 + 2 * tau), printer="presentation")
    assert "&InvisibleTimes;" in body
    rec = records()[0]
    rec["bound"] = dict(rec["bound"], mathml=f'<math xmlns="http://www.w3.org/1998/Math/MathML">{body}</math>')
    html = reports.render([rec])
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in html
    assert "<mfrac>" in html and "&InvisibleTimes;" not in html


def test_fields_written_by_checks_are_accepted_and_shown():
    """What checks.records actually writes: source as an object, extras, gpu list, None versions."""
    rec = records()[5]
    rec["bound"] = dict(rec["bound"], source={"cite": "Doe 2020, Thm 1", "arxiv": "2001.00001v1"},
                        statement="A statement.", notes="Some notes.", expression="2/(eta*T)")
    rec.update(divergence={"column": "loss", "value": "inf", "update": 1734, "seed": 2},
               incomplete="worker 3 crashed", fairness={"0": 0.25}, error=None,
               staleness={"per_worker": {}, "tau_max": 7, "tau_avg": 1.5, "per_block": {"-1": {"n": 3}}})
    run = {"schema": "asyncbound.run/1", "machine": {"cpu": "x86_64", "gpu": ["H200", "H200"], "cores": 16,
                                                     "platform": "Linux-6"},
           "versions": {"python": "3.11", "torch": None}, "seeds": 0, "date": "2026-11-21T15:00:00+00:00"}
    html = reports.render([rec], run)
    for text in ("Doe 2020, Thm 1", "A statement.", "Some notes.", "Divergence evidence", "1734",
                 "worker 3 crashed", "max 7, mean 1.5", "GPU: H200, H200", "Linux-6"):
        assert text in html, text
    assert "torch <code>" not in html


def test_exact_check_kinds_get_their_own_sections():
    """Records say their kind (``test``); the report shows each kind in its own section, the
    exact kinds first, and lists a lemma record's lemmas."""
    from asyncbound.reports.html import render

    def rec(cid, test, **extra):
        return {"schema": "asyncbound.record/1", "check_id": cid, "verdict": "PASS", "test": test,
                "algorithm": "a", "backend": "reference", "bound": {"key": f"{test}/a"}, **extra}

    lemma = rec("a--lemma--reference", "lemma", lemma={"lemmas": [
        {"lemma": "descent", "verdict": "PASS", "reason": "descent: holds at all 8 update-seed pairs"}]})
    html = render([rec("a--b--reference", "bound"), lemma, rec("a--conformance--reference", "conformance")])
    pos = [html.index(f'id="kind-{k}"') for k in ("conformance", "lemma", "bound")]
    assert pos == sorted(pos)
    assert "holds at all 8 update-seed pairs" in html
