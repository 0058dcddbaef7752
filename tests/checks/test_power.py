"""The power benchmark script (``python -m asyncbound.checks.power``): its table and its bad input.
The numbers themselves are measured by running it (README "Power, measured"), not in CI."""

from __future__ import annotations

import json

from asyncbound.checks import power


def test_power_on_one_bug(tmp_path, capsys):
    out = tmp_path / "power.json"
    assert power.main(["--batches", "1", "--only", "overstep", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    rows = {r["mode"]: r for r in res["rows"]}
    assert rows["implements"]["flagged"] == 1 and rows["implements"]["by_kind"]["conformance"] == 1
    assert res["false_fail_total"] == 0
    assert {c["algorithm"] for c in res["correct"]} == {"hogwild_sgd", "hogwild_sgd_copy"}
    assert "| overstep | sgd_hogwild | implements | 1/1 |" in capsys.readouterr().out


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert power.main(["--only", "no_such_bug"]) == 2
    assert power.main(["--catalogue", str(tmp_path / "missing.py")]) == 2
    assert power.main(["--batches", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
