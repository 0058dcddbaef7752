"""Trace: the schema, the one definition of staleness, atomic round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest
from asyncbound.implementations.trace import COLUMNS, SCHEMA, Trace, staleness


def _cols(n=6, seeds=1):
    upd = np.tile(np.arange(n), seeds)
    read = np.maximum(upd - np.arange(len(upd)) % 3, 0)
    return {"seed": np.repeat(np.arange(seeds), n), "update": upd, "worker": upd % 2,
            "read_version": read, "write_version": upd, "loss": np.linspace(1, 0, len(upd))}


def test_schema_filled_and_staleness_derived():
    tr = Trace(_cols(), {"algorithm": "x"})
    assert list(tr.columns) == list(COLUMNS)
    for name, dtype in SCHEMA.items():
        assert tr[name].dtype == dtype, name
    np.testing.assert_array_equal(tr.staleness, tr["write_version"] - tr["read_version"])
    assert (tr["block"] == -1).all() and np.isnan(tr["view_gap"]).all()
    assert tr.meta["complete"] is True and tr.meta["error"] is None


def test_staleness_function_is_the_definition():
    np.testing.assert_array_equal(staleness([0, 1, 1], [0, 2, 5]), [0, 1, 4])


def test_inconsistent_staleness_and_bad_columns_raise():
    c = _cols()
    c["staleness"] = np.zeros(6, dtype=np.int64) + 1
    with pytest.raises(ValueError, match="disagrees"):
        Trace(c)
    with pytest.raises(ValueError, match="missing"):
        Trace({"update": np.arange(3)})
    with pytest.raises(ValueError, match="unknown"):
        Trace({**_cols(), "foo": np.zeros(6)})
    bad = _cols()
    bad["loss"] = np.zeros(2)
    with pytest.raises(ValueError, match="rows"):
        Trace(bad)


def test_write_read_round_trip(tmp_path):
    fp = np.arange(6.0).reshape(2, 3) / 7
    tr = Trace(_cols(seeds=2), {"algorithm": "hogwild_sgd", "config": {"lr": 0.1}}, fp)
    tr.write(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["run.json", "trace.parquet"]
    back = Trace.read(tmp_path / "out")
    for name in COLUMNS:
        np.testing.assert_array_equal(back[name], tr[name])
        assert back[name].dtype == SCHEMA[name]
    assert back.meta["config"] == {"lr": 0.1}
    np.testing.assert_array_equal(back.final_params, fp)  # exact: JSON floats round-trip
    assert json.loads((tmp_path / "out" / "run.json").read_text())["schema"] == "asyncbound.trace/1"
    df = tr.to_pandas()
    assert list(df.columns) == list(COLUMNS) and len(df) == 12


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError):
        Trace(_cols()).write(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_concat_and_for_seed():
    a = Trace(_cols(), {"algorithm": "a"}, np.zeros((1, 2)))
    b = Trace(_cols(), {"algorithm": "b", "complete": False, "error": "diverged"}, np.ones((1, 2)))
    c = Trace.concat([a, b])
    assert len(c) == 12 and c.meta["algorithm"] == "a"
    assert c.meta["complete"] is False and c.meta["error"] == "diverged"
    assert c.final_params.shape == (2, 2)
    assert len(c.for_seed(0)) == 12
    with pytest.raises(ValueError):
        Trace.concat([])


def test_read_missing_dir_raises(tmp_path):
    with pytest.raises(ValueError, match="trace.parquet"):
        Trace.read(tmp_path)


def test_reference_records_the_applied_update_norm():
    """update_norm = ||x_{k+1} - x_k||: for momentum-free SGD without projection it is
    lr * ||g_k||, and the view-gap recursion's sums are built from it."""
    from asyncbound.implementations.backends import run

    tr = run("hogwild_sgd", "quadratic", "uniform:3", 60, 2, lr=0.1)
    np.testing.assert_allclose(tr["update_norm"], 0.1 * np.sqrt(tr["sgrad_norm_sq"]), rtol=1e-12)
