"""OutputDir (issue 14): validate before touching, one writer, stage and commit, never delete
what another command wrote, partial results kept beside an earlier result, umask modes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from asyncbound.checks.errors import UsageError
from asyncbound.checks.outdir import LOCK_NAME, OutputDir, kind_of


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _suite_result(path, marker="old"):
    (path / "records").mkdir(parents=True)
    (path / "records" / "a.json").write_text(marker)
    (path / "run.json").write_text(marker)


def test_commit_replaces_own_result_and_keeps_foreign_entries(tmp_path):
    out = tmp_path / "o"
    _suite_result(out)
    (out / "traces").mkdir()
    (out / "traces" / "old.parquet").write_text("old")
    (out / "variant").mkdir()                  # e.g. `check` wrote OUT/variant/
    (out / "notes.txt").write_text("mine")
    d = OutputDir(out, command="verify").validate()
    with d:
        (d.staging / "records").mkdir()
        (d.staging / "records" / "b.json").write_text("new")
        (d.staging / "run.json").write_text("new")
        assert (out / "records" / "a.json").read_text() == "old"  # not visible until commit
        d.commit()
    assert _files(out) == ["notes.txt", "records", "records/b.json", "run.json", "variant"]
    assert (out / "run.json").read_text() == "new"


def test_a_run_never_replaces_a_verify_result_and_vice_versa(tmp_path):
    v = tmp_path / "v"
    _suite_result(v)
    with pytest.raises(UsageError, match="never replaces another command's output"):
        OutputDir(v, command="run").validate()
    r = tmp_path / "r"
    r.mkdir()
    (r / "trace.parquet").write_text("x")
    assert kind_of(r) == "run" and kind_of(v) == "suite"
    with pytest.raises(UsageError, match="never replaces"):
        OutputDir(r, command="verify").validate()


@pytest.mark.parametrize("make", ["file", "under_file", "unwritable"])
def test_bad_out_is_refused_before_anything_is_written(tmp_path, make):
    f = tmp_path / "f"
    f.write_text("x")
    path = {"file": f, "under_file": f / "sub", "unwritable": "/proc/asyncbound-out"}[make]
    before = _files(tmp_path)
    with pytest.raises(UsageError):
        OutputDir(path, command="run").validate()
    assert _files(tmp_path) == before


def test_second_writer_is_refused_and_a_stale_lock_is_taken_over(tmp_path):
    out = tmp_path / "o"
    first = OutputDir(out, command="verify").validate()
    with first:
        assert (out / LOCK_NAME).read_text().startswith(f"pid={os.getpid()}\n")
        with pytest.raises(UsageError, match=f"in use by another asyncbound command \\(pid {os.getpid()}"):
            OutputDir(out, command="verify").validate()
        with pytest.raises(UsageError, match="in use"):
            with OutputDir(out, command="verify"):  # skipping validate() does not help
                pass
    assert not out.exists()  # nothing committed: the directory it created is gone again
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    out.mkdir()
    (out / LOCK_NAME).write_text(f"pid={dead}\nhost={os.uname().nodename}\n")
    with OutputDir(out, command="run").validate() as d:  # stale: the owner is dead
        (d.staging / "trace.parquet").write_text("t")
        d.commit()
    assert _files(out) == ["trace.parquet"]


def test_partial_result_is_kept_beside_an_earlier_result(tmp_path):
    out = tmp_path / "o"
    _suite_result(out)
    with OutputDir(out, command="verify").validate() as d:
        (d.staging / "records").mkdir()
        (d.staging / "records" / "b.json").write_text("partial")
        where = d.keep_partial()
    assert where.parent == out and where.name.startswith("partial-")
    assert (out / "records" / "a.json").read_text() == "old"
    assert (where / "records" / "b.json").read_text() == "partial"
    fresh = tmp_path / "fresh"
    with OutputDir(fresh, command="verify").validate() as d:
        (d.staging / "records").mkdir()
        assert d.keep_partial() == fresh  # no earlier result: the partial one is the result
    assert (fresh / "records").is_dir()


def test_committed_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        with OutputDir(tmp_path / "o", command="run").validate() as d:
            fd = os.open(d.staging / "trace.parquet", os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
            d.commit()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "o" / "trace.parquet").stat().st_mode) == 0o640


def test_leftovers_of_a_killed_writer_are_swept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    out = tmp_path / "o"
    (out / f".staging-{dead}-abc" / "records").mkdir(parents=True)
    (out / f".replaced-{dead}-xyz").mkdir()
    (out / LOCK_NAME).write_text(f"pid={dead}\nhost={os.uname().nodename}\n")
    with OutputDir(out, command="verify").validate() as d:
        (d.staging / "records").mkdir()
        d.commit()
    assert _files(out) == ["records"]
