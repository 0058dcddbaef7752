"""The update-rule protocol (CONTRACTS §2) and the shared validation helpers.

A rule is a pure pair ``init/step`` (optax style). ``step(grad, state, t)`` returns
``(delta, new_state)``; the caller applies ``x <- x + delta``. Neither ``grad`` nor ``state``
is ever mutated; ``t`` is the 1-based number of steps taken with this state.

Update context (opt-in, issue 16). A rule whose ``wants_context`` attribute is True is called as
``step(grad, state, t, ctx)`` with an :class:`UpdateContext` describing the update: the
staleness of the gradient (``(S,)`` int64, one entry per seed; S = 1 on the real backends), the
worker, ``k`` (updates applied before this one, ``(S,)``), the horizon ``K`` (the run's
``steps``) and the number of workers, plus both clocks by name (``t_local``, ``t_global``; ``t``
is the one the pattern uses, see :mod:`implementations.patterns`). Such a rule may return
``(delta, state, keep)`` with ``keep`` a bool ``(S,)`` tensor: a seed whose ``keep`` is False
has its update *discarded* (no write, no version bump, rule state unchanged; see
:meth:`implementations.patterns.Pattern.update`). Rules without the attribute are called as
before, so every existing rule stays valid.

Per-vector reductions act on the last dimension, so a rule applied to a block sub-vector
acts per block, and a leading seed dimension ``(S, d)`` is handled for free.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from torch import Tensor

State = dict[str, Tensor]


@dataclass(frozen=True)
class UpdateContext:
    """What a context rule sees of the update it is computing (module docstring).

    ``staleness`` and ``k`` are ``(S,)`` int64 tensors counted in *applied* updates (the trace's
    definition, :func:`implementations.trace.staleness`); ``t_local`` is the worker's own
    1-based gradient count (discarded gradients included); ``t_global`` the global clock the
    backend passes the pattern (arrivals + 1 in the reference backend, applied updates + 1 in
    ``processes`` and ``distributed``: the two agree without discards, and only ``full``, whose
    rule clock is ``t_local``, can discard); ``K`` the run's ``steps`` (gradients processed,
    applied or discarded).
    """

    staleness: Tensor
    worker: int
    k: Tensor
    K: int
    n_workers: int
    t_local: int
    t_global: int


def wants_context(rule) -> bool:
    """Whether ``rule`` opted in to receive an :class:`UpdateContext` (``wants_context``)."""
    return bool(getattr(rule, "wants_context", False))


def needs_staleness(rule, discard_above=None) -> bool:
    """Whether a backend must know each update's exact staleness when it applies it: the rule
    reads its :class:`UpdateContext`, or the pattern discards updates staler than
    ``discard_above``."""
    return wants_context(rule) or discard_above is not None


@runtime_checkable
class Rule(Protocol):
    """An update rule: ``init(params) -> state``, ``step(grad, state, t) -> (delta, state)``."""

    name: str

    def init(self, params: Tensor) -> State: ...

    def step(self, grad: Tensor, state: State, t: int) -> tuple[Tensor, State]: ...


@dataclass(frozen=True)
class FunctionalRule:
    """A rule built from two functions; ``hparams`` records the validated hyperparameters.

    ``wants_context=True``: ``step_fn(grad, state, t, ctx)`` receives the :class:`UpdateContext`
    (and may return ``(delta, state, keep)``); calling such a rule without one is a ValueError,
    never a silent default (a missing context must not turn the variant into plain SGD).
    """

    name: str
    init_fn: Callable[[Tensor], State] = field(repr=False)
    step_fn: Callable[..., tuple] = field(repr=False)
    hparams: dict = field(default_factory=dict)
    wants_context: bool = False

    def init(self, params: Tensor) -> State:
        return self.init_fn(params)

    def step(self, grad: Tensor, state: State, t: int, ctx: UpdateContext | None = None) -> tuple:
        if isinstance(t, bool) or int(t) != t or t < 1:
            raise ValueError(f"t must be a 1-based step count (int >= 1), got {t!r}")
        if not self.wants_context:
            return self.step_fn(grad, state, int(t))
        if not isinstance(ctx, UpdateContext):
            raise ValueError(f"rule {self.name!r} wants the update context, got ctx={ctx!r}")
        return self.step_fn(grad, state, int(t), ctx)


def _fmt(value) -> str:
    return repr(value)


def check_number(name: str, value, *, gt=None, ge=None, lt=None, le=None) -> float:
    """Validate a real hyperparameter; raise ``ValueError("<name> must be ..., got <value>")``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a real number, got {_fmt(value)}")
    v = float(value)
    if math.isnan(v) or math.isinf(v):
        raise ValueError(f"{name} must be finite, got {_fmt(value)}")
    if gt is not None and not v > gt:
        raise ValueError(f"{name} must be > {gt}, got {_fmt(v)}")
    if ge is not None and not v >= ge:
        raise ValueError(f"{name} must be >= {ge}, got {_fmt(v)}")
    if lt is not None and not v < lt:
        raise ValueError(f"{name} must be < {lt}, got {_fmt(v)}")
    if le is not None and not v <= le:
        raise ValueError(f"{name} must be <= {le}, got {_fmt(v)}")
    return v


def check_bool(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a bool, got {_fmt(value)}")
    return value


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {_fmt(value)}")
    return value


def check_int(name: str, value, *, ge=None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {_fmt(value)}")
    if ge is not None and value < ge:
        raise ValueError(f"{name} must be >= {ge}, got {_fmt(value)}")
    return value


SCHEDULES = ("constant", "inv_sqrt")


def schedule_factor(schedule: str, t: int) -> float:
    """Step-size multiplier: ``constant`` -> 1, ``inv_sqrt`` -> 1/sqrt(t)."""
    if schedule == "constant":
        return 1.0
    if schedule == "inv_sqrt":
        return 1.0 / math.sqrt(t)
    raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {schedule!r}")
