"""The admissible configuration space of a bound, derived from the theorem (issue 12).

A bound check used to run at one configuration. Here a bound's *space* is every configuration
the theorem makes a claim about, on the axes a run can vary:

- step size: ``eta / eta_max`` in ``(0, 1]``, where ``eta_max`` is the admissible maximum solved
  from the bound's side condition (``planning.admissible_lr``) at the tau the delay model
  guarantees (``max_delay``). A bound with no condition on eta (it holds for every eta > 0) is
  searched around the step its check configures (``NO_CONDITION_LR``): stability is not the
  theorem's business there, and an exploding run with measured constants would only be vacuous;
- delay family and tau: ``adversarial:T`` (the bounded-delay worst case), ``uniform:T``,
  ``geometric`` and ``pareto`` (heavy tail) capped at T, heterogeneous virtual-time speeds
  capped at T. Every one guarantees ``max_delay = T``, so eta_max is solved at T;
- problem family and parameters: among :data:`PROBLEM_FAMILIES`, those that *certify* every
  constant of the bound and its conditions (:func:`certifies`) and satisfy its structural
  assumptions (:func:`structural_gap`: a box problem only for a bound that assumes a bounded
  domain or whose algorithm class declares the box-projected iteration covered); constants that
  are measured by definition (the run's own starting gap F0, ||x0 - x*||^2, staleness, block
  fractions, the elastic constant B of the run) are allowed; a family built for long transients
  is no candidate for an ASYMPTOTIC claim (``ProblemFamily.long_transient``);
- workers and horizon K (multiples of the check's configured K).

A configuration the theorem does not cover after all (a side condition fails on the run, a
certificate is missing) comes back NOT_APPLICABLE from ``run_check`` and is no candidate for the
worst case (see :mod:`.search`).

Points are given in the unit cube (one coordinate per axis, categorical axes by ``floor(u n)``)
so that the search's design (:mod:`.search`) is independent of the axes' meaning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: constants a run measures by definition (not certificates a problem could give): F0 and
#: r0_sq at the recorded starting points, staleness and block fractions from the schedule, and the
#: run's own elastic constant B (replaced by the system formula when M is certified)
MEASURED_BY_DEFINITION = frozenset({"F0", "r0_sq", "tau", "tau_avg", "p_min", "B"})

#: factors of the configured step searched for bounds without a condition on eta
NO_CONDITION_LR = (0.5, 2.0)


@dataclass(frozen=True)
class ProblemFamily:
    """A registered problem and its parameter levels, ordered from benign to hard."""

    name: str
    levels: dict = field(default_factory=dict)  # option -> tuple of values
    fixed: dict = field(default_factory=dict)
    #: runs spend a long pre-asymptotic phase on purpose (starts far from x*, plateaus of a
    #: redescending loss): candidates for bounds that hold at every K, not for an ASYMPTOTIC
    #: claim, whose finite-run proxy (a log-log slope over the run) presumes its regime is reached
    long_transient: bool = False

    def options(self, u: tuple[float, ...]) -> dict:
        """The options at unit coordinates ``u`` (one per option, in ``levels`` order)."""
        out = dict(self.fixed)
        for (name, vals), x in zip(self.levels.items(), u[:len(self.levels)], strict=True):
            out[name] = vals[min(int(x * len(vals)), len(vals) - 1)]
        return out


#: the problems the search draws from (condition number, noise, dimension; the non-quadratic,
#: bounded-gradient, box-projected and non-convex ones); a bound keeps those that certify its
#: constants. Certificates are judged at a family's MIDDLE level (space_for), so a structural
#: variant that certifies other constants (a ridge: mu but no M; a box: M and D) is a family of
#: its own, as logistic / logistic_box. The order places a family in the cells the Halton start
#: points visit (checks.search.design_point): tanh_net before logistic and welsch before cauchy
#: keep the start points of the 3- and 7-family spaces where they were before tanh_net joined
#: (the rate shapes' 4th family is visited by a coverage point). Huber's levels reach the regime
#: where NC-M is tight: one sample (||grad f|| = M in the linear zone) and starts far from x* (a
#: long linear zone).
PROBLEM_FAMILIES: tuple[ProblemFamily, ...] = (
    ProblemFamily("quadratic", {"cond": (1.0, 10.0, 100.0), "sigma": (0.01, 0.1, 1.0), "dim": (5, 10, 20)}),
    ProblemFamily("quadratic_box", {"box": (2.0, 1.0, 0.5), "cond": (1.0, 10.0, 100.0), "dim": (5, 10, 20)}),
    ProblemFamily("huber", {"n": (1, 20, 200), "x0_scale": (30.0, 300.0, 3000.0), "dim": (5, 10, 20)},
                  long_transient=True),
    ProblemFamily("huber_ridge", {"lam": (0.1, 0.03, 0.01), "delta": (0.5, 1.0, 2.0), "dim": (5, 10, 20)}),
    ProblemFamily("huber_box", {"box": (2.0, 1.0, 0.5), "lam": (0.1, 0.03, 0.01), "dim": (5, 10, 20)}),
    # the small network with a certified L (fixed output layer): the non-convex candidate for the
    # rate shapes; hard = wide, more inputs, two-sample gradients (one-sample ones leave normalized
    # steps at lr/sqrt(t) in a transient of ~ (sigma / (lr lambda))^2 >> K updates)
    ProblemFamily("tanh_net", {"hidden": (4, 8, 16), "batch_size": (16, 4, 2), "inputs": (2, 3, 4)}),
    ProblemFamily("logistic", {"lam": (0.1, 0.03, 0.01), "dim": (5, 10, 20)}),
    ProblemFamily("logistic_box", {"box": (0.5, 1.0, 2.0), "lam": (0.1, 0.03, 0.01), "dim": (5, 10, 20)}),
    # starts at most 10 loss scales from x* (10 c): farther, Welsch's gradient underflows
    # (r e^{-r^2/2} = 0 in float64 from |r| ~ 39), a plateau where no run moves
    ProblemFamily("welsch", {"x0_scale": (1.0, 3.0, 10.0), "dim": (5, 10, 20)}, long_transient=True),
    ProblemFamily("cauchy", {"x0_scale": (1.0, 3.0, 10.0), "dim": (5, 10, 20)}, long_transient=True),
    ProblemFamily("mlp", {"hidden": (4, 8, 16)}, {"n": 256, "inputs": 4}),
)

#: ordered so that the first 3 design points (checks.search.design_point's rotated base-5 axis:
#: cells 2, 3, 4, then 0, 1) visit adversarial, pareto, virtual; uniform is the suite's anchor
DELAY_FAMILIES = ("uniform", "geometric", "adversarial", "pareto", "virtual")
#: a bound's taus: 1 (the smallest delay: one update of staleness an implementation gets wrong
#: doubles it), half its configured one, the configured one and TAU_FACTOR times it
TAU_FACTOR = 3


def delay_spec(family: str, tau: int, u: float, workers: int) -> str:
    """The delay model of ``family`` guaranteeing ``max_delay = tau``; ``u`` in [0, 1] is the
    family's shape (geometric: mean from tau/4 to tau; pareto: tail index 2.5 down to 1.1, i.e.
    from finite variance to nearly infinite mean; virtual: the slowest worker 1x to 8x slower)."""
    if tau == 0:
        return "none"
    if family in ("adversarial", "uniform"):
        return f"{family}:{tau}"
    if family == "geometric":
        mean = tau * (0.25 + 0.75 * u)
        return f"geometric:{1.0 / (1.0 + mean):.4g},cap={tau}"
    if family == "pareto":
        return f"pareto:{2.5 - 1.4 * u:.3g},cap={tau}"
    if family == "virtual":
        slow = 1.0 + 7.0 * u
        speeds = ",".join(["1"] * (workers - 1) + [f"{slow:.3g}"])
        return f"virtual:speeds={speeds},cap={tau}"
    raise ValueError(f"unknown delay family {family!r}; valid: {', '.join(DELAY_FAMILIES)}")


def structural_gap(bound, problem) -> str | None:
    """Why the theorem's structural assumptions fail on ``problem`` (None when they hold):
    smoothness where assumed; a box domain when the theorem assumes one, and a box problem only
    where the theorem assumes a bounded domain or its algorithm class
    (:func:`asyncbound.theory.coverage.covers`) declares that the proof holds for the
    box-projected iteration (an unconstrained theorem says nothing about a projected run unless
    its derivation says so; a bound with no stated class is not searched on box problems);
    strong convexity only with a certified mu > 0."""
    keys = {a.key for a in bound.assumptions}
    consts = getattr(problem, "constants", {}) or {}
    if "smooth" in keys and not getattr(problem, "smooth", True):
        return "structural assumption not met: smoothness (the problem is not smooth)"
    box = "D" in consts
    if "bounded_domain" in keys and not box:
        return "structural assumption not met: the theorem assumes a bounded domain (no box)"
    if box and "bounded_domain" not in keys and not declares_box(bound):
        return ("structural assumption not met: a box problem, and the theorem is not declared to "
                "hold for the box-projected iteration")
    if "strongly_convex" in keys and not consts.get("mu", 0) > 0:
        return "structural assumption not met: strong convexity (no certified mu > 0)"
    return None


def declares_box(bound) -> bool:
    """The bound's stated algorithm class admits the iteration projected onto a box (the same
    table :func:`asyncbound.checks.applicability.outside_class` reads)."""
    from asyncbound.theory import coverage

    cls = coverage.covers(bound)
    return cls is not coverage.ANY and cls.domain in coverage.BOX_DOMAINS


def certifies(bound, problem, ctx_values: dict) -> list[str]:
    """Symbols of the bound (and its conditions) with neither a certificate, a setting nor a
    by-definition measurement at plan time: empty when ``problem`` certifies the bound."""
    from asyncbound.checks import binding

    needed = set(bound.symbols())
    for c in bound.conditions:
        needed |= {s.name for s in c.free_symbols}
    needed -= binding.UNBINDABLE | MEASURED_BY_DEFINITION
    return sorted(needed - ctx_values.keys())


@dataclass
class SearchSpace:
    """The admissible space of one check's bound (see the module docstring)."""

    bound: str
    problems: list  # [(ProblemFamily, ...)] families that certify the bound
    delays: tuple   # delay families (() for a synchronous pattern: no staleness)
    taus: tuple
    workers: tuple
    steps: tuple
    lr_axis: str    # "fraction": eta/eta_max in (0, 1]; "factor": x the configured lr
    lr_range: tuple
    excluded: dict = field(default_factory=dict)  # family -> why not a candidate
    #: False when no family certifies the bound and the check's own problem stands in, its
    #: constants measured on the run
    certified: bool = True

    #: unit-cube axes, the two categorical ones first (checks.search.design_point)
    AXES = ("problem", "delay", "lr", "tau", "shape", "workers", "steps", "p1", "p2", "p3")

    @property
    def dim(self) -> int:
        return len(self.AXES)

    def point(self, u) -> dict:
        """The CheckSpec fields of unit-cube point ``u`` (``len(u) == dim``), plus the axes'
        readable values under ``"axes"``."""
        ax = dict(zip(self.AXES, u, strict=True))

        def pick(vals, x):
            return vals[min(int(x * len(vals)), len(vals) - 1)]

        fam = pick(self.problems, ax["problem"])
        workers = pick(self.workers, ax["workers"])
        tau = pick(self.taus, ax["tau"])
        family = pick(self.delays, ax["delay"]) if self.delays else "none"
        delay = "none" if family == "none" else delay_spec(family, tau, ax["shape"], workers)
        lo, hi = self.lr_range
        if self.lr_axis == "fraction":
            scale = lo + (hi - lo) * ax["lr"]
        else:  # log-uniform factor
            scale = math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * ax["lr"])
        opts = fam.options((ax["p1"], ax["p2"], ax["p3"]))
        fields = dict(problem=fam.name, problem_options=opts, delay=delay, workers=workers,
                      steps=pick(self.steps, ax["steps"]))
        axes = dict(problem=fam.name, **{f"problem.{k}": v for k, v in opts.items()},
                    delay_family=family, tau=tau if family != "none" else 0, workers=workers,
                    steps=fields["steps"])
        if self.lr_axis == "fraction":
            fields["lr_fraction"] = scale
            axes["eta_over_eta_max"] = scale
        else:
            axes["lr_factor"] = scale
            fields["_lr_factor"] = scale
        fields["axes"] = axes
        return fields

    def describe(self) -> dict:
        return {"bound": self.bound, "problems": [f.name for f in self.problems],
                "delays": list(self.delays), "taus": list(self.taus), "workers": list(self.workers),
                "steps": list(self.steps), "lr_axis": self.lr_axis, "lr_range": list(self.lr_range),
                "excluded": dict(self.excluded), "certified": self.certified}


