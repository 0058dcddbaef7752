"""The Trace: one schema for every backend and the one definition of staleness (CONTRACTS §5).

One row per applied update per seed. Staleness is *only* ever computed here, as

    staleness[k] = write_version[k] - read_version[k]

counted in applied updates: ``read_version`` is the number of updates applied when the worker
read x, ``write_version`` the number applied before this write. Backends hand in read and write
versions; :func:`staleness` derives the column (a caller-provided staleness column that
disagrees is a ValueError, never silently kept).

Optional columns (NaN when a backend does not measure them): ``sgrad_norm_sq`` (||g||^2 of the
applied stochastic gradient), ``view_gap`` (||x_k - v_k||), ``ef_residual`` (||e_w|| of the
writing worker's error-feedback memory after the update), ``update_norm`` (||x_{k+1} - x_k||, the
update as applied, after projection; the view-gap recursion of ``checks.lemmas`` sums it), and
``block`` (the block written, -1 for the whole model).

On disk a trace is a directory: ``trace.parquet`` (zstd) and ``run.json`` (meta: config,
versions, git commit, machine; final parameters when small). Each file is written to a
temporary name in the same directory and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: column name -> numpy dtype, in schema order (CONTRACTS §5).
SCHEMA: dict[str, np.dtype] = {
    "seed": np.dtype(np.int32),
    "update": np.dtype(np.int64),
    "worker": np.dtype(np.int32),
    "block": np.dtype(np.int32),
    "read_version": np.dtype(np.int64),
    "write_version": np.dtype(np.int64),
    "staleness": np.dtype(np.int64),
    "wall_time": np.dtype(np.float64),
    "loss": np.dtype(np.float64),
    "grad_norm_sq": np.dtype(np.float64),
    "sgrad_norm_sq": np.dtype(np.float64),
    "view_gap": np.dtype(np.float64),
    "ef_residual": np.dtype(np.float64),
    "update_norm": np.dtype(np.float64),
}
COLUMNS: tuple[str, ...] = tuple(SCHEMA)
#: columns a backend must provide; the float ones default to NaN ("not measured").
REQUIRED = ("seed", "update", "worker", "read_version", "write_version")
#: final parameters (and starting points) larger than this many numbers are not embedded in
#: run.json.
MAX_EMBEDDED_PARAMS = 1_000_000
RUN_SCHEMA = "asyncbound.trace/1"


def staleness(read_version, write_version) -> np.ndarray:
    """The one definition: ``write_version - read_version`` (int64), in applied updates."""
    return np.asarray(write_version, dtype=np.int64) - np.asarray(read_version, dtype=np.int64)


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):  # torch tensor, without importing torch here
        value = value.detach().cpu().numpy()
    return np.asarray(value)


@dataclass
class Trace:
    """Columnar per-update record of one run.

    ``columns``: dict of 1-D numpy arrays (the schema, :data:`SCHEMA`); ``meta``: algorithm,
    backend, problem, config, delay, n_workers, n_seeds, seeds, complete, error, versions,
    git_commit, machine; ``final_params``: ``(S, d)`` array or None; ``final_state``: the
    final pattern/rule state (in memory only, never written).

    The trace describes itself (CONTRACTS §5, "meta keys"): ``meta["x0"]`` the ``(S, d)``
    starting points (float64, one row per seed), ``meta["delay"]`` / ``meta["max_delay"]`` the
    resolved delay model's spec text and guaranteed staleness bound (None: unbounded or not
    injected), ``meta["config"]`` the built rule's hyperparameters and pattern options (the
    registry defaults merged with the run's overrides, lr included).
    """

    columns: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)
    final_params: Any = None
    final_state: Any = None

    def __post_init__(self):
        self.columns = normalise_columns(self.columns)
        if self.final_params is not None:
            self.final_params = _to_numpy(self.final_params)
        self.meta = dict(self.meta)
        self.meta.setdefault("complete", True)
        self.meta.setdefault("error", None)

    # --- access ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.columns["update"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @property
    def staleness(self) -> np.ndarray:
        return self.columns["staleness"]

    @property
    def complete(self) -> bool:
        return bool(self.meta.get("complete", True))

    @property
    def x0(self) -> np.ndarray | None:
        """The ``(S, d)`` starting points recorded by the backend (None when not recorded)."""
        v = self.meta.get("x0")
        return None if v is None else np.asarray(v, dtype=float)

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame({name: self.columns[name] for name in COLUMNS})

    def for_seed(self, seed: int) -> Trace:
        mask = self.columns["seed"] == seed
        return Trace({k: v[mask] for k, v in self.columns.items()}, self.meta)

    # --- combine -----------------------------------------------------------------------------
    @staticmethod
    def concat(traces, meta: dict | None = None) -> Trace:
        """Rows of several traces, in order; meta of the first unless ``meta`` is given.

        ``complete`` is the AND of the parts and ``error`` the first error. Final params are
        stacked along the seed axis when every part has them.
        """
        traces = list(traces)
        if not traces:
            raise ValueError("Trace.concat needs at least one trace, got none")
        cols = {name: np.concatenate([t.columns[name] for t in traces]) for name in COLUMNS}
        m = dict(meta if meta is not None else traces[0].meta)
        m["complete"] = all(t.complete for t in traces)
        m["error"] = next((t.meta.get("error") for t in traces if t.meta.get("error")), None)
        if meta is None and all(t.x0 is not None for t in traces):
            m["x0"] = np.concatenate([np.atleast_2d(t.x0) for t in traces], axis=0)
        fp = None
        if all(t.final_params is not None for t in traces):
            fp = np.concatenate([np.atleast_2d(t.final_params) for t in traces], axis=0)
        return Trace(cols, m, fp)

    # --- disk ------------------------------------------------------------------------------------
    def write(self, directory) -> Path:
        """Write ``directory/trace.parquet`` (zstd) and ``directory/run.json``, atomically each."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        table = pa.table({name: self.columns[name] for name in COLUMNS})
        _atomic(d / "trace.parquet", lambda p: pq.write_table(table, p, compression="zstd"))
        meta = {k: v for k, v in self.meta.items() if k != "x0"}
        run = {"schema": RUN_SCHEMA, **_jsonable(meta)}
        for key, arr in (("x0", self.x0), ("final_params", self.final_params)):
            if arr is not None and arr.size <= MAX_EMBEDDED_PARAMS:
                run[key] = _embed(arr)
        text = json.dumps(run, indent=1, allow_nan=True)
        _atomic(d / "run.json", lambda p: Path(p).write_text(text))
        return d

    @classmethod
    def read(cls, directory) -> Trace:
        """Read a trace directory written by :meth:`write` (a ``trace.parquet`` path also works)."""
        import pyarrow.parquet as pq

        d = Path(directory)
        if d.is_file():
            d = d.parent
        pq_path = d / "trace.parquet"
        if not pq_path.is_file():
            raise ValueError(f"no trace.parquet in {str(d)!r}")
        table = pq.read_table(pq_path)
        cols = {name: table.column(name).to_numpy() for name in table.column_names}
        meta: dict = {}
        fp = None
        js = d / "run.json"
        if js.is_file():
            meta = json.loads(js.read_text())
            emb = meta.pop("final_params", None)
            if emb is not None:
                fp = _unembed(emb)
            if isinstance(meta.get("x0"), dict):
                meta["x0"] = _unembed(meta["x0"])
        return cls(cols, meta, fp)


