"""Planning a check: the delay model and the step size, before anything runs.

The step size is ``lr_fraction`` times the admissible maximum of the bound's solved side
conditions (``eta <= expr``, and ``derived["eta_max"]``), evaluated with the run's settings and
the staleness the run is planned for; a check that fixes ``lr`` keeps it, and a bound with no
condition on eta gets the algorithm's default.

Issue 17: a plan says what it cannot honour (``Plan.notes``, the record's ``plan_notes``): an
``lr_fraction`` with no condition on eta to take a fraction of, a step the theorem allows that
delayed GD cannot take. For a bound whose step is eta times a gradient (its algorithm class's
``linear_step``) with L certified, the admissible maximum is capped at the stability threshold
of delayed GD on the worst L-smooth quadratic (:func:`.applicability.stable_step`): the
theorem's condition may allow more (eta <= 1/mu), but such a run diverges and tests nothing.
Then ``lr_fraction`` is taken of the stable step, and ``lr_fraction >= 1`` (the threshold itself,
where delayed GD does not converge) is refused: NOT_APPLICABLE without running, with the reason.

The planned staleness is the delay model's guaranteed ``max_delay``. A backend that does not
inject delays (its capability ``injects_delays`` is False) sees only natural asynchrony: a master
with equally fast workers sees staleness ``p - 1``, and we plan for ``2 (p - 1)`` for room (the
measured tau decides afterwards).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from asyncbound.checks import binding

#: Fraction of the admissible maximum step used by default: well inside the side condition, so
#: a PASS is not an accident of sitting on the boundary, yet large enough that the delay term of
#: the bound matters (a tiny step would make every delay bound trivially true).
LR_FRACTION = 0.5


@dataclass(frozen=True)
class Plan:
    """What a check runs with: the parsed delay model (parsed once per check), the step size and
    how it was chosen, and the algorithm's hyperparameters merged with the check's options."""

    delays: object  # implementations.delays.DelayModel
    lr: float
    lr_rule: str
    hparams: dict
    #: what the plan could not honour or found unsafe (issue 17), kept in the record
    notes: tuple = ()
    #: a Decision (NOT_APPLICABLE) when the asked-for step is one delayed GD cannot take: the
    #: engine reports it without running
    refused: object = None


def load_algorithm(algorithm):
    """A registry name -> its AlgorithmSpec; an AlgorithmSpec (a user's variant) passes through."""
    if not isinstance(algorithm, str):
        return algorithm
    from asyncbound.implementations.registry import get_algorithm

    return get_algorithm(algorithm)


def load_problem(check):
    """The check's problem, built with its options and base seed."""
    from asyncbound.implementations.problems import get_problem

    return get_problem(check.problem, seed=check.base_seed, **dict(check.problem_options))


def parse_delay(text: str):
    from asyncbound.implementations.delays import parse_delay as _parse

    return _parse(text)


def merged_hparams(algo, options: dict, lr: float) -> dict:
    """The registry defaults, overridden by the check's options, with the step size ``lr``."""
    h = dict(getattr(algo, "defaults", {}) or {})
    h.update(options)
    h["lr"] = lr
    return h


def admissible_lr(bound, values: dict) -> tuple[float, list[str]]:
    """Largest eta allowed by the bound's solved side conditions (``eta <= expr``), evaluated
    at ``values``; inf when no condition constrains eta. Returns (eta_max, condition texts)."""
    import sympy as sp

    eta = sp.Symbol("eta", positive=True)
    best, texts = math.inf, []
    exprs = []
    derived = getattr(bound, "derived", {}) or {}
    if "eta_max" in derived:
        exprs.append(derived["eta_max"])
    for c in bound.conditions:
        if c.lhs == eta and c.rel_op in ("<=", "<"):
            exprs.append(c.rhs)
        elif c.rhs == eta and c.rel_op in (">=", ">"):
            exprs.append(c.lhs)
    for e in exprs:
        names = {s.name for s in e.free_symbols}
        if not names <= values.keys():
            continue
        try:
            v = float(e.subs({s: values[s.name] for s in e.free_symbols}))
        except (TypeError, ValueError):
            continue
        if math.isfinite(v) and v > 0:
            texts.append(f"eta <= {sp.sstr(e)} = {v:.4g}")
            best = min(best, v)
    return best, texts


def planned_tau(check, delays) -> int | None:
    """The staleness the step size is solved for (see the module docstring)."""
    from asyncbound.implementations.backends import capabilities

    tau = getattr(delays, "max_delay", None)
    if not capabilities(check.backend).injects_delays:
        tau = max(tau or 0, 2 * (check.workers - 1))
    return tau


def plan_lr(check, bound, problem, algo, delays=None) -> tuple[float, str]:
    """(step size, how it was chosen); ``delays``: the parsed delay model (parsed here if None)."""
    lr, rule, _, _ = plan_lr_noted(check, bound, problem, algo, delays)
    return lr, rule


def _stability(bound, problem, delays, tau) -> tuple[float, str] | None:
    """(largest stable step, why) for a linear-step bound on a problem with a certified L."""
    from asyncbound.checks.applicability import stable_step
    from asyncbound.theory.coverage import covers

    L = (getattr(problem, "constants", {}) or {}).get("L")
    if not covers(bound).linear_step or L is None or not float(L) > 0:
        return None  # no certified curvature (or none at all: L = 0): no step is unstable
    family = "constant" if str(getattr(delays, "spec", "")).split(":")[0] in ("constant", "adversarial") else "other"
    if tau is None:  # unbounded delays: GD's own threshold, necessary once delay 0 can be drawn
        return stable_step(float(L), 0, "constant")
    return stable_step(float(L), int(tau), family)


def plan_lr_noted(check, bound, problem, algo, delays=None) -> tuple[float, str, tuple, bool]:
    """(step size, how it was chosen, notes, whether it was capped at the stable step): see the
    module docstring."""
    default_lr = float((getattr(algo, "defaults", {}) or {}).get("lr", 0.01))
    delays = parse_delay(check.delay) if delays is None else delays
    stab = _stability(bound, problem, delays, planned_tau(check, delays))
    if check.lr is not None:
        notes = ()
        if stab is not None and check.lr >= stab[0]:
            notes = (f"the given lr = {check.lr:.4g} is at or above the stable step {stab[0]:.4g} "
                     f"({stab[1]}): the run is expected to diverge",)
        return float(check.lr), "given by the check", notes, False
    ctx = binding.RunContext(problem=problem, lr=default_lr, steps=check.steps, workers=check.workers,
                             hparams=merged_hparams(algo, check.options, default_lr),
                             pattern=str(getattr(algo, "pattern", "full")),
                             delay_max=planned_tau(check, delays), overrides=check.overrides)
    consts, _ = binding.bind(bound.symbols(), ctx)
    eta_max, texts = admissible_lr(bound, binding.values(consts))
    if math.isfinite(eta_max):
        if stab is not None and stab[0] < eta_max:
            note = (f"the theorem allows eta up to {eta_max:.4g}, but {stab[1]} (eta < {stab[0]:.4g}); "
                    f"lr_fraction is taken of the stable step")
            return (check.lr_fraction * stab[0],
                    f"{check.lr_fraction:g} x stable step {stab[0]:.4g} (below the admissible max: "
                    f"{'; '.join(texts)})", (note,), True)
        return check.lr_fraction * eta_max, f"{check.lr_fraction:g} x admissible max ({'; '.join(texts)})", (), False
    notes = (f"lr_fraction = {check.lr_fraction:g} not honoured: the theorem has no condition on eta "
             f"to take a fraction of; the algorithm's default lr = {default_lr:g} is used",)
    if stab is not None and default_lr >= stab[0]:
        notes += (f"the default lr = {default_lr:g} is at or above the stable step {stab[0]:.4g} ({stab[1]})",)
    return default_lr, "algorithm default (no side condition on eta)", notes, False


def plan(check, bound, problem, algo, delays=None) -> Plan:
    """Parse the delay model once (unless given) and plan the step size."""
    delays = parse_delay(check.delay) if delays is None else delays
    lr, rule, notes, capped = plan_lr_noted(check, bound, problem, algo, delays)
    p = fixed_plan(check, algo, lr, rule, delays, notes)
    if capped and check.lr_fraction >= 1:
        from dataclasses import replace

        from asyncbound.checks.verdicts import Decision, Verdict

        p = replace(p, refused=Decision(Verdict.NOT_APPLICABLE, (
            f"lr_fraction = {check.lr_fraction:g} of the admissible step cannot be run: {notes[0]}; "
            f"at lr_fraction >= 1 the step {lr:.4g} is at or above the stability threshold, where "
            "delayed GD does not converge")))
    return p


def fixed_plan(check, algo, lr: float, lr_rule: str, delays, notes: tuple = ()) -> Plan:
    """A plan whose step size the caller chose (the studies choose theirs by their own rule)."""
    return Plan(delays=delays, lr=lr, lr_rule=lr_rule, hparams=merged_hparams(algo, check.options, lr),
                notes=tuple(notes))
