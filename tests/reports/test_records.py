"""The record reader/validator: clear one-line errors naming the file and field; optional fields filled."""

from __future__ import annotations

import copy
import json

import pytest
from asyncbound.reports.records import (
    RecordError,
    load_records,
    load_run,
    validate_record,
    validate_run,
)

from tests.reports.fixtures import RUN, records


def _minimal() -> dict:
    return {"schema": "asyncbound.record/1", "check_id": "a--b--reference", "verdict": "PASS",
            "algorithm": "a", "backend": "reference", "bound": {"key": "p/b"}}


def test_minimal_record_gets_every_optional_field():
    d = validate_record(_minimal(), "x.json")
    for key in ("reason", "problem", "workers", "measured", "bound_value", "ratio", "series",
                "staleness", "throughput", "counterexample", "duration_s"):
        assert d[key] is None, key
    assert d["constants"] == {} and d["conditions"] == [] and d["sweep"] == [] and d["trace_files"] == []
    assert d["config"] == {}
    assert d["bound"]["mathml"] is None and d["bound"]["provenance"] is None


@pytest.mark.parametrize("rec", records(), ids=lambda r: r["verdict"])
def test_fixture_records_validate(rec):
    d = validate_record(rec, "fixture")
    assert d["verdict"] == rec["verdict"]


def test_normalises_case_of_enums():
    rec = _minimal()
    rec["verdict"] = "pass"
    rec["bound"].update(kind="upper", provenance="Verified")
    d = validate_record(rec)
    assert (d["verdict"], d["bound"]["kind"], d["bound"]["provenance"]) == ("PASS", "UPPER", "verified")


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"),
    [
        (lambda r: r.pop("verdict"), "verdict", "is required"),
        (lambda r: r.pop("bound"), "bound", "is required"),
        (lambda r: r["bound"].pop("key"), "bound.key", "is required"),
        (lambda r: r.update(verdict="MAYBE"), "verdict", "not one of"),
        (lambda r: r.update(schema="asyncbound.record/2"), "schema", "asyncbound.record/1"),
        (lambda r: r.update(ratio="0.3"), "ratio", "expected number"),
        (lambda r: r.update(workers=2.5), "workers", "expected integer"),
        (lambda r: r.update(series={"iteration": [1, 2], "mean": [1.0]}), "series.mean", "has 1 values"),
        (lambda r: r.update(conditions=[{"lhs": 1}]), "conditions[0].text", "is required"),
        (lambda r: r.update(staleness={"per_worker": {"0": {"values": [0, 1], "counts": [1]}}}),
         "staleness.per_worker.0.counts", "has 1 values"),
        (lambda r: r.update(trace_files=["../../etc/passwd"]), "trace_files[0]", "inside the result directory"),
        (lambda r: r["bound"].update(provenance="folklore"), "bound.provenance", "not one of"),
        (lambda r: r.update(also_checks="p/c"), "also_checks", "expected list"),
        (lambda r: r.update(also_checks=[3]), "also_checks[0]", "expected string"),
    ],
)
def test_invalid_records_give_one_line_naming_file_and_field(mutate, field, fragment):
    rec = copy.deepcopy(_minimal())
    mutate(rec)
    with pytest.raises(RecordError) as info:
        validate_record(rec, "out/records/x.json")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"out/records/x.json: field '{field}'"), msg
    assert fragment in msg


def test_also_checks_is_kept_and_shown_with_the_bound():
    from asyncbound.reports.records import Record
    from asyncbound.reports.tables import index_rows

    rec = _minimal()
    rec["also_checks"] = ["p/c"]
    d = validate_record(rec)
    assert d["also_checks"] == ["p/c"]
    assert validate_record(_minimal())["also_checks"] == []
    row = index_rows([Record(data=d)])[0]
    assert row["bound_key"] == "p/b + p/c"


def test_non_object_record():
    with pytest.raises(RecordError, match=r"^f\.json: expected a JSON object, got list$"):
        validate_record([], "f.json")


def test_load_records_sorted_and_based(result_dir):
    recs = load_records(result_dir)
    ids = [r.check_id for r in recs]
    assert ids == sorted(ids) and len(ids) == 7
    assert {r.verdict for r in recs} == {"PASS", "FAIL", "INCONCLUSIVE", "NOT_APPLICABLE", "DIVERGED",
                                         "ERROR"}
    assert all(r.base_dir == result_dir for r in recs)


def test_corrupt_json_names_the_file(result_dir):
    bad = result_dir / "records" / "zz_bad.json"
    bad.write_text('{"schema": "asyncbound.record/1", ', encoding="utf-8")
    with pytest.raises(RecordError) as info:
        load_records(result_dir)
    msg = str(info.value)
    assert str(bad) in msg and "not valid JSON" in msg and "\n" not in msg


def test_missing_records_dir_and_empty_dir(tmp_path):
    with pytest.raises(RecordError, match="directory not found"):
        load_records(tmp_path / "nope")
    with pytest.raises(RecordError, match="records.*directory not found"):
        load_records(tmp_path)
    (tmp_path / "records").mkdir()
    with pytest.raises(RecordError, match="no records"):
        load_records(tmp_path)


def test_duplicate_check_ids(result_dir):
    src = sorted((result_dir / "records").glob("*.json"))[0]
    (result_dir / "records" / "copy.json").write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(RecordError, match="also used by"):
        load_records(result_dir)


def test_run_json(result_dir, tmp_path):
    run = load_run(result_dir)
    assert run["git_commit"] == RUN["git_commit"] and run["machine"]["cores"] == 2
    assert load_run(tmp_path) is None  # absent: no header, no error
    (tmp_path / "run.json").write_text(json.dumps(dict(RUN, machine="big")), encoding="utf-8")
    with pytest.raises(RecordError, match=r"run\.json: field 'machine': expected object"):
        load_run(tmp_path)
    assert validate_run(validate_run(RUN)) == validate_run(RUN)  # idempotent
