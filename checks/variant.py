"""Load a user's variant file for ``asyncbound check`` (and ``verify --with``).

A variant file is trusted local Python (like a ``conftest.py``), imported from its path with
importlib. It must leave one algorithm behind, either as a module attribute ``ALGORITHM`` (an
``asyncbound.implementations.registry.AlgorithmSpec``) or by calling ``register`` itself; its ``bounds`` name
the theorems it claims (keys of ``theory.BOUNDS``). Optional module attributes tune the checks:
``PROBLEM`` (a problem name), ``PROBLEM_OPTIONS`` (a dict of keyword arguments for
``get_problem``: noise ``sigma``, ``dim``, spectrum ``cond``, ...), ``DELAY`` (a delay spec),
``STEPS`` (updates per run). ``check --delay/--steps`` override ``DELAY``/``STEPS``
(:func:`apply_overrides`). The loaded variant carries the file's sha256 (:attr:`LoadedVariant.record`),
which the CLI stores in each record and next to a copy of the file (``OUT/variants/<stem>.py``).

A file may declare theorems of its own: a module attribute ``BOUNDS`` (a list or tuple of
``theory.Bound``, provenance ``Provenance.CLAIMED``), or calls to ``theory.register_bound``. The
loader registers ``BOUNDS`` with ``theory.register_bound`` (the shipped bounds' validation, plus
the user-bound rules: ``claimed`` provenance only, no shipped paper or key) before it checks the
claimed keys, so the algorithm may claim them. The metric ids are validated in theory against
``theory.METRIC_IDS``, the list of metrics ``checks.metrics`` has estimators for.

Every problem with the file is a ``UsageError`` with one line naming the file: missing, not a
``.py``, raises on import, defines nothing, claims no bound or an unknown bound key, declares a
bad bound.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

from asyncbound.checks.errors import UsageError


@dataclass
class LoadedVariant:
    algorithm: object  # AlgorithmSpec
    path: Path
    module: object
    problem: str | None = None
    delay: str | None = None
    steps: int | None = None
    problem_options: dict = field(default_factory=dict)
    sha256: str = ""
    source: bytes = field(default=b"", repr=False)

    @property
    def record(self) -> dict:
        """The ``variant`` field of every record of this variant (CONTRACTS)."""
        return {"path": str(self.path), "sha256": self.sha256}

    def write_copy(self, where) -> Path:
        """Copy the file (the bytes that were hashed) to ``where/variants/<stem>.py``."""
        d = Path(where) / "variants"
        d.mkdir(parents=True, exist_ok=True)
        target = d / self.path.name
        target.write_bytes(self.source)
        return target


def _module_name(path: Path) -> str:
    """The file's stem when that name is free, so spawned workers (which get the parent's
    ``sys.path``) can import the variant's rule by module name to unpickle it; otherwise a
    unique name (the variant then runs on the reference backend only)."""
    stem = path.stem
    loaded = getattr(sys.modules.get(stem), "__file__", None)
    if loaded and Path(loaded).resolve() == path.resolve():
        return stem  # this very file, loaded before (a second command in one process)
    if stem.isidentifier() and stem not in sys.modules and stem not in sys.builtin_module_names:
        found = importlib.util.find_spec(stem)
        if found is None or (found.origin and Path(found.origin).resolve() == path.resolve()):
            return stem
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    return f"asyncbound_variant_{stem}_{digest}"


def _import(path: Path):
    parent = str(path.resolve().parent)
    if parent not in sys.path:
        sys.path.append(parent)  # appended, so a variant never shadows an installed module
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise UsageError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except BaseException as exc:  # noqa: BLE001 - any failure of user code is bad input
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        msg = str(exc).splitlines()[0] if str(exc) else ""
        raise UsageError(f"{path}: raised {type(exc).__name__} on import: {msg}".rstrip(": ")) from None
    return module


def _validate_settings(p: Path, algo, module, backends) -> None:
    """Everything in a variant that can be checked before running: bad input, exit 2."""
    from asyncbound.implementations.delays import parse_delay
    from asyncbound.implementations.problems import get_problem
    from asyncbound.implementations.registry import build_rule, split_config

    problem, delay = getattr(module, "PROBLEM", None), getattr(module, "DELAY", None)
    if problem is not None:
        if not isinstance(problem, str) or not problem.strip():
            raise UsageError(f"{p}: PROBLEM must be a problem name, got {problem!r}")
        try:
            get_problem(problem)
        except Exception as exc:  # noqa: BLE001 - any failure here is the variant's
            raise UsageError(f"{p}: PROBLEM: {_first_line(exc)}") from None
    if delay is not None:
        if not isinstance(delay, str) or not delay.strip():
            raise UsageError(f"{p}: DELAY must be a delay spec (e.g. 'uniform:4'), got {delay!r}")
        try:
            parse_delay(delay)
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"{p}: DELAY: {_first_line(exc)}") from None
    options = getattr(module, "PROBLEM_OPTIONS", None)
    if options is not None:
        if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
            raise UsageError(f"{p}: PROBLEM_OPTIONS must be a dict of get_problem keyword "
                             f"arguments (e.g. {{'sigma': 0.1}}), got {options!r}")
        try:
            get_problem(problem or "quadratic", **options)
        except Exception as exc:  # noqa: BLE001 - any failure here is the variant's
            raise UsageError(f"{p}: PROBLEM_OPTIONS: {_first_line(exc)}") from None
    try:
        rule_kw, _ = split_config(algo, algo.config())
        build_rule(algo, **rule_kw)
    except Exception as exc:  # noqa: BLE001 - the rule factory is user code
        raise UsageError(f"{p}: {algo.name}'s rule cannot be built: {_first_line(exc)}") from None
    from asyncbound.implementations.backends import capabilities

    real = [b for b in backends if capabilities(b).spawns_workers]
    if real and module.__name__ != p.stem:
        raise UsageError(f"{p}: the file name {p.name!r} shadows a module of that name, so "
                         f"worker processes could not import it ({', '.join(real)} backend): "
                         "rename the file")


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load_variant(path, *, backends=("reference",)) -> LoadedVariant:
    from asyncbound.implementations.registry import ALGORITHMS, AlgorithmSpec, register

    from asyncbound import theory

    p = Path(path)
    if not p.exists():
        raise UsageError(f"{p}: no such file")
    if p.is_dir() or p.suffix != ".py":
        raise UsageError(f"{p}: a variant must be a .py file")
    before = dict(ALGORITHMS)
    source = p.read_bytes()  # hashed before import: the record names the bytes that ran
    module = _import(p)
    algo = getattr(module, "ALGORITHM", None)
    if algo is None:
        new = [s for n, s in ALGORITHMS.items() if n not in before or before[n] is not s]
        if len(new) == 1:
            algo = new[0]
        elif len(new) > 1:
            raise UsageError(f"{p}: registers {len(new)} algorithms ({', '.join(s.name for s in new)}); "
                             "set ALGORITHM to the one to check")
    if algo is None:
        raise UsageError(f"{p}: defines no algorithm: set ALGORITHM = AlgorithmSpec(...) "
                         "(see examples/variant_nesterov_hogwild.py)")
    if not isinstance(algo, AlgorithmSpec):
        raise UsageError(f"{p}: ALGORITHM must be an asyncbound.implementations.registry.AlgorithmSpec, "
                         f"got {type(algo).__name__}")
    _register_bounds(p, module)
    if not algo.bounds:
        raise UsageError(f"{p}: {algo.name} claims no bound: list theory bound keys in bounds=(...)")
    for key in algo.bounds:
        if key not in theory.BOUNDS:
            close = difflib.get_close_matches(key, list(theory.BOUNDS), n=3, cutoff=0.4)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise UsageError(f"{p}: {algo.name} claims unknown bound {key!r}{hint}")
    if algo.implements is not None and (algo.implements not in ALGORITHMS
                                        or algo.implements == algo.name):
        close = difflib.get_close_matches(algo.implements, list(ALGORITHMS), n=3, cutoff=0.4)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UsageError(f"{p}: {algo.name} implements {algo.implements!r}, which is not another "
                         f"registered algorithm{hint}")
    _validate_settings(p, algo, module, backends)
    if ALGORITHMS.get(algo.name) is not algo:
        register(algo, replace=True)
    steps = getattr(module, "STEPS", None)
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 10):
        raise UsageError(f"{p}: STEPS must be an integer >= 10, got {steps!r}")
    loaded = LoadedVariant(algo, p, module, getattr(module, "PROBLEM", None),
                           getattr(module, "DELAY", None), steps,
                           dict(getattr(module, "PROBLEM_OPTIONS", None) or {}),
                           hashlib.sha256(source).hexdigest(), source)
    return loaded


def apply_overrides(v: LoadedVariant, *, delay: str | None = None, steps: int | None = None) -> None:
    """Command-line overrides of the file's ``DELAY``/``STEPS`` (``check --delay/--steps``),
    validated like the file's own values: a ``UsageError`` naming the flag."""
    from asyncbound.implementations.delays import parse_delay

    if delay is not None:
        if not delay.strip():
            raise UsageError("--delay must be a delay spec (e.g. 'uniform:4'), got ''")
        try:
            parse_delay(delay)
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"--delay: {_first_line(exc)}") from None
        v.delay = delay
    if steps is not None:
        if steps < 10:
            raise UsageError(f"--steps must be an integer >= 10, got {steps}")
        v.steps = steps


