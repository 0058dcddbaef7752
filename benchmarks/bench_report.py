"""Benchmark: report generation for 10 records with 1,000,000 trace rows in total.

Goal: under 10 s on the development machine (2 vCPU). Run::

    python benchmarks/bench_report.py [--rows 1000000] [--records 10] [--keep DIR]

Prints the generation time (reading records and traces, summarising, drawing, writing) and
the size of the HTML. Building the fixture traces is not timed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="trace rows in total")
    parser.add_argument("--records", type=int, default=10, help="number of records")
    parser.add_argument("--repeat", type=int, default=1, help="timed repetitions (best is reported)")
    parser.add_argument("--keep", type=Path, default=None, help="build the fixture here and keep it")
    args = parser.parse_args(argv)

    from asyncbound import reports
    from tests.reports.fixtures import write_large

    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp) / "out"
        t0 = time.perf_counter()
        write_large(out, n_records=args.records, total_rows=args.rows)
        build_s = time.perf_counter() - t0
        times, cpu = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            path = reports.write_report(out)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        size = path.stat().st_size
    print(f"fixture: {args.records} records, {args.rows:,} trace rows (built in {build_s:.1f} s, not timed)")
    print(f"report generation: {min(times):.2f} s wall, {min(cpu):.2f} s CPU (goal < 10 s); "
          f"HTML {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
