"""``asyncbound audit``: measured constants against certificates, per-theorem judgements,
--tune, and bad input (one line, exit 2, nothing written)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("sklearn")

from asyncbound.checks.audit import AUDIT_SCHEMA, audit  # noqa: E402
from asyncbound.checks.cli import main  # noqa: E402
from asyncbound.implementations import problems  # noqa: E402
from asyncbound.implementations.backends import run  # noqa: E402
from asyncbound.implementations.problems.real_data import BreastCancerLogistic  # noqa: E402
from asyncbound.implementations.registry import get_algorithm  # noqa: E402

PROBLEM = "breast_cancer_logistic"


def _trace_dir(tmp_path, name="run", *, problem=PROBLEM, lr=0.1, steps=200):
    tr = run("hogwild_sgd", problem, "uniform:4", steps, 1, workers=4, lr=lr, eval_every=10)
    return tr.write(tmp_path / name)


@pytest.fixture(scope="module")
def logistic_audit(tmp_path_factory):
    d = _trace_dir(tmp_path_factory.mktemp("audit"))
    return d, audit(d, points=3)


def test_constants_are_measured_and_within_their_certificates(logistic_audit):
    d, a = logistic_audit
    p = problems.get_problem(PROBLEM)
    c = a["constants"]
    assert a["schema"] == AUDIT_SCHEMA and a["sampling"]["updates"] == [0, 100, 200]
    assert 0.2 * p.constants["L"] < c["L"]["value"] <= p.constants["L"] * (1 + 1e-6)
    assert 0 < c["sigma"]["value"] <= p.constants["sigma"]
    assert c["L"]["certified"] == pytest.approx(p.constants["L"]) and not a["warnings"]
    assert c["tau"]["value"] == 4 and sum(a["staleness"]["histogram"].values()) == 200
    assert c["B"]["value"] > 0 and c["F0"]["value"] > 0
    assert a["sampling"]["replay_final_rel_diff"] < 1e-12  # reference replays itself exactly
    assert [t["key"] for t in a["theorems"]] == list(get_algorithm("hogwild_sgd").bounds)


def test_side_condition_judged_both_ways(tmp_path, logistic_audit):
    # classic delayed SGD admits eta <= 1/(L (1 + 2 tau))-type steps: 0.1 is above it at the
    # measured L and tau = 4, 0.02 is below it
    _, big = logistic_audit
    small = audit(_trace_dir(tmp_path, lr=0.02), points=2)
    key = "classic_delayed_sgd/nonconvex"
    tb = next(t for t in big["theorems"] if t["key"] == key)
    ts = next(t for t in small["theorems"] if t["key"] == key)
    assert tb["conditions_hold"] is False and tb["applies"] == "no"
    assert tb["prescribed_lr"] < 0.1 == tb["lr_used"]
    assert ts["conditions_hold"] is True and ts["applies"] == "yes" and ts["value"] > 0
    sc = next(t for t in big["theorems"] if t["key"] == "nadiradze2021/strongly_convex")
    assert {x["key"]: x["status"] for x in sc["assumptions"]}["strongly_convex"] == "holds"  # mu = lam


def test_planted_wrong_certificate_is_flagged(tmp_path, monkeypatch):
    """A problem whose certified L is 10x too small: the measured curvature exceeds it."""
    def wrong_L(**kw):
        p = BreastCancerLogistic(**kw)
        p.constants = dict(p.constants, L=p.constants["L"] / 10)
        p.name = "planted_wrong_L"  # run.json records the name the audit rebuilds from
        return p

    monkeypatch.setitem(problems._FACTORIES, "planted_wrong_L", wrong_L)
    a = audit(_trace_dir(tmp_path, problem="planted_wrong_L", steps=60), points=2)
    assert a["constants"]["L"]["certificate_violated"] is True
    assert any("exceeds the problem's certified" in w for w in a["warnings"])


def test_cli_writes_json_and_html_with_tune(tmp_path, capsys):
    d = _trace_dir(tmp_path, steps=120)
    assert main(["audit", str(d), "--tune", "--points", "2", "--out", str(tmp_path / "out")]) == 0
    data = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert data["schema"] == AUDIT_SCHEMA and data["tune"]["original"]["updates_to_target"] is not None
    assert data["tune"]["runs"] and all(r["lr"] == r["lr"] for r in data["tune"]["runs"])
    page = (tmp_path / "out" / "audit.html").read_text()
    assert "Assumption audit" in page and "<script" not in page
    assert "classic_delayed_sgd/nonconvex" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["missing", "not_trace", "unknown_problem", "no_seed"])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, case):
    target = tmp_path / "x"
    if case == "not_trace":
        target.mkdir()
    elif case in ("unknown_problem", "no_seed"):
        target = _trace_dir(tmp_path, "x", steps=20)
        meta = json.loads((target / "run.json").read_text())
        if case == "unknown_problem":
            meta["problem"]["name"] = "no_such_problem"
        else:
            meta["problem"]["seed"] = None
        (target / "run.json").write_text(json.dumps(meta))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["audit", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("asyncbound audit: error:") and "\n" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_report_includes_an_audit_written_into_the_results_dir(tmp_path, logistic_audit):
    from asyncbound.checks.records import write_record
    from asyncbound.reports import write_report

    d, _ = logistic_audit
    out = tmp_path / "results"  # a results directory holds records (here one minimal one)
    write_record(out, {"check_id": "c", "verdict": "PASS", "algorithm": "hogwild_sgd",
                       "backend": "reference", "bound": {"key": "k"}})
    assert main(["audit", str(d), "--points", "2", "--out", str(out / "audit-run")]) == 0
    page = write_report(out).read_text()
    assert "Assumption audit: hogwild_sgd on breast_cancer_logistic" in page