def normalise_columns(columns: dict) -> dict[str, np.ndarray]:
    """Cast to the schema, fill optional columns (NaN floats, block -1), derive staleness."""
    unknown = set(columns) - set(SCHEMA)
    if unknown:
        raise ValueError(f"unknown trace columns {sorted(unknown)}; schema: {list(COLUMNS)}")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ValueError(f"trace is missing required columns {missing}")
    out: dict[str, np.ndarray] = {}
    n = len(_to_numpy(columns["update"]))
    for name, dtype in SCHEMA.items():
        if name == "staleness":
            continue
        if name in columns:
            arr = _to_numpy(columns[name]).reshape(-1)
            if len(arr) != n:
                raise ValueError(f"trace column {name!r} has {len(arr)} rows, expected {n}")
            out[name] = arr.astype(dtype, copy=False)
        elif name == "block":
            out[name] = np.full(n, -1, dtype=dtype)
        else:
            out[name] = np.full(n, np.nan, dtype=dtype)
    st = staleness(out["read_version"], out["write_version"])
    if "staleness" in columns:
        given = _to_numpy(columns["staleness"]).reshape(-1).astype(np.int64)
        if given.shape != st.shape or not np.array_equal(given, st):
            raise ValueError("trace column 'staleness' disagrees with write_version - read_version")
    out["staleness"] = st
    return {name: out[name] for name in COLUMNS}


def _atomic(path: Path, write_fn) -> None:
    from asyncbound._files import atomic_write

    atomic_write(path, write_fn)


def _embed(arr: np.ndarray) -> dict:
    return {"shape": list(arr.shape), "dtype": str(arr.dtype), "data": arr.reshape(-1).tolist()}


def _unembed(emb: dict) -> np.ndarray:
    return np.asarray(emb["data"], dtype=emb["dtype"]).reshape(emb["shape"])


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


def environment_meta() -> dict[str, Any]:
    """versions, git commit (None outside a checkout) and machine, for ``Trace.meta``."""
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("torch", "pandas", "pyarrow"):
        m = sys.modules.get(mod)
        if m is not None:
            versions[mod] = getattr(m, "__version__", None)
    versions["asyncbound"] = _asyncbound_version()
    machine = {"platform": platform.platform(), "cpu": platform.processor() or platform.machine(),
               "cores": os.cpu_count(), "gpu": None}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        machine["gpu"] = torch.cuda.get_device_name(0)
    return {"versions": versions, "git_commit": git_commit(), "machine": machine}


def _asyncbound_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("asyncbound")
    except Exception:  # not installed as a distribution
        return None


def git_commit() -> str | None:
    """HEAD of the checkout holding this package (read-only ``git rev-parse``), or None."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


__all__ = ["COLUMNS", "SCHEMA", "Trace", "environment_meta", "git_commit", "normalise_columns",
           "staleness"]
