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

from asyncbound.reports.html import CheckResultView, render, write_report
from asyncbound.reports.records import (
    RECORD_SCHEMA,
    RUN_SCHEMA,
    VERDICTS,
    Record,
    RecordError,
    load_records,
    load_run,
    read_record,
    validate_record,
    validate_run,
)

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