def _certified_at_plan(bound, problem, check) -> dict:
    from asyncbound.checks import binding, planning

    algo = planning.load_algorithm(check.algorithm)
    ctx = binding.RunContext(problem=problem, lr=0.01, steps=check.steps, workers=check.workers,
                             hparams=planning.merged_hparams(algo, check.options, 0.01),
                             pattern=str(getattr(algo, "pattern", "full")), delay_max=1,
                             overrides=check.overrides)
    consts, _ = binding.bind(bound.symbols(), ctx)
    return binding.values(consts)


def space_for(check, bound=None) -> SearchSpace:
    """The admissible space of ``check``'s bound, around the check's own configuration."""
    from asyncbound.checks import planning
    from asyncbound.implementations.backends import capabilities
    from asyncbound.implementations.problems import get_problem

    from asyncbound import theory

    bound = theory.get_bound(check.bound) if bound is None else bound
    families, excluded = [], {}
    for fam in PROBLEM_FAMILIES:
        if fam.long_transient and bound.kind == theory.Kind.ASYMPTOTIC:
            excluded[fam.name] = ("long pre-asymptotic phase by design (far starts / plateaus): an "
                                  "ASYMPTOTIC claim's finite-run proxy presumes its regime is reached")
            continue
        # certificates are a property of the family: its middle level stands for all of them
        opts = fam.options(tuple(0.5 for _ in fam.levels))
        try:
            problem = get_problem(fam.name, seed=check.base_seed, **opts)
        except ValueError as exc:  # pragma: no cover - a family's own levels are valid
            excluded[fam.name] = str(exc)
            continue
        gap = structural_gap(bound, problem)
        if gap is None:
            # an assumption only a certificate can give (L-smoothness of the small network): the
            # check would say NOT_APPLICABLE before running, a design point spent on nothing
            from asyncbound.checks.applicability import uncertified

            no_cert = uncertified(bound, problem, check.overrides)
            gap = None if no_cert is None else no_cert.reason
        if gap is not None:
            excluded[fam.name] = gap
            continue
        missing = certifies(bound, problem, _certified_at_plan(bound, problem, check))
        if missing:
            excluded[fam.name] = f"does not certify {', '.join(missing)}"
            continue
        families.append(fam)
    certified = bool(families)
    if not certified:  # the check's own problem stays the one candidate (measured constants)
        families = [ProblemFamily(check.problem, {}, dict(check.problem_options))]
    algo = planning.load_algorithm(check.algorithm)
    pattern = str(getattr(algo, "pattern", "full"))
    base_tau = getattr(planning.parse_delay(check.delay), "max_delay", None) or 4
    if pattern == "sync" or check.delay == "none" or not capabilities(check.backend).injects_delays:
        delays, taus = (), (0,)
    else:
        delays = DELAY_FAMILIES
        taus = tuple(sorted({1, max(1, base_tau // 2), base_tau, TAU_FACTOR * base_tau}))
    vals = _certified_at_plan(bound, _probe(families[0], check), check) | {"tau": float(base_tau)}
    eta_max, _ = planning.admissible_lr(bound, vals)
    if check.lr is None and math.isfinite(eta_max):
        lr_axis, lr_range = "fraction", (0.1, 1.0)
    else:
        lr_axis, lr_range = "factor", NO_CONDITION_LR
    # with a configured lr or no side condition on eta, the step is searched as a factor
    workers = tuple(sorted({2, check.workers, 2 * check.workers}))
    steps = (check.steps, 2 * check.steps)
    return SearchSpace(check.bound, families, delays, taus, workers, steps, lr_axis, lr_range, excluded,
                       certified)


def _probe(fam: ProblemFamily, check):
    from asyncbound.implementations.problems import get_problem

    return get_problem(fam.name, seed=check.base_seed, **fam.options(tuple(0.5 for _ in fam.levels)))


def breadth(specs) -> list[dict]:
    """Per searched bound check of ``specs`` (``test == "bound"``, no study): the problem
    families that certify its bound (empty when the check's own problem stands in with measured
    constants) and the delay families of its space (issue 12: >= 3 of each for a derived bound;
    a synchronous pattern has no staleness, hence no delay family)."""
    from asyncbound import theory

    rows = []
    for s in specs:
        if s.test != "bound" or s.study:
            continue
        sp = space_for(s)
        rows.append({"bound": s.bound, "algorithm": s.algorithm_name,
                     "provenance": theory.get_bound(s.bound).provenance.value,
                     "problems": [f.name for f in sp.problems] if sp.certified else [],
                     "delays": list(sp.delays), "excluded": dict(sp.excluded)})
    return rows


def breadth_markdown(rows: list[dict]) -> str:
    out = ["| bound check | algorithm | provenance | certifying problem families | delay families |",
           "|---|---|---|---|---|"]
    for r in rows:
        probs = ", ".join(r["problems"]) or "none (the check's own problem, measured constants)"
        delays = ", ".join(r["delays"]) or "none (synchronous)"
        out.append(f"| `{r['bound']}` | {r['algorithm']} | {r['provenance']} | {len(r['problems'])}: "
                   f"{probs} | {len(r['delays'])}: {delays} |")
    return "\n".join(out)


def main(argv=None) -> int:
    """``python -m asyncbound.checks.search_space [--suite quick] [--derived]``: the breadth table."""
    import argparse

    from asyncbound.checks.suite import SUITES, build_suite

    p = argparse.ArgumentParser(prog="python -m asyncbound.checks.search_space")
    p.add_argument("--suite", default="quick", choices=SUITES)
    p.add_argument("--derived", action="store_true", help="only the derived bounds")
    a = p.parse_args(argv)
    rows = [r for r in breadth(build_suite(a.suite)) if not a.derived or r["provenance"] == "derived"]
    print(breadth_markdown(rows))
    return 0


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(main())
