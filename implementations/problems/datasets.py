"""Real datasets shipped inside scikit-learn, loaded offline, and a seeded train/test split.

``load_builtin(name)`` returns ``(X, y)`` as float64/int64 numpy arrays:

- ``digits``: 1797 handwritten digits, 8x8 grey levels 0..16 (UCI optdigits test set, as
  shipped by ``sklearn.datasets.load_digits``), 10 classes; X is scaled to [0, 1] (divided by 16);
- ``breast_cancer``: 569 Wisconsin diagnostic breast-cancer cases, 30 real features, 2 classes
  (``sklearn.datasets.load_breast_cancer``); X is returned raw (problems standardise it).

Both files are inside the scikit-learn wheel: nothing is downloaded at run time. scikit-learn
is an optional dependency (the ``data`` extra); without it the loader raises a one-line
``ValueError`` naming the extra. Users' own data stays with :func:`.data.load_dataset` (.npz).
"""

from __future__ import annotations

import numpy as np
import torch

from ..seeding import data_generator

BUILTIN_DATASETS = ("digits", "breast_cancer")
DATA_EXTRA_HINT = "pip install 'asyncbound[data]'"


def _sklearn_datasets():
    try:
        from sklearn import datasets
    except ImportError:
        raise ValueError(f"the built-in real datasets need scikit-learn: {DATA_EXTRA_HINT}") from None
    return datasets


def load_builtin(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of a dataset shipped with scikit-learn (see the module docstring)."""
    if name not in BUILTIN_DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(BUILTIN_DATASETS)}, got {name!r}")
    ds = _sklearn_datasets()
    if name == "digits":
        bunch = ds.load_digits()
        X = np.asarray(bunch.data, dtype=np.float64) / 16.0
    else:
        bunch = ds.load_breast_cancer()
        X = np.asarray(bunch.data, dtype=np.float64)
    return X, np.asarray(bunch.target, dtype=np.int64)


def train_test_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random split: ``round(test_fraction * n)`` test rows, the rest train (sorted)."""
    if not (isinstance(test_fraction, (int, float)) and 0 < test_fraction < 1):
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    perm = torch.randperm(n, generator=data_generator(seed)).numpy()
    n_test = max(1, int(round(test_fraction * n)))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def standardise(X: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Zero mean, unit variance per column, with the statistics of ``reference`` (default X);
    constant columns are left centred (their scale is 1, not 0)."""
    ref = X if reference is None else reference
    mu, sd = ref.mean(0), ref.std(0)
    sd[sd == 0] = 1.0
    return (X - mu) / sd
