"""Worst-case search inside a bound check: try the claim where it is weakest (issue 12).

``search_check(check, alpha)`` is what ``run_check`` does for a check with a ``search`` profile.
It searches the bound's admissible space (:mod:`.search_space`) for the configuration where the
algorithm comes closest to violating the bound, then decides there.

Design (deterministic, so a record is reproducible from its config alone):

1. *anchor*: the check's own configuration (the one every earlier version of the suite ran);
   then the *corner* (:func:`corner_point`): the step at the top of its axis under adversarial
   (constant) delays, the bounded-delay worst case, at the smallest tau of the space (1), on the
   first certifying problem at its middle levels and again at its first levels;
2. *space-filling start*: the first points of a low-discrepancy design in the unit cube of the
   space's axes (:func:`design_point`: Halton in bases 3 and 5 on the two categorical axes, so
   that the first 3 points already visit 3 distinct problem families and 3 distinct delay
   families, and Roberts' Kronecker sequence on the others), plus one point per certifying
   family still unvisited, up to the profile's ``cover`` (:func:`coverage_points`);
3. *local refinement*: a pattern search from the worst point so far: one coordinate (step,
   tau, delay shape, workers, in that order, each first towards the hard end) moves by h, and h
   halves after every sweep. Bounded-delay theorems are tightest at the boundary of their side
   conditions, which is where the "+" moves go first.

Each configuration is *screened* on its own independent seed batch (``base_seed + SCREEN_OFFSET
+ i SCREEN_STRIDE``) and ranked by its badness: a screened FAIL first, then the largest
``measured/bound - 1`` (upper bounds with a positive value) or ``-margin/|bound|`` (proxies,
whose margin is positive on the claimed side). NOT_APPLICABLE and DIVERGED configurations (the
theorem makes no claim there: a side condition failed, or a constant had to be measured on the
diverging run; a divergence under certified constants is already a FAIL) and those without a
measurement are no candidates.

Multiple comparisons: the verdict is decided by a *fresh* run at the worst configuration on the
check's own seed batch (``base_seed .. base_seed + seeds - 1``), disjoint from every screening
batch. The choice of the configuration depends on the screening batches only, so, given the
choice, the deciding run is an independent test at the check's alpha: its false-FAIL
probability is at most alpha whatever the search did, and the search spends no alpha
(screening verdicts never decide). The suite's Bonferroni split over checks is unchanged.

The record (CONTRACTS §9) gains ``search`` (every screened configuration: axes, seeds, verdict,
ratio, margin, badness), ``worst`` (the deciding configuration and its screening),
``search_space`` and ``reproduce`` (one command line re-running the deciding configuration:
``python -m asyncbound.checks.search --reproduce '<config json>' [--with VARIANT.py]``), and for
a FAIL the ``counterexample``: the worst configuration shrunk along its simplicity axes while it
still FAILs on the check's own seeds (:func:`shrink`), with its own ``reproduce`` line.

A configuration whose run diverges (screened or deciding) is re-run, same configuration and
seeds, with the registered algorithm the checked one extends (:func:`baseline_for`); the entry
keeps both side by side (``baseline``), and the record lists the configurations where the
checked algorithm diverges and its baseline converges (``diverges_where_baseline_converges``).
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import math
import shlex
import sys
from dataclasses import dataclass, replace

from asyncbound.checks.search_space import SearchSpace, space_for

log = logging.getLogger(__name__)

#: screening batch i (i = 0 the anchor) starts at base_seed + SCREEN_OFFSET + i * SCREEN_STRIDE:
#: disjoint from the deciding batch and from the replicate batches of the false-alarm and power
#: scripts (base_seed + b * 1000, b < 10^4)
SCREEN_OFFSET = 10_000_000
SCREEN_STRIDE = 1000


@dataclass(frozen=True)
class Profile:
    """A search budget: Halton start points, refinement moves, horizon multipliers."""

    name: str
    start: int
    refine: int
    steps: tuple = (1,)
    shrink: int = 2  # runs spent making a FAIL's counterexample simpler
    #: certifying problem families every search visits (up to this many, in the space's order):
    #: one start point is added per family the anchor, corners and start points left unvisited
    cover: int = 4


PROFILES = {
    # CI: 3 start points cover 3 problem and 3 delay families, plus one for a 4th family (the
    # rate shapes' non-convex network); one move towards the hard end
    "quick": Profile("quick", start=3, refine=1),
    "full": Profile("full", start=11, refine=6, steps=(1, 2), shrink=4, cover=11),
    "thorough": Profile("thorough", start=31, refine=16, steps=(1, 2), shrink=6, cover=11),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"search profile must be one of {', '.join(PROFILES)}, got {name!r}")
    return PROFILES[name]


def design_point(i: int, dim: int) -> tuple[float, ...]:
    """The ``i``-th start point (i >= 1) in ``[0, 1)^dim``.

    The two categorical axes (problem family, delay family) take the Halton sequence in bases 3
    and 5, rotated by the fixed shift ``frac(sqrt(base))`` (a deterministic Cranley-Patterson
    rotation keeps the stratification: the first ``b`` points of a base-``b`` axis fall in ``b``
    distinct cells of width ``1/b``, so 3 points visit 3 problem families and 3 delay families).
    The other axes take the Kronecker sequence ``frac(i alpha_j)``, ``alpha_j = phi^-j`` with
    ``phi`` the real root of ``x^(m+1) = x + 1`` (Roberts' R_m sequence, m continuous axes):
    low-discrepancy, and unlike large-base Halton axes it spreads each axis from its first
    points on (the problem's parameters are not stuck at their lowest level for small budgets).
    With offset 0 and ``alpha_1 ~ 0.92`` the step axis starts near the admissible maximum
    (0.92, 0.84, 0.77 of the axis), the regime a bounded-delay theorem is tightest in; the anchor
    covers the suite's half step.
    """
    if isinstance(i, bool) or not isinstance(i, int) or i < 1:
        raise ValueError(f"i must be an integer >= 1, got {i!r}")
    if not 2 <= dim <= 16:
        raise ValueError(f"dim must be in [2, 16], got {dim!r}")
    out = []
    for b in (3, 5):
        f, r, n = 1.0, 0.0, i
        while n > 0:
            f /= b
            r += f * (n % b)
            n //= b
        out.append((r + math.sqrt(b)) % 1.0)
    m = dim - 2
    phi = 2.0
    for _ in range(60):  # fixed point of x = (1 + x)^(1/(m+1))
        phi = (1.0 + phi) ** (1.0 / (m + 1))
    out.extend((i * phi ** -(j + 1)) % 1.0 for j in range(m))
    return tuple(out)


def corner_point(space: SearchSpace, levels: float = 0.5) -> tuple[float, ...]:
    """The boundary of the side conditions under the bounded-delay worst case: the step at the
    top of its axis (``eta = eta_max``, or the largest factor of the configured step),
    ``adversarial`` delays (every update exactly tau stale) when the space has them, at the
    smallest tau of the space (tau = 1: where eta_max is largest, and where a mistake of one
    update in the staleness an implementation acts on weighs most: it doubles the delay), the
    fewest workers, the check's own horizon, and the first certifying problem with its
    parameters at ``levels`` of their axes (0.5: the middle levels; 0: the first, e.g. the
    quadratic with condition number 1 and the least noise, where every eigen-direction sits at
    the step's stability boundary ``eta L`` and nothing else hides a delay's oscillation).
    Bounded-delay bounds are tightest at eta_max under constant delays (the worst case the
    planner's stable step is computed for), and a random design reaches this corner only by
    luck."""
    if not 0.0 <= levels < 1.0:
        raise ValueError(f"levels must be in [0, 1), got {levels!r}")
    u = [0.5] * space.dim
    ax = {a: i for i, a in enumerate(SearchSpace.AXES)}
    for p in ("p1", "p2", "p3"):
        u[ax[p]] = levels
    u[ax["problem"]] = 0.5 / max(len(space.problems), 1)
    if "adversarial" in space.delays:
        u[ax["delay"]] = (space.delays.index("adversarial") + 0.5) / len(space.delays)
    u[ax["lr"]] = 0.999
    u[ax["tau"]] = 0.0
    u[ax["workers"]] = 0.0
    u[ax["steps"]] = 0.0
    return tuple(u)


def coverage_points(space: SearchSpace, profile: Profile, visited: set) -> list[tuple[float, ...]]:
    """Extra start points so that the search visits ``min(len(space.problems), profile.cover)``
    certifying families: for each family not in ``visited`` (in the space's order), the next
    design point (numbered on from the profile's start points) with its problem coordinate
    moved into that family's cell. With 3 families the Halton start already visits all 3, so
    nothing is added; a 4-family space (the rate shapes: quadratic, Huber + ridge, logistic and
    the tanh network) gets one point on the family its 3 start points missed."""
    want = min(len(space.problems), profile.cover)
    seen, out, i = set(visited), [], profile.start
    ax = SearchSpace.AXES.index("problem")
    for k, fam in enumerate(space.problems):
        if len(seen) >= want:
            break
        if fam.name in seen:
            continue
        i += 1
        u = list(design_point(i, space.dim))
        u[ax] = (k + 0.5) / len(space.problems)
        out.append(tuple(u))
        seen.add(fam.name)
    return out


#: the corner is screened at the problem's middle levels and at its first ones (corner_point)
CORNER_LEVELS = (0.5, 0.0)

#: coordinates moved by the refinement, in order, each first towards the hard end
REFINE_AXES = ("lr", "tau", "shape", "workers")


def refinement_moves(u, h: float):
    """Neighbours of ``u``: each axis of :data:`REFINE_AXES` moved by +h, then -h (clipped)."""
    idx = {a: SearchSpace.AXES.index(a) for a in REFINE_AXES}
    for sign in (1, -1):
        for a in REFINE_AXES:
            v = list(u)
            v[idx[a]] = min(max(v[idx[a]] + sign * h, 0.0), 0.999)
            if tuple(v) != tuple(u):
                yield tuple(v)


def badness(rec: dict) -> tuple | None:
    """Ranking key of a screened record (larger is worse); None: not a candidate."""
    v = rec.get("verdict")
    if v == "FAIL":  # a FAIL without a ratio is a divergence under certified constants
        return (1, _score(rec) if _score(rec) is not None else math.inf)
    if v in ("NOT_APPLICABLE", "DIVERGED"):  # the theorem makes no claim there (verdicts.py)
        return None
    s = _score(rec)
    return None if s is None else (0, s)


def _score(rec: dict) -> float | None:
    if rec.get("ratio") is not None and math.isfinite(rec["ratio"]):
        return float(rec["ratio"]) - 1.0
    m, b = rec.get("margin"), rec.get("bound_value")
    if m is None or b is None or not math.isfinite(m) or not math.isfinite(b):
        return None
    return -float(m) / max(abs(float(b)), 1e-300)


def spec_at(check, space: SearchSpace, u, base_seed: int):
    """The CheckSpec of ``check`` at unit-cube point ``u``, on seed batch ``base_seed``."""
    fields = space.point(u)
    axes = fields.pop("axes")
    factor = fields.pop("_lr_factor", None)
    # screening is one look: a sequential check adds seeds at the deciding run only
    spec = replace(check, search=None, looks=1, base_seed=base_seed, **fields)
    if factor is not None:
        from asyncbound.checks import planning

        algo = planning.load_algorithm(check.algorithm)
        base = check.lr if check.lr is not None else float(algo.defaults.get("lr", 0.01))
        spec = replace(spec, lr=base * factor)
    return spec, axes


def _summary(rec: dict, axes: dict, spec) -> dict:
    return {"axes": axes, "base_seed": spec.base_seed, "lr": (rec.get("config") or {}).get("lr"),
            "problem": spec.problem, "problem_options": dict(spec.problem_options),
            "delay": spec.delay, "verdict": rec.get("verdict"), "ratio": rec.get("ratio"),
            "margin": rec.get("margin"), "bound_value": rec.get("bound_value"),
            "badness": _jsonable_key(badness(rec)),
            "tau_max": (rec.get("staleness") or {}).get("tau_max")}


def _jsonable_key(key: tuple | None) -> list | None:
    """The ranking key as JSON (a FAIL by divergence ranks at +inf: written as null)."""
    if key is None:
        return None
    return [key[0], key[1] if math.isfinite(key[1]) else None]


def search_check(check, alpha: float) -> dict:
    """Search ``check``'s admissible space and decide at the worst configuration (module doc)."""
    from asyncbound.checks.engine import run_check

    profile = get_profile(check.search)
    if check.seeds >= SCREEN_STRIDE:
        raise ValueError(f"seeds must be < {SCREEN_STRIDE} for a search, got {check.seeds!r}")
    space = space_for(check)
    space.steps = tuple(sorted({check.steps * m for m in profile.steps}))
    tried: list[dict] = []
    best = None  # (key, u, spec, axes)

    def screen(u):
        nonlocal best
        if u is None:
            spec, axes = anchor_spec, anchor_axes
        else:
            spec, axes = spec_at(check, space, u, check.base_seed + SCREEN_OFFSET + len(tried) * SCREEN_STRIDE)
        rec = run_check(spec, alpha)
        rec.pop("_trace", None)
        entry = _summary(rec, axes, spec)
        if _diverged(rec):
            entry.update(side_by_side(spec, alpha))
        tried.append(entry)
        key = badness(rec)
        if key is not None and (best is None or key > best[0]):
            best = (key, u, spec, axes)

    anchor_axes = {"problem": check.problem, "delay": check.delay, "anchor": True}
    anchor_spec = replace(check, search=None, looks=1, base_seed=check.base_seed + SCREEN_OFFSET)
    screen(None)
    for levels in CORNER_LEVELS:
        screen(corner_point(space, levels))
    for i in range(1, profile.start + 1):
        screen(design_point(i, space.dim))
    for u in coverage_points(space, profile, {e["problem"] for e in tried}):
        screen(u)
    h, moves = 0.25, 0
    while moves < profile.refine and best is not None:
        # the anchor has no unit-cube coordinates: refine around the first design point then
        centre = best[1] if best[1] is not None else design_point(1, space.dim)
        improved = False
        for v in refinement_moves(centre, h):
            if moves >= profile.refine:
                break
            before = best
            screen(v)
            moves += 1
            improved = improved or best is not before
        if not improved:
            h /= 2
    if best is None:  # no configuration the theorem covers: decide at the anchor, as before
        decide_spec, worst_axes = replace(check, search=None), anchor_axes
    else:
        # the deciding run is the check's own: its seeds and its sequential looks
        decide_spec = replace(best[2], base_seed=check.base_seed, looks=check.looks)
        worst_axes = best[3]
    rec = run_check(decide_spec, alpha)
    rec["config"]["search"] = check.search
    rec["search"] = tried
    rec["search_space"] = space.describe()
    rec["worst"] = {"axes": worst_axes, "screening": None if best is None else
                    next(t for t in tried if t["base_seed"] == best[2].base_seed),
                    "decided_on_seeds": [check.base_seed, check.base_seed + check.seeds - 1]}
    rec["search_note"] = (f"profile {profile.name}: {len(tried)} configurations screened on "
                          "independent seed batches; decided at the worst on the check's own, "
                          "fresh seeds (the search spends no alpha)")
    rec["reproduce"] = reproduce_command(decide_spec)
    if rec.get("verdict") == "FAIL":
        rec["counterexample"] = (
            shrink(check, space, best[1], alpha, profile.shrink) if best is not None and best[1] is not None
            else {**worst_axes, "shrink_runs": 0, "reproduce": rec["reproduce"]})  # the check's own
    if _diverged(rec):
        rec.update(side_by_side(decide_spec, alpha))
    flagged = [t for t in tried if t.get("diverges_where_baseline_converges")]
    if rec.get("diverges_where_baseline_converges"):
        flagged.append({"axes": worst_axes, "base_seed": decide_spec.base_seed,
                        "baseline": rec["baseline"]})
    rec["diverges_where_baseline_converges"] = [
        {"axes": t["axes"], "base_seed": t["base_seed"], "baseline": t["baseline"]} for t in flagged]
    return rec


#: axes a shrink moves to their simplest level (0: fewest workers, shortest horizon, the
#: lowest problem parameters, the mildest delay shape), in this order
SHRINK_AXES = ("workers", "steps", "p3", "p2", "p1", "shape")


def shrink(check, space: SearchSpace, u, alpha: float, budget: int) -> dict:
    """The FAIL at ``u`` made simpler: each axis of :data:`SHRINK_AXES` in turn is set to its
    simplest level and kept there when the run on the check's own seeds still FAILs (at most
    ``budget`` runs). Returns the counterexample's axes and its one-line ``reproduce``: it
    re-runs deterministically on those seeds (a counterexample, not a new test: the decision
    stays the one at the worst configuration)."""
    from asyncbound.checks.engine import run_check

    cur, runs = list(u), 0
    for a in SHRINK_AXES:
        if runs >= budget:
            break
        i = SearchSpace.AXES.index(a)
        if cur[i] == 0.0:
            continue
        trial = list(cur)
        trial[i] = 0.0
        if space.point(tuple(trial))["axes"] == space.point(tuple(cur))["axes"]:
            cur = trial  # the same configuration: free
            continue
        spec, _ = spec_at(check, space, tuple(trial), check.base_seed)
        runs += 1
        if run_check(spec, alpha).get("verdict") == "FAIL":
            cur = trial
    spec, axes = spec_at(check, space, tuple(cur), check.base_seed)
    return {**{k: v for k, v in axes.items()}, "shrink_runs": runs,
            "reproduce": reproduce_command(spec)}


def _diverged(rec: dict) -> bool:
    return rec.get("divergence") is not None or rec.get("verdict") == "DIVERGED"


def baseline_for(algo, bound_key: str):
    """The registered algorithm ``algo`` extends, for the side-by-side divergence record: the
    one it declares (``implements``), else the bound's default algorithm of the suite when its
    access pattern matches, else a registered algorithm claiming the bound with the same
    pattern; None when there is none or it is ``algo`` itself."""
    from asyncbound.checks import planning
    from asyncbound.checks.suite import DEFAULT_ALGORITHM
    from asyncbound.implementations.registry import ALGORITHMS

    spec = planning.load_algorithm(algo)
    declared = getattr(spec, "implements", None)
    if declared in ALGORITHMS:
        return None if ALGORITHMS[declared] is spec else declared
    default = DEFAULT_ALGORITHM.get(bound_key)
    cands = ([default] if default in ALGORITHMS else []) + [
        n for n, a in ALGORITHMS.items() if bound_key in a.bounds]
    for name in cands:
        a = ALGORITHMS[name]
        if a is not spec and a.name != spec.name and a.pattern == spec.pattern:
            return name
    return None


def side_by_side(spec, alpha: float) -> dict:
    """The baseline's run at the same configuration and seeds, for a diverging decision run."""
    from asyncbound.checks.engine import run_check

    name = baseline_for(spec.algorithm, spec.bound)
    if name is None:
        return {}
    base = run_check(replace(spec, algorithm=name, label="baseline"), alpha)
    base.pop("_trace", None)
    diverged = _diverged(base)
    return {"baseline": {"algorithm": name, "verdict": base.get("verdict"), "diverged": diverged,
                         "reason": base.get("reason"), "lr": base.get("lr")},
            "diverges_where_baseline_converges": not diverged}


def reproduce_command(spec) -> str:
    """One command line re-running ``spec`` (no search) and printing its verdict."""
    cfg = spec.config()
    cfg.pop("search", None)
    cfg = {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()}
    cmd = f"python -m asyncbound.checks.search --reproduce {shlex.quote(json.dumps(cfg, sort_keys=True))}"
    if not isinstance(spec.algorithm, str):
        try:
            cmd += f" --with {shlex.quote(inspect.getsourcefile(spec.algorithm.rule) or '')}"
        except TypeError:
            pass
    return cmd


def spec_from_config(cfg: dict):
    """A CheckSpec from a record's config (the inverse of ``CheckSpec.config``)."""
    from asyncbound.checks.engine import CheckSpec

    cfg = dict(cfg)
    cfg.pop("search", None)
    if "also_checks" in cfg:
        cfg["also_checks"] = tuple(cfg["also_checks"])
    known = set(CheckSpec.__dataclass_fields__)
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ValueError(f"config has unknown fields {unknown!r}")
    return CheckSpec(**cfg)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m asyncbound.checks.search",
                                description="re-run one configuration of a searched check")
    p.add_argument("--reproduce", required=True, metavar="JSON", help="the record's config")
    p.add_argument("--with", dest="variant", default=None, metavar="VARIANT.py")
    p.add_argument("--alpha", type=float, default=None)
    args = p.parse_args(argv)
    try:
        cfg = json.loads(args.reproduce)
        if not isinstance(cfg, dict):
            raise ValueError(f"--reproduce must be a JSON object, got {args.reproduce!r}")
        if args.variant:
            from asyncbound.checks.variant import load_variant

            load_variant(args.variant)
        spec = spec_from_config(cfg)
    except Exception as exc:  # one clear line, exit 2 (the CLI's error path)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from asyncbound.checks.engine import run_check
    from asyncbound.checks.stats import ALPHA_SINGLE

    rec = run_check(spec, ALPHA_SINGLE if args.alpha is None else args.alpha)
    print(f"{rec['verdict']}: {rec.get('reason', '')}")
    return 1 if rec["verdict"] == "FAIL" else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
