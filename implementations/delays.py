"""Delay models: who produces update k and which version of x its gradient was computed at.

Semantics (CONTRACTS §4). Updates are numbered k = 0, 1, ... in the order they are applied.
``read_version[k]`` is the number of updates applied when the worker read x; the staleness of
update k is ``k - read_version[k]``, counted in applied updates, with ``0 <= read_version[k] <= k``
(the one definition lives in :mod:`implementations.trace`).

Models (spec syntax, ``parse_delay(spec)``; every spec takes an optional ``cap=C``):

- ``none``: tau_k = 0 (sequential consistency);
- ``constant:T``: tau_k = min(T, k);
- ``uniform:T``: tau_k = min(U{0..T}, k), the artificial-delay model of Xu et al. (APAM, §5.4);
- ``geometric:p[,cap=C]``: P(tau = j) = (1-p)^j p (j >= 0), capped at C and k;
- ``pareto:a[,cap=C]``: discrete Pareto, P(tau >= j) = (j+1)^(-a), capped at C and k
  (heavy tail: infinite mean for a <= 1, infinite variance for a <= 2);
- ``virtual:speeds=s1,s2,...[,jitter=j]``: heterogeneous workers in virtual time. Worker w's
  compute times are i.i.d. ``s_w * exp(j Z - j^2/2)``, Z ~ N(0,1) (mean s_w; j = 0: fixed).
  All workers start at time 0 reading version 0; the next worker to finish writes, then
  immediately reads the current version and starts again (an event queue; ties go to the
  lower worker index). Staleness is whatever this order produces (about (P-1) s_w / mean s);
- ``adversarial:T``: the worst case of a bounded-delay theorem, tau_k = min(T, k) at every
  update (the same staleness as ``constant:T``; a separate name so a check states its intent);
- ``replay:PATH``: the recorded schedule (worker and read version of every update) of a trace
  directory written by :meth:`Trace.write`; ``ReplayDelay(schedule)`` replays an in-memory one.

Non-virtual models assign updates to workers round-robin (worker k mod P), and report virtual
time k/P + 1/P. Deviation: a real system's delays are not i.i.d.; that is what ``virtual`` and
``replay`` are for.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path

import numpy as np
import torch

from .schedule import Schedule


class DelayModel:
    """Base class. Subclasses implement ``_draw(shape, generator)`` (i.i.d. delays) or override
    :meth:`schedule` and :meth:`sample`."""

    spec: str = "none"
    max_delay: int | None = 0

    def _draw(self, shape, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def schedule(self, n_updates: int, n_workers: int, n_seeds: int,
                 generator: torch.Generator) -> Schedule:
        _check_sizes(n_updates, n_workers, n_seeds)
        k = torch.arange(n_updates)
        delay = self._draw((n_seeds, n_updates), generator)
        read = (k - delay).clamp_min(0)
        worker = (k % n_workers).expand(n_seeds, n_updates).clone()
        wall = ((k + 1).double() / n_workers).expand(n_seeds, n_updates).clone()
        return Schedule(worker, read, wall)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` delays (in updates) for delay injection in real runs."""
        return self._draw((int(n),), generator)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, DelayModel) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash(self.spec)


