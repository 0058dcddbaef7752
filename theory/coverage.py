"""The algorithm class each theorem covers (issue 17): a bound is a statement about one kind of
algorithm, and a run of another kind says nothing about it.

``AlgorithmClass`` states

- ``step``: the step form the proof analyses, in words (``x_{k+1} = x_k - eta g(v_k)``);
- ``domain``: ``"unconstrained"`` (the proof uses grad f(x*) = 0 or descent on f over R^d, so a
  run that projects onto a set is outside it: at a constrained optimum the gradient is not zero),
  ``"projected"`` (the proof needs the projection, e.g. a bounded domain), ``"any"`` (the proof
  holds with or without a projection), or ``"unconstrained_or_box"``: the proof is about R^d and
  holds verbatim for the iteration projected onto a box, x* then the minimiser over the box (the
  bound's notes give the argument; every projecting problem here clamps to a box);
- ``fixed``: hyperparameters the proof fixes, name -> the only value it covers (plain SGD:
  ``momentum = 0``). A run with another value is outside the theorem.

The table :data:`COVERS` is keyed by bound key. A user's bound may state its own class in
``bound.derived["covers"]``; a bound with no stated class is unrestricted (:data:`ANY`), and the
checks say so nowhere: it is the claimant's statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DOMAINS = ("unconstrained", "projected", "any", "unconstrained_or_box")
#: domains under which a run projected onto a box is inside the class
BOX_DOMAINS = ("projected", "any", "unconstrained_or_box")


@dataclass(frozen=True)
class AlgorithmClass:
    step: str
    domain: str = "any"
    fixed: dict = field(default_factory=dict)
    #: the step is eta times a (stale) stochastic gradient: delayed GD's stability threshold
    #: on the worst L-smooth quadratic bounds the steps worth running
    linear_step: bool = False

    def __post_init__(self):
        if self.domain not in DOMAINS:
            raise ValueError(f"domain must be one of {DOMAINS}, got {self.domain!r}")

    def to_dict(self) -> dict:
        return {"step": self.step, "domain": self.domain, "fixed": dict(self.fixed),
                "linear_step": self.linear_step}


ANY = AlgorithmClass(step="any (not stated)")

#: plain (delayed / inconsistent-read) SGD on R^d: the analyses of classic_delayed_sgd and the
#: Nadiradze et al. theorems (descent lemma on f over R^d, steps eta g)
_PLAIN_SGD = AlgorithmClass(step="x_{k+1} = x_k - eta g(v_k), constant eta, no momentum",
                            domain="unconstrained", fixed={"momentum": 0.0}, linear_step=True)
#: the view-gap statements only sum steps of norm eta ||g||; a projection is nonexpansive, so
#: they hold with or without it, but not with momentum (a step is then not eta g)
_VIEW_GAP = AlgorithmClass(step="steps eta g(v_k) (or their top-k), constant eta, no momentum",
                           domain="any", fixed={"momentum": 0.0}, linear_step=True)

COVERS: dict[str, AlgorithmClass] = {
    "classic_delayed_sgd/nonconvex": _PLAIN_SGD,
    "classic_delayed_sgd/strongly_convex": _PLAIN_SGD,
    "nadiradze2021/nonconvex_M": _PLAIN_SGD,
    "nadiradze2021/nonconvex_sigma": _PLAIN_SGD,
    # the SC distance recursion survives a box projection (the bound's notes): x_{t+1} =
    # Pi(x_t - eta G) with Pi non-expansive, Pi(x*) = x*, and box views stay in the box
    "nadiradze2021/strongly_convex": AlgorithmClass(
        step="x_{k+1} = x_k - eta g(v_k) on R^d, or Pi_box(x_k - eta g(v_k)), constant eta, no momentum",
        domain="unconstrained_or_box", fixed={"momentum": 0.0}, linear_step=True),
    "nadiradze2021/strongly_convex_sigma": _PLAIN_SGD,  # uses grad f(x*) = 0: unconstrained only
    "nadiradze2021/elastic_consistency": _VIEW_GAP,
    "nadiradze2021/view_gap_async": _VIEW_GAP,
    # Gratton & Toint: unconstrained adaptive methods (momentum and normalisation included)
    "gratton_toint2026/rate": AlgorithmClass(step="async AdaGrad/AdaNorm-type steps, momentum, "
                                                  "inexact normalisation", domain="unconstrained"),
    "gratton_toint2026/slope": AlgorithmClass(step="async AdaGrad/AdaNorm-type steps, momentum, "
                                                   "inexact normalisation", domain="unconstrained"),
    # APAM: the convex result is over a bounded domain (assumption A4, the projected iteration);
    # the non-convex one is unconstrained
    "xu_apam/convex": AlgorithmClass(step="master-side AMSGrad, projected onto the box",
                                     domain="projected"),
    "xu_apam/nonconvex": AlgorithmClass(step="master-side AMSGrad", domain="unconstrained"),
}


def covers(bound) -> AlgorithmClass:
    """The algorithm class ``bound`` covers (see the module docstring)."""
    own = (getattr(bound, "derived", None) or {}).get("covers")
    if isinstance(own, AlgorithmClass):
        return own
    return COVERS.get(getattr(bound, "key", ""), ANY)
