"""Problems on real data (scikit-learn's bundled datasets, see :mod:`.datasets`).

- ``breast_cancer_logistic``: l2-regularised logistic regression on the 569 breast-cancer cases,
  features standardised (zero mean, unit variance) plus an intercept column, labels +-1:
  f(x) = (1/n) sum log(1 + exp(-y_i a_i^T x)) + (lam/2)||x||^2 (the :class:`.Logistic`
  objective and certificates, on real rows instead of generated ones).
  L is certified from the data: the Hessian is A^T diag(s_i(1 - s_i)) A / n + lam I with
  s_i(1 - s_i) <= 1/4, so L = lambda_max(A^T A)/(4n) + lam, by an exact symmetric
  eigendecomposition (+1e-10 relative margin). Equality holds at x = 0 (every s_i = 1/2): a
  Hessian-vector power iteration there recovers L (tests/implementations/test_real_data.py).
- ``digits_mlp``: the :class:`.MLP` (tanh, softmax cross-entropy) on the 8x8 digits, 64 inputs,
  10 classes, a seeded 80/20 train/test split; the loss is the training loss.

Both classifiers expose :meth:`ClassifierMetrics.metrics` (training loss, test loss, test
accuracy) next to ``loss``; the CNN is in :mod:`.cnn`.

Deviation from the papers: their experiments use CIFAR-10/ImageNet (Kungurtsev, Nadiradze) and
MNIST (Xu); the 8x8 digits keep a study within minutes on 2 CPU cores.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.nn.functional import cross_entropy

from ._common import EIG_MARGIN, check_pos_int, check_real, cross_entropy_identity, sym_eig_extremes
from .base import Problem
from .datasets import load_builtin, standardise, train_test_indices
from .mlp import MLP
from .regression import Logistic


class ClassifierMetrics:
    """Test loss and accuracy for problems with ``_forward(x (S, d), X (S, B, p)) -> logits``
    and tensors ``X``/``y`` (train) and ``X_test``/``y_test``."""

    def _load_digits(self, seed: int, test_fraction: float) -> int:
        """The digits' seeded train/test split into ``X``/``y``/``X_test``/``y_test``; returns
        the number of input features."""
        X, y = load_builtin("digits")
        tr, te = train_test_indices(len(y), test_fraction, seed)
        self.X = torch.as_tensor(X[tr], dtype=torch.float32)
        self.y = torch.as_tensor(y[tr], dtype=torch.long)
        self.X_test = torch.as_tensor(X[te], dtype=torch.float32)
        self.y_test = torch.as_tensor(y[te], dtype=torch.long)
        self.n = self.X.shape[0]
        return X.shape[1]

    def _logits_on(self, x: Tensor, X: Tensor) -> Tensor:
        xb, sq = self._batch(x)
        with torch.no_grad():
            logits = self._forward(xb, X.to(xb.dtype).expand(xb.shape[0], *X.shape))
        return logits, sq

    def accuracy(self, x: Tensor, split: str = "test") -> Tensor:
        """Fraction of correctly classified rows of ``split`` ("test" or "train"), per seed."""
        X, y = self._split(split)
        logits, sq = self._logits_on(x, X)
        return self._unbatch((logits.argmax(-1) == y).to(torch.float64).mean(-1), sq)

    def test_loss(self, x: Tensor) -> Tensor:
        X, y = self._split("test")
        logits, sq = self._logits_on(x, X)
        S, B, C = logits.shape
        ce = cross_entropy(logits.reshape(S * B, C), y.expand(S, B).reshape(-1), reduction="none")
        return self._unbatch(ce.reshape(S, B).mean(-1), sq)

    def metrics(self, x: Tensor) -> dict[str, Tensor]:
        """``loss`` (training objective), ``test_loss`` and ``test_accuracy``, per seed."""
        return {"loss": self.loss(x), "test_loss": self.test_loss(x),
                "test_accuracy": self.accuracy(x, "test")}

    def _split(self, split: str) -> tuple[Tensor, Tensor]:
        if split == "test":
            return self.X_test, self.y_test
        if split == "train":
            return self.X, self.y
        raise ValueError(f"split must be 'test' or 'train', got {split!r}")


class BreastCancerLogistic(Logistic):
    """Logistic regression on breast-cancer (see the module docstring)."""

    def __init__(self, *, dim: int | None = None, seed: int = 0, batch_size: int = 16,
                 lam: float = 1e-2, x0_scale: float = 1.0):
        # ``seed`` is accepted for the registry's signature; the data set is fixed (no split)
        self.batch_size = check_pos_int("batch_size", batch_size)
        lam = check_real("lam", lam, gt=0)
        X, labels = load_builtin("breast_cancer")
        A = np.hstack([standardise(X), np.ones((X.shape[0], 1))])
        if dim is not None and dim != A.shape[1]:
            raise ValueError(f"dim must be {A.shape[1]} for breast_cancer_logistic, got {dim!r}")
        A = torch.as_tensor(A, dtype=torch.float64)
        y = torch.as_tensor(2.0 * labels - 1.0, dtype=torch.float64)
        n, d = A.shape
        self.name, self.dim, self.dtype, self.smooth, self.convex = "breast_cancer_logistic", d, torch.float64, True, True
        self.A, self.y, self.n, self.lam, self.box = A, y, n, lam, None
        self.Ay = A * y.unsqueeze(-1)
        lmax, _ = sym_eig_extremes(A.T @ A / n)
        an = A.norm(dim=1)
        self.constants = {"L": lmax / 4 * (1 + EIG_MARGIN) + lam,
                          "sigma": float((an ** 2).mean() / self.batch_size) ** 0.5, "mu": lam}
        self.certificates = {
            "L": ("lambda_max(A^T A)/(4n) + lam on the standardised breast-cancer design (with "
                  "intercept): the Hessian A^T diag(s(1-s)) A/n + lam I has s(1-s) <= 1/4; exact "
                  "eigendecomposition, +1e-10 margin; attained at x = 0."),
            "sigma": ("(1/(B n)) sum ||a_i||^2 >= E||g - grad f||^2 everywhere (per-sample data "
                      "gradient = y_i a_i times a number in [0, 1])."),
            "mu": "lam: the ridge term; the logistic part is convex.",
        }
        self.x0_scale = float(x0_scale)
        self._solve()

    def accuracy(self, x: Tensor) -> Tensor:
        """Training accuracy (the convex problem has no split: the theory is about f itself)."""
        xb, sq = self._batch(x)
        return self._unbatch(((xb @ self.Ay.T) > 0).to(torch.float64).mean(-1), sq)

    def metrics(self, x: Tensor) -> dict[str, Tensor]:
        return {"loss": self.loss(x), "train_accuracy": self.accuracy(x)}


class DigitsMLP(ClassifierMetrics, MLP):
    """The tanh MLP on the digits (64 -> hidden -> hidden -> 10), seeded train/test split."""

    def __init__(self, *, dim: int | None = None, seed: int = 0, batch_size: int = 32,
                 hidden: int = 32, test_fraction: float = 0.2):
        self.batch_size = check_pos_int("batch_size", batch_size)
        hidden = check_pos_int("hidden", hidden)
        self.sizes = [self._load_digits(seed, test_fraction), hidden, hidden, 10]
        self.shapes = [(a, b) for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
        d = sum(a * b + b for a, b in self.shapes)
        if dim is not None and dim != d:
            raise ValueError(f"dim must be {d} for digits_mlp (set by hidden), got {dim!r}")
        cross_entropy_identity(self, "digits_mlp", d)


def _digits_cnn(**options) -> Problem:
    from .cnn import DigitsCNN

    return DigitsCNN(**options)


#: registry entries of :mod:`implementations.problems` (name -> factory)
REAL_DATA_PROBLEMS = {
    "breast_cancer_logistic": BreastCancerLogistic,
    "digits_mlp": DigitsMLP,
    "digits_cnn": _digits_cnn,
}
