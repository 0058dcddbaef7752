"""reports: stored check records -> one self-contained HTML report.

Reads what ``checks`` wrote (CONTRACTS.md §9: ``OUT/run.json``, ``OUT/records/*.json``, trace
Parquet files) and never runs an optimizer: it imports neither torch, ``implementations`` nor
``checks``.

Public API:

- :func:`render` ``(records, run_info=None) -> str``: the HTML of a report;
- :func:`write_report` ``(dir, out=None) -> Path``: read a result directory, write the report
  atomically (default ``dir/report.html``);
- :func:`load_records`, :func:`load_run`, :func:`validate_record`: the schema reader;
- :class:`CheckResultView`: ``_repr_html_`` of one check, for notebooks;
- :class:`RecordError`: every problem with a record, as one line naming the file and field.
"""

import importlib

#: public name -> the submodule that defines it. Imported on first use (PEP 562), so that
#: ``asyncbound.reports.schema``, which ``checks`` writes records with, does not pull in the
#: renderer (jinja2, pandas, matplotlib) on import.
_SOURCE = {
    "CheckResultView": "html", "render": "html", "write_report": "html",
    "RECORD_SCHEMA": "schema", "RUN_SCHEMA": "schema", "VERDICTS": "schema",
    "Record": "records", "RecordError": "records", "load_records": "records", "load_run": "records",
    "read_record": "records", "validate_record": "records", "validate_run": "records",
}


def __getattr__(name: str):
    if name not in _SOURCE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_SOURCE[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "RECORD_SCHEMA",
    "RUN_SCHEMA",
    "VERDICTS",
    "CheckResultView",
    "Record",
    "RecordError",
    "load_records",
    "load_run",
    "read_record",
    "render",
    "validate_record",
    "validate_run",
    "write_report",
]
