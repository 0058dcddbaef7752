"""Loading a locally stored dataset: ``.npz`` with arrays ``X`` (n, p) and ``y`` (n,)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np


def load_dataset(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read ``X`` (2-D, real) and ``y`` (1-D, same length) from an ``.npz`` file.

    Never unpickles (``allow_pickle=False``). Any problem with the file raises ``ValueError``
    naming the path.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files"):
                raise ValueError("not an .npz archive")
            missing = [k for k in ("X", "y") if k not in f.files]
            if missing:
                raise ValueError(f"missing arrays {missing} (found {sorted(f.files)})")
            X, y = np.asarray(f["X"]), np.asarray(f["y"])
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"cannot load dataset {str(path)!r}: {exc}") from exc
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ValueError(f"cannot load dataset {str(path)!r}: need X (n, p) and y (n,) with n > 0, "
                         f"got X{X.shape} and y{y.shape}")
    if not (np.issubdtype(X.dtype, np.number) and np.issubdtype(y.dtype, np.number)):
        raise ValueError(f"cannot load dataset {str(path)!r}: X and y must be numeric, got "
                         f"{X.dtype} and {y.dtype}")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise ValueError(f"cannot load dataset {str(path)!r}: non-finite values")
    return X, y
