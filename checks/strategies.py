"""Public hypothesis strategies that build valid objects by construction.

hypothesis does not seed torch: every strategy draws plain integers and floats, and torch
objects (generators, problems) are built from them, so an example is reproducible from what
hypothesis prints and shrinks towards small, simple configurations (low dimension, no delay,
small step fraction, seed 0).

- ``seeds()``: non-negative integers (the base seed of a run);
- ``generators()``: ``torch.Generator`` seeded from a drawn integer;
- ``problems()``: ``ProblemChoice`` (name + options) of certified problems, e.g. quadratics
  with drawn L, condition number and noise;
- ``delay_specs()``: delay-model specs with a finite ``max_delay`` (bounded-delay theorems);
- ``step_fractions()``: a step size as a fraction of the admissible maximum that the engine
  solves from the bound's side condition (``eta <= ...``): valid by construction;
- ``check_specs()``: full ``CheckSpec``s for one bound and algorithm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class ProblemChoice:
    name: str
    options: dict = field(default_factory=dict)

    def build(self, seed: int = 0):
        from asyncbound.implementations.problems import get_problem

        return get_problem(self.name, seed=seed, **self.options)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in sorted(self.options.items()))
        return f"ProblemChoice({self.name!r}{', ' if opts else ''}{opts})"


def seeds(max_value: int = MAX_SEED) -> st.SearchStrategy[int]:
    return st.integers(min_value=0, max_value=max_value)


def generators(seed_strategy=None) -> st.SearchStrategy:
    import torch

    def make(s: int):
        g = torch.Generator()
        g.manual_seed(s)
        return g

    return (seeds() if seed_strategy is None else seed_strategy).map(make)


def _grid(lo: float, hi: float, n: int = 9) -> st.SearchStrategy[float]:
    """A float from an n-point grid on [lo, hi]: shrinks in a few steps (to lo), unlike
    st.floats, whose bit-level shrinking would cost hundreds of full checks."""
    if lo == hi:
        return st.just(float(lo))
    return st.sampled_from(sorted({round(lo + (hi - lo) * i / (n - 1), 4) for i in range(n)}))


def quadratics(*, dims=(2, 16), L=(0.5, 2.0), cond=(1.0, 20.0), sigma=(0.0, 0.3)) -> st.SearchStrategy:
    """Quadratics with a chosen spectrum: L in [L], condition number in [cond], noise sigma."""
    return st.builds(
        lambda d, lip, c, s: ProblemChoice("quadratic", {"dim": d, "L": lip, "cond": c, "sigma": s}),
        st.integers(*dims), _grid(*L), _grid(*cond), _grid(*sigma))


def problems(names=("quadratic",), *, dims=(2, 16)) -> st.SearchStrategy:
    """Certified problems by name; quadratics get drawn constants, the others their defaults
    at a drawn dimension."""
    choices = []
    for n in names:
        if n == "quadratic":
            choices.append(quadratics(dims=dims))
        else:
            choices.append(st.integers(*dims).map(lambda d, n=n: ProblemChoice(n, {"dim": d})))
    return st.one_of(*choices)


def delay_specs(max_tau: int = 8, *, kinds=("none", "constant", "uniform", "adversarial")) -> st.SearchStrategy[str]:
    """Delay-model specs with a finite guarantee ``max_delay <= max_tau`` (round-trip through
    ``implementations.delays.parse_delay``)."""
    out = []
    for k in kinds:
        if k == "none":
            out.append(st.just("none"))
        elif k in ("constant", "uniform", "adversarial"):
            out.append(st.integers(1, max_tau).map(lambda t, k=k: f"{k}:{t}"))
        elif k == "geometric":
            out.append(_grid(0.2, 0.9, 8).map(lambda p: f"geometric:{p:.3f},cap={max_tau}"))
    return st.one_of(*out)


def step_fractions(lo: float = 0.05, hi: float = 1.0) -> st.SearchStrategy[float]:
    """Fraction of the admissible maximum step (solved from the bound's side condition)."""
    return _grid(lo, hi, 20)


def workers(lo: int = 1, hi: int = 6) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


def check_specs(bound_key: str, algorithm, *, problems_st=None, delays_st=None, fractions_st=None,
                backend: str = "reference", steps: int = 400, n_seeds: int = 16,
                eval_every: int = 1) -> st.SearchStrategy:
    """``CheckSpec``s for one bound and algorithm, valid by construction."""
    from asyncbound.checks.engine import CheckSpec

    problems_st = problems_st if problems_st is not None else problems()
    delays_st = delays_st if delays_st is not None else delay_specs()

    def make(p, d, f, s, w):
        return CheckSpec(algorithm=algorithm, bound=bound_key, problem=p.name, problem_options=dict(p.options),
                         delay=d, steps=steps, seeds=n_seeds, workers=w, backend=backend,
                         lr_fraction=f, eval_every=eval_every, base_seed=s)

    fractions_st = fractions_st if fractions_st is not None else step_fractions()
    return st.builds(make, problems_st, delays_st, fractions_st, seeds(10_000), workers(1, 4))