def load_bounds(path) -> list[str]:
    """Import a variant file for its theorems only (``theory list/show --with FILE``): register
    its ``BOUNDS`` (and whatever it registers itself); return the keys it added, in order. The
    file need not define an algorithm. Bad file: a ``UsageError`` line."""
    from asyncbound import theory

    p = Path(path)
    if not p.exists():
        raise UsageError(f"{p}: no such file")
    if p.is_dir() or p.suffix != ".py":
        raise UsageError(f"{p}: a variant must be a .py file")
    before = dict(theory.BOUNDS)
    module = _import(p)
    _register_bounds(p, module)
    declared = [b.key for b in getattr(module, "BOUNDS", None) or ()]
    added = [k for k, b in theory.BOUNDS.items() if before.get(k) is not b]
    return list(dict.fromkeys(declared + added))


def _register_bounds(path: Path, module) -> None:
    """Register the file's ``BOUNDS`` (user bounds); a bad one is a ``UsageError`` line."""
    from asyncbound import theory

    declared = getattr(module, "BOUNDS", None)
    if declared is None:
        return
    if isinstance(declared, theory.Bound) or not isinstance(declared, (list, tuple)):
        raise UsageError(f"{path}: BOUNDS must be a list of asyncbound.theory.Bound, "
                         f"got {type(declared).__name__}")
    keys = [getattr(b, "key", None) for b in declared]
    twice = sorted({k for k in keys if keys.count(k) > 1}, key=str)
    if twice:
        raise UsageError(f"{path}: BOUNDS declares {twice[0]!r} twice")
    for bound in declared:
        try:
            # replace: re-loading an edited file replaces its own earlier claim
            theory.register_bound(bound, replace=True)
        except ValueError as exc:
            raise UsageError(f"{path}: {exc}") from None


def specs_for_variant(v: LoadedVariant, *, suite: str = "quick", backends=("reference",), workers: int = 4):
    from asyncbound.checks import suite as suite_mod

    specs = suite_mod.build_suite(suite, backends=backends, workers=workers, algorithms=[v.algorithm])
    for s in specs:
        if v.problem:
            s.problem = v.problem
        if v.problem_options:
            s.problem_options = {**s.problem_options, **v.problem_options}
        if v.delay and s.study is None:
            s.delay = v.delay
        if v.steps:
            s.steps = v.steps
    return specs
