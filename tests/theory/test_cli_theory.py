"""``asyncbound theory list|show`` called in-process through checks.cli.main."""

from __future__ import annotations

import json

from asyncbound.checks.cli import main


def test_list_json(capsys):
    assert main(["theory", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"kungurtsev2021", "gratton_toint2026", "nadiradze2021", "xu_apam"} <= {r["paper"] for r in rows}
    for r in rows:
        assert r["provenance"] in {"verified", "derived", "reconstructed"}
        assert {"key", "paper", "metric", "kind", "metric_id"} <= r.keys()


def test_list_text_and_paper_filter(capsys):
    assert main(["theory", "list", "--paper", "xu_apam"]) == 0
    out = capsys.readouterr().out
    assert "xu_apam/nonconvex" in out and "nadiradze2021" not in out
    assert main(["theory", "list", "--paper", "nobody"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_show(capsys):
    assert main(["theory", "show", "classic_delayed_sgd/nonconvex"]) == 0
    out = capsys.readouterr().out
    for piece in ("provenance: derived", "latex:", "assumptions:", "conditions:", "source:",
                  "eta_max"):
        assert piece in out
    assert main(["theory", "show", "xu_apam/nonconvex", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["provenance"] == "reconstructed" and data["derived"]["max_delay_exponent"] == "1/4"
    assert data["mathml"].startswith("<math")


def test_show_unknown_key_is_one_line_exit_2(capsys):
    assert main(["theory", "show", "nadiradze/nonconvex"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "nadiradze2021/nonconvex_M" in captured.err and "Traceback" not in captured.err


def test_theory_without_action_exits_2(capsys):
    assert main(["theory"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
