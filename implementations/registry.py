"""The algorithm registry (CONTRACTS §6): an async algorithm is a rule plus an access pattern.

``ALGORITHMS`` maps a name to an :class:`AlgorithmSpec`; the built-in entries live in
:mod:`implementations.algorithms`. A user's variant file adds one with :func:`register`::

    from asyncbound.implementations.registry import AlgorithmSpec, register
    from asyncbound.implementations.rules import adagrad
    register(AlgorithmSpec(name="my_async_adagrad", rule=adagrad, pattern="random_blocks",
                           defaults={"lr": 0.3, "form": "gratton_toint", "eps": 1e-8},
                           backends=("reference",), bounds=("gratton_toint2026/rate",),
                           sequential=None, description="..."))

``defaults`` mixes the rule's hyperparameters (lr included) and the pattern's options
(:data:`implementations.patterns.PATTERN_OPTIONS`, e.g. ``warmup`` or ``n_blocks``);
:func:`split_config` separates them and :func:`build_rule` builds the rule.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field

from .patterns import PATTERN_OPTIONS, PATTERNS

BACKENDS = ("reference", "processes", "distributed")


@dataclass(frozen=True)
class AlgorithmSpec:
    """One registry entry; see the module docstring."""

    name: str
    rule: Callable  # factory(**hparams) -> Rule
    pattern: str
    defaults: dict = field(default_factory=dict)
    backends: tuple[str, ...] = ("reference",)
    bounds: tuple[str, ...] = ()
    sequential: str | None = None
    description: str = ""
    #: the registered algorithm (the paper's algorithm box) this entry claims to implement step
    #: for step; checked by ``checks.conformance`` (None: a conjecture, checked by its bounds)
    implements: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"algorithm name must be an identifier, got {self.name!r}")
        if not callable(self.rule):
            raise ValueError(f"rule must be a factory (callable), got {self.rule!r}")
        if self.pattern not in PATTERNS:
            raise ValueError(f"pattern must be one of {list(PATTERNS)}, got {self.pattern!r}")
        bad = [b for b in self.backends if b not in BACKENDS]
        if bad or "reference" not in self.backends:
            raise ValueError(f"backends must include 'reference' and be among {list(BACKENDS)}, "
                             f"got {self.backends!r}")
        if "lr" not in self.defaults:
            raise ValueError(f"defaults of {self.name!r} must include lr")
        if self.implements is not None and (not isinstance(self.implements, str)
                                            or not self.implements.isidentifier()):
            raise ValueError(f"implements must be a registered algorithm's name or None, "
                             f"got {self.implements!r}")
        object.__setattr__(self, "backends", tuple(self.backends))
        object.__setattr__(self, "bounds", tuple(self.bounds))

    def config(self, **overrides) -> dict:
        """defaults updated by ``overrides`` (None values ignored)."""
        cfg = dict(self.defaults)
        cfg.update({k: v for k, v in overrides.items() if v is not None})
        return cfg


ALGORITHMS: dict[str, AlgorithmSpec] = {}


def register(spec: AlgorithmSpec, *, replace: bool = False) -> AlgorithmSpec:
    """Add ``spec`` to :data:`ALGORITHMS` (an existing name needs ``replace=True``)."""
    if not isinstance(spec, AlgorithmSpec):
        raise ValueError(f"register needs an AlgorithmSpec, got {type(spec).__name__}")
    if spec.name in ALGORITHMS and not replace:
        raise ValueError(f"algorithm {spec.name!r} is already registered (pass replace=True)")
    ALGORITHMS[spec.name] = spec
    return spec


def get_algorithm(name) -> AlgorithmSpec:
    """The entry for ``name``; unknown names raise ValueError with close matches."""
    if isinstance(name, AlgorithmSpec):
        return name
    if name not in ALGORITHMS:
        close = difflib.get_close_matches(str(name), list(ALGORITHMS), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"unknown algorithm {name!r}{hint}; valid names: {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]


def split_config(spec: AlgorithmSpec, config: dict) -> tuple[dict, dict]:
    """(rule hyperparameters, pattern options) of a full config."""
    opts = PATTERN_OPTIONS[spec.pattern]
    rule_kw = {k: v for k, v in config.items() if k not in opts}
    pat_kw = {k: config.get(k, v) for k, v in opts.items()}
    return rule_kw, pat_kw


def build_rule(spec: AlgorithmSpec, **hparams):
    """``spec.rule(**hparams)``; a bad or unknown hyperparameter is a one-line ValueError."""
    try:
        return spec.rule(**hparams)
    except TypeError as exc:
        raise ValueError(f"{spec.name}: bad hyperparameters {sorted(hparams)}: {exc}") from None


def describe(spec: AlgorithmSpec) -> dict:
    """A JSON-able summary (for ``asyncbound algorithms --json``)."""
    rule_name = getattr(spec.rule, "__name__", repr(spec.rule))
    return {"name": spec.name, "pattern": spec.pattern, "rule": rule_name,
            "defaults": {k: (list(v) if isinstance(v, tuple) else v) for k, v in spec.defaults.items()},
            "backends": list(spec.backends), "bounds": list(spec.bounds),
            "sequential": spec.sequential, "implements": spec.implements,
            "description": spec.description}


from . import algorithms as _builtin  # noqa: E402,F401  (fills ALGORITHMS)

__all__ = ["ALGORITHMS", "BACKENDS", "AlgorithmSpec", "build_rule", "describe", "get_algorithm",
           "register", "split_config"]
