"""Records: JSON-safe, validated, atomically written, readable by reports."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from asyncbound.checks import records


def test_jsonable_handles_numpy_nan_and_enums():
    from asyncbound.checks.verdicts import Verdict

    out = records.jsonable({"a": np.float64(1.5), "b": math.nan, "c": np.arange(3), "v": Verdict.PASS,
                            "t": (1, math.inf)})
    assert out == {"a": 1.5, "b": None, "c": [0, 1, 2], "v": "PASS", "t": [1, None]}


def test_check_id_is_file_safe():
    cid = records.check_id("hogwild_sgd", "nadiradze2021/nonconvex_sigma", "reference", "a b/c")
    assert cid == "hogwild_sgd--nadiradze2021-nonconvex_sigma--reference--a-b-c"


def test_write_and_validate(tmp_path):
    rec = {"check_id": "x--y--reference", "verdict": "PASS", "algorithm": "x", "backend": "reference",
           "bound": {"key": "p/r"}, "measured": {"value": np.float32(0.5)}}
    p = records.write_record(tmp_path, rec)
    data = json.loads(p.read_text())
    assert data["schema"] == records.RECORD_SCHEMA and data["measured"]["value"] == 0.5
    with pytest.raises(ValueError, match="unknown verdict"):
        records.write_record(tmp_path, {**rec, "verdict": "MAYBE"})
    with pytest.raises(ValueError, match="missing bound"):
        records.write_record(tmp_path, {**rec, "bound": None})


def test_run_info_and_reports_reader(tmp_path):
    reports = pytest.importorskip("asyncbound.reports")
    info = records.run_info(command="verify", argv=["asyncbound", "verify"], suite="quick", seeds=[32])
    records.write_run(tmp_path, info)
    rec = {"check_id": "x--y--reference", "verdict": "INCONCLUSIVE", "algorithm": "x", "backend": "reference",
           "bound": {"key": "p/r", "kind": "UPPER", "provenance": "derived"}, "reason": "r"}
    records.write_record(tmp_path, rec)
    assert reports.load_run(tmp_path)
    assert len(reports.load_records(tmp_path)) == 1