def _check_sizes(n_updates, n_workers, n_seeds):
    for name, v, lo in (("n_updates", n_updates, 0), ("n_workers", n_workers, 1),
                        ("n_seeds", n_seeds, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")


class NoDelay(DelayModel):
    def __init__(self):
        self.spec, self.max_delay = "none", 0

    def _draw(self, shape, generator):
        return torch.zeros(shape, dtype=torch.int64)


class ConstantDelay(DelayModel):
    """Every read is exactly ``tau`` updates old (fewer at the start). ``name``: the spec's
    name, ``"constant"`` or ``"adversarial"`` (the worst case the bounds allow: the same model)."""

    def __init__(self, tau: int, name: str = "constant"):
        if name not in ("constant", "adversarial"):
            raise ValueError(f"name must be 'constant' or 'adversarial', got {name!r}")
        self.name = name
        self.tau = _int_arg(name, "tau", tau)
        self.spec, self.max_delay = f"{name}:{self.tau}", self.tau

    def _draw(self, shape, generator):
        return torch.full(shape, self.tau, dtype=torch.int64)


class UniformDelay(DelayModel):
    def __init__(self, tau: int):
        self.tau = _int_arg("uniform", "tau", tau)
        self.spec, self.max_delay = f"uniform:{self.tau}", self.tau

    def _draw(self, shape, generator):
        return torch.randint(0, self.tau + 1, shape, generator=generator, dtype=torch.int64)


class GeometricDelay(DelayModel):
    def __init__(self, p: float):
        if not (isinstance(p, (int, float)) and 0 < p <= 1):
            raise ValueError(f"geometric needs p in (0, 1], got {p!r}")
        self.p = float(p)
        self.spec, self.max_delay = f"geometric:{_fmt(self.p)}", (0 if self.p == 1 else None)

    def _draw(self, shape, generator):
        if self.p == 1:
            return torch.zeros(shape, dtype=torch.int64)
        u = torch.rand(shape, generator=generator, dtype=torch.float64)
        d = torch.floor(torch.log1p(-u) / math.log1p(-self.p))
        return d.clamp_max(2**40).to(torch.int64)

    def pmf(self, j: np.ndarray) -> np.ndarray:
        return (1 - self.p) ** j * self.p


class ParetoDelay(DelayModel):
    def __init__(self, alpha: float):
        if not (isinstance(alpha, (int, float)) and alpha > 0 and math.isfinite(alpha)):
            raise ValueError(f"pareto needs a tail index alpha > 0, got {alpha!r}")
        self.alpha = float(alpha)
        self.spec, self.max_delay = f"pareto:{_fmt(self.alpha)}", None

    def _draw(self, shape, generator):
        u = torch.rand(shape, generator=generator, dtype=torch.float64)
        # P(floor(U^(-1/a)) - 1 >= j) = P(U <= (j+1)^(-a)) = (j+1)^(-a)
        d = torch.floor((1.0 - u).pow(-1.0 / self.alpha)) - 1.0
        return d.clamp(0, 2**40).to(torch.int64)

    def survival(self, j: np.ndarray) -> np.ndarray:
        return (np.asarray(j, dtype=float) + 1.0) ** (-self.alpha)


class CappedDelay(DelayModel):
    """``inner`` with every staleness capped at ``cap`` (a bounded-staleness barrier)."""

    def __init__(self, inner: DelayModel, cap: int):
        self.inner, self.cap = inner, _int_arg(inner.spec.split(":")[0], "cap", cap)
        self.spec = f"{inner.spec},cap={self.cap}" if ":" in inner.spec else f"{inner.spec}:cap={self.cap}"
        self.max_delay = self.cap if inner.max_delay is None else min(self.cap, inner.max_delay)

    def schedule(self, n_updates, n_workers, n_seeds, generator):
        s = self.inner.schedule(n_updates, n_workers, n_seeds, generator)
        k = torch.arange(s.n_updates)
        return Schedule(s.worker, torch.maximum(s.read_version, (k - self.cap).clamp_min(0)),
                        s.wall_time, s.block)

    def sample(self, n, generator):
        return self.inner.sample(n, generator).clamp_max(self.cap)


class VirtualTimeDelay(DelayModel):
    """Heterogeneous worker speeds simulated by an event queue in virtual time (see module doc)."""

    def __init__(self, speeds, jitter: float = 0.0):
        speeds = [float(s) for s in speeds]
        if not speeds or any(not (s > 0 and math.isfinite(s)) for s in speeds):
            raise ValueError(f"virtual needs speeds=s1,s2,... all > 0, got {speeds!r}")
        if not (isinstance(jitter, (int, float)) and 0 <= jitter < 10):
            raise ValueError(f"virtual jitter must be in [0, 10), got {jitter!r}")
        self.speeds, self.jitter = speeds, float(jitter)
        self.spec = "virtual:speeds=" + ",".join(_fmt(s) for s in speeds)
        if self.jitter:
            self.spec += f",jitter={_fmt(self.jitter)}"
        self.max_delay = None

    @property
    def n_workers(self) -> int:
        return len(self.speeds)

    def schedule(self, n_updates, n_workers, n_seeds, generator):
        _check_sizes(n_updates, n_workers, n_seeds)
        if n_workers != self.n_workers:
            raise ValueError(f"{self.spec} describes {self.n_workers} workers, but the run has "
                             f"{n_workers}")
        S, K, W = n_seeds, n_updates, n_workers
        z = torch.randn((S, K + W), generator=generator, dtype=torch.float64).numpy()
        fac = np.exp(self.jitter * z - 0.5 * self.jitter ** 2)
        sp = np.asarray(self.speeds)
        finish = sp[None, :] * fac[:, :W]
        rv = np.zeros((S, W), dtype=np.int64)
        worker = np.empty((S, K), dtype=np.int64)
        read = np.empty((S, K), dtype=np.int64)
        wall = np.empty((S, K), dtype=np.float64)
        ar = np.arange(S)
        for k in range(K):
            w = finish.argmin(axis=1)
            worker[:, k], read[:, k], wall[:, k] = w, rv[ar, w], finish[ar, w]
            finish[ar, w] += sp[w] * fac[:, W + k]
            rv[ar, w] = k + 1
        return Schedule(torch.from_numpy(worker), torch.from_numpy(read), torch.from_numpy(wall))

    def sample(self, n, generator):
        return self.schedule(int(n), self.n_workers, 1, generator).staleness[0]


class ReplayDelay(DelayModel):
    """Replays a recorded :class:`Schedule` (from a trace directory or in memory)."""

    def __init__(self, schedule: Schedule, spec: str = "replay:<memory>"):
        self.recorded, self.spec = schedule, spec
        self.max_delay = int(schedule.staleness.max()) if schedule.n_updates else 0

    @classmethod
    def from_path(cls, path) -> ReplayDelay:
        from .trace import Trace

        p = Path(path)
        if not (p / "trace.parquet").is_file() and not (p.is_file() and p.suffix == ".parquet"):
            raise ValueError(f"replay needs a trace directory holding trace.parquet, got {str(path)!r}")
        return cls(Schedule.from_trace(Trace.read(p)), f"replay:{path}")

    def schedule(self, n_updates, n_workers, n_seeds, generator):
        _check_sizes(n_updates, n_workers, n_seeds)
        rec = self.recorded
        if n_updates > rec.n_updates:
            raise ValueError(f"replay holds {rec.n_updates} updates, {n_updates} requested")
        if rec.n_updates and int(rec.worker.max()) >= n_workers:
            raise ValueError(f"replayed schedule uses {int(rec.worker.max()) + 1} workers, the run has "
                             f"{n_workers}")
        s = rec.head(n_updates)
        if rec.n_seeds == n_seeds:
            return s
        if rec.n_seeds == 1:
            def ex(t):
                return None if t is None else t.expand(n_seeds, -1).clone()

            return Schedule(ex(s.worker), ex(s.read_version), ex(s.wall_time), ex(s.block))
        raise ValueError(f"replay holds {rec.n_seeds} seeds, {n_seeds} requested")

    def sample(self, n, generator):
        st = self.recorded.staleness[0]
        if n > len(st):
            raise ValueError(f"replay holds {len(st)} updates, {n} requested")
        return st[: int(n)].clone()


# --- parsing ------------------------------------------------------------------------------
_SYNTAX = {
    "none": "none", "constant": "constant:T", "uniform": "uniform:T",
    "geometric": "geometric:p[,cap=C]", "pareto": "pareto:alpha[,cap=C]",
    "virtual": "virtual:speeds=s1,s2,...[,jitter=j]", "adversarial": "adversarial:T",
    "replay": "replay:PATH",
}


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _int_arg(model: str, name: str, v) -> int:
    try:
        iv = int(v) if not isinstance(v, float) or v.is_integer() else None
    except (TypeError, ValueError):
        iv = None
    if iv is None or isinstance(v, bool) or iv < 0:
        raise ValueError(f"{model} needs {name} = an integer >= 0, got {v!r}")
    return iv


def _split(model: str, args: str) -> tuple[list[str], dict[str, list[str]]]:
    pos: list[str] = []
    kw: dict[str, list[str]] = {}
    key = None
    for tok in (t.strip() for t in args.split(",")):
        if not tok:
            raise ValueError(f"empty argument in delay spec '{model}:{args}'")
        if "=" in tok:
            key, val = (s.strip() for s in tok.split("=", 1))
            if key in kw:
                raise ValueError(f"{model}: {key} given twice")
            kw[key] = [val]
        elif key is None:
            pos.append(tok)
        else:
            kw[key].append(tok)
    return pos, kw


def _num(model: str, name: str, s: str) -> float:
    try:
        return float(s)
    except ValueError:
        raise ValueError(f"{model} needs a number for {name}, got {s!r}") from None


def parse_delay(spec) -> DelayModel:
    """Build a :class:`DelayModel` from its spec; bad specs raise a one-line ValueError."""
    if isinstance(spec, DelayModel):
        return spec
    if isinstance(spec, Schedule):
        return ReplayDelay(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"delay spec must be a non-empty string, got {spec!r}")
    spec = spec.strip()
    name, _, args = spec.partition(":")
    name = name.strip().lower()
    if name not in _SYNTAX:
        close = difflib.get_close_matches(name, list(_SYNTAX), n=2)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise ValueError(f"unknown delay model {name!r}{hint}; valid: {', '.join(_SYNTAX.values())}")
    if name == "replay":
        if not args:
            raise ValueError("replay needs a path: replay:PATH")
        return ReplayDelay.from_path(args)
    pos, kw = _split(name, args) if args else ([], {})
    cap = kw.pop("cap", None)
    usage = f"expected {_SYNTAX[name]}, got {spec!r}"
    if name == "none":
        if pos or kw:
            raise ValueError(f"none takes no arguments ({usage})")
        model: DelayModel = NoDelay()
    elif name in ("constant", "uniform", "adversarial"):
        if len(pos) != 1 or kw:
            raise ValueError(f"{name} needs exactly one integer T ({usage})")
        tau = _num(name, "T", pos[0])
        tau = _int_arg(name, "T", tau)
        model = UniformDelay(tau) if name == "uniform" else ConstantDelay(tau, name=name)
    elif name in ("geometric", "pareto"):
        if len(pos) != 1 or kw:
            raise ValueError(f"{name} needs exactly one parameter ({usage})")
        v = _num(name, "its parameter", pos[0])
        model = GeometricDelay(v) if name == "geometric" else ParetoDelay(v)
    else:  # virtual
        if pos or "speeds" not in kw or set(kw) - {"speeds", "jitter"}:
            raise ValueError(f"virtual needs speeds=... ({usage})")
        speeds = [_num(name, "speeds", s) for s in kw["speeds"]]
        jit = kw.get("jitter", ["0"])
        if len(jit) != 1:
            raise ValueError(f"virtual jitter takes one number ({usage})")
        model = VirtualTimeDelay(speeds, _num(name, "jitter", jit[0]))
    if cap is not None:
        if len(cap) != 1:
            raise ValueError(f"cap takes one integer ({usage})")
        model = CappedDelay(model, _int_arg(name, "cap", _num(name, "cap", cap[0])))
    return model


def with_cap(model: DelayModel, cap: int | None) -> DelayModel:
    """``model`` capped at ``cap`` updates of staleness (None: unchanged)."""
    if cap is None:
        return model
    if isinstance(model, CappedDelay):
        return CappedDelay(model.inner, min(model.cap, _int_arg("cap", "cap", cap)))
    return CappedDelay(model, cap)


DELAY_SYNTAX = tuple(_SYNTAX.values())

__all__ = ["DELAY_SYNTAX", "CappedDelay", "ConstantDelay", "DelayModel",
           "GeometricDelay", "NoDelay", "ParetoDelay", "ReplayDelay", "UniformDelay",
           "VirtualTimeDelay", "parse_delay", "with_cap"]
