"""One module per paper; each exposes ``BOUNDS`` (a tuple of ``theory.bounds.Bound``)."""

PAPER_MODULES = (
    "asyncbound.theory.papers.kungurtsev2021",
    "asyncbound.theory.papers.gratton_toint2026",
    "asyncbound.theory.papers.nadiradze2021",
    "asyncbound.theory.papers.xu_apam",
    "asyncbound.theory.papers.classic_delayed_sgd",
)
