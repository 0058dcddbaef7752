"""The audit's HTML: a section (``audit_section``) and a self-contained page (``audit_page``).

Input: the ``asyncbound.audit/1`` dict (``audit.json``, docs/CONTRACTS.md). Pure rendering:
no torch, no checks; plain HTML tables, no scripts, works offline.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

AUDIT_SCHEMA = "asyncbound.audit/1"
STATUS_CLASS = {"holds": "pass", "fails": "fail", "unknown": "na", "yes": "pass", "no": "fail"}


def _num(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        return f"{v:.4g}"
    return html.escape(str(v))


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def audit_section(a: Mapping[str, Any]) -> str:
    """One ``<section>``: constants, staleness, a table row per theorem, the tuning result."""
    c = a.get("constants") or {}
    cfg = a.get("config") or {}
    prob = a.get("problem") or {}
    rows = "".join(
        f"<tr><td>{_e(k)}</td><td>{_num(v.get('value'))}</td><td>{_num(v.get('certified'))}</td>"
        f"<td>{_e(v.get('how'))}</td></tr>" for k, v in c.items())
    pts = "".join(
        f"<tr><td>{p['update']}</td><td>{_num(p['loss'])}</td><td>{_num(p['grad_sq'])}</td>"
        f"<td>{_num(p['hessian_norm'])}</td><td>{_num(p['sigma2'])}</td><td>{_num(p['M2'])}</td></tr>"
        for p in a.get("points") or [])
    hist = (a.get("staleness") or {}).get("histogram") or {}
    hist_txt = ", ".join(f"{k}: {v}" for k, v in hist.items())
    th_rows = []
    for t in a.get("theorems") or []:
        ass = "<br>".join(f"<span class='{STATUS_CLASS.get(x['status'], 'na')}'>{_e(x['status'])}</span> "
                          f"{_e(x['title'])}: {_e(x['detail'])}" for x in t.get("assumptions") or [])
        conds = "<br>".join(_e(x.get("text")) for x in t.get("conditions") or []) or _e(t.get("conditions_note") or "none")
        lvl = t.get("trivial_level") or {}
        th_rows.append(
            f"<tr><td>{_e(t['key'])}<br><small>{_e(t.get('provenance'))}</small></td>"
            f"<td class='{STATUS_CLASS.get(t.get('applies'), 'na')}'>{_e(t.get('applies'))}</td>"
            f"<td>{ass}</td><td>{conds}</td>"
            f"<td>{_num(t.get('value'))}{'<br><small>' + _e(t.get('value_note')) + '</small>' if t.get('value_note') else ''}</td>"
            f"<td>{_num(t.get('vacuous'))}<br><small>vs {_e(lvl.get('name'))} = {_num(lvl.get('value'))}</small></td>"
            f"<td>{_num(t.get('prescribed_lr'))}<br><small>used {_num(t.get('lr_used'))}</small></td></tr>")
    tune = a.get("tune")
    tune_html = ""
    if tune:
        trs = "".join(
            f"<tr><td>{_num(r['lr'])}</td><td>{_e(', '.join(r['bounds']))}</td><td>{_num(r['updates_to_target'])}</td>"
            f"<td>{_num(r.get('seconds_to_target_est'))}</td><td>{_num(r['final_loss'])}</td></tr>"
            for r in [tune["original"], *tune["runs"]])
        tune_html = (f"<h3>Theory-guided step (--tune)</h3><p>Target loss {_num(tune['target_loss'])} "
                     f"({_e(tune['target_rule'])}); {_e(tune['note'])}.</p><table><tr><th>eta</th>"
                     "<th>prescribed by</th><th>updates to target</th><th>seconds (est.)</th>"
                     f"<th>final loss</th></tr>{trs}</table>")
    warn = "".join(f"<p class='fail'>{_e(w)}</p>" for w in a.get("warnings") or [])
    return (
        f"<section class='audit'>{warn}<h2>Assumption audit: {_e(a.get('algorithm'))} on {_e(prob.get('name'))} "
        f"({_e(a.get('backend'))})</h2>"
        f"<p>eta = {_num(cfg.get('lr'))}, K = {_num(cfg.get('steps'))}, workers = {_num(cfg.get('workers'))}, "
        f"delay {_e(cfg.get('delay'))}. Iterates: {_e((a.get('sampling') or {}).get('method'))} at updates "
        f"{_e((a.get('sampling') or {}).get('updates'))} (replayed final vs recorded, relative difference "
        f"{_num((a.get('sampling') or {}).get('replay_final_rel_diff'))}).</p>"
        f"<h3>Measured constants</h3><table><tr><th>constant</th><th>measured</th><th>certified</th>"
        f"<th>estimator</th></tr>{rows}</table>"
        f"<h3>Sampled iterates</h3><table><tr><th>update</th><th>f</th><th>||grad f||²</th><th>||H||₂</th>"
        f"<th>sigma²</th><th>E||g||²</th></tr>{pts}</table>"
        f"<p>Staleness histogram (value: count): {_e(hist_txt)}</p>"
        f"<h3>Theorems</h3><table><tr><th>theorem</th><th>applies</th><th>assumptions</th>"
        f"<th>side conditions</th><th>bound</th><th>vacuous</th><th>prescribed eta</th></tr>"
        f"{''.join(th_rows)}</table>{tune_html}</section>")


def audit_page(a: Mapping[str, Any]) -> str:
    """A self-contained HTML page holding :func:`audit_section`."""
    style = ("body{font-family:sans-serif;margin:2em;max-width:90em}table{border-collapse:collapse;"
             "margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;vertical-align:top;"
             "font-size:90%}.pass{color:#176f2c}.fail{color:#b00020;font-weight:bold}.na{color:#777}")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>asyncbound audit</title>"
            f"<style>{style}</style></head><body>{audit_section(a)}</body></html>\n")
