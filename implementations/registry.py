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


def register(algo: AlgorithmSpec, *, replace: bool = False) -> AlgorithmSpec:
    """Add ``algo`` to :data:`ALGORITHMS` (an existing name needs ``replace=True``)."""
    if not isinstance(algo, AlgorithmSpec):
        raise ValueError(f"register needs an AlgorithmSpec, got {type(algo).__name__}")
    if algo.name in ALGORITHMS and not replace:
        raise ValueError(f"algorithm {algo.name!r} is already registered (pass replace=True)")
    ALGORITHMS[algo.name] = algo
    return algo


def get_algorithm(name) -> AlgorithmSpec:
    """The entry for ``name``; unknown names raise ValueError with close matches."""
    if isinstance(name, AlgorithmSpec):
        return name
    if name not in ALGORITHMS:
        close = difflib.get_close_matches(str(name), list(ALGORITHMS), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"unknown algorithm {name!r}{hint}; valid names: {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]


#: the built-in entries (the papers' algorithm boxes), as registered by
#: :mod:`implementations.algorithms` (which fills it once, at import)
BUILTIN: dict[str, AlgorithmSpec] = {}


def is_conjecture(algo: AlgorithmSpec) -> bool:
    """Whether ``algo``'s claims are *conjectures*: a variant that is neither a built-in
    algorithm box nor declares one it ``implements``. Its claims extend a theorem's conclusion
    to an algorithm outside the theorem's class, so they are checked as stated (the class gate
    on hyperparameters, e.g. momentum = 0 for plain SGD, is what the conjecture disputes)."""
    return algo.implements is None and BUILTIN.get(algo.name) is not algo


def split_config(algo: AlgorithmSpec, config: dict) -> tuple[dict, dict]:
    """(rule hyperparameters, pattern options) of a full config."""
    opts = PATTERN_OPTIONS[algo.pattern]
    rule_kw = {k: v for k, v in config.items() if k not in opts}
    pat_kw = {k: config.get(k, v) for k, v in opts.items()}
    return rule_kw, pat_kw


def build_rule(algo: AlgorithmSpec, **hparams):
    """``algo.rule(**hparams)``; a bad or unknown hyperparameter is a one-line ValueError."""
    try:
        return algo.rule(**hparams)
    except TypeError as exc:
        raise ValueError(f"{algo.name}: bad hyperparameters {sorted(hparams)}: {exc}") from None


def describe(algo: AlgorithmSpec) -> dict:
    """A JSON-able summary (for ``asyncbound algorithms --json``)."""
    rule_name = getattr(algo.rule, "__name__", repr(algo.rule))
    return {"name": algo.name, "pattern": algo.pattern, "rule": rule_name,
            "defaults": {k: (list(v) if isinstance(v, tuple) else v) for k, v in algo.defaults.items()},
            "backends": list(algo.backends), "bounds": list(algo.bounds),
            "sequential": algo.sequential, "implements": algo.implements,
            "description": algo.description}


from . import algorithms as _builtin  # noqa: E402,F401  (fills ALGORITHMS and BUILTIN)

__all__ = ["ALGORITHMS", "BACKENDS", "BUILTIN", "AlgorithmSpec", "build_rule", "describe",
           "get_algorithm", "is_conjecture", "register", "split_config"]
