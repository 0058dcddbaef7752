"""The update-rule protocol (CONTRACTS §2) and the shared validation helpers.

A rule is a pure pair ``init/step`` (optax style). ``step(grad, state, t)`` returns
``(delta, new_state)``; the caller applies ``x <- x + delta``. Neither ``grad`` nor ``state``
is ever mutated; ``t`` is the 1-based number of steps taken with this state.

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


@runtime_checkable
class Rule(Protocol):
    """An update rule: ``init(params) -> state``, ``step(grad, state, t) -> (delta, state)``."""

    name: str

    def init(self, params: Tensor) -> State: ...

    def step(self, grad: Tensor, state: State, t: int) -> tuple[Tensor, State]: ...


@dataclass(frozen=True)
class FunctionalRule:
    """A rule built from two functions; ``hparams`` records the validated hyperparameters."""

    name: str
    init_fn: Callable[[Tensor], State] = field(repr=False)
    step_fn: Callable[[Tensor, State, int], tuple[Tensor, State]] = field(repr=False)
    hparams: dict = field(default_factory=dict)

    def init(self, params: Tensor) -> State:
        return self.init_fn(params)

    def step(self, grad: Tensor, state: State, t: int) -> tuple[Tensor, State]:
        if isinstance(t, bool) or int(t) != t or t < 1:
            raise ValueError(f"t must be a 1-based step count (int >= 1), got {t!r}")
        return self.step_fn(grad, state, int(t))


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
