"""One module per paper; each exposes ``BOUNDS`` (a tuple of ``theory.bounds.Bound``)."""

PAPER_MODULES = (
    "theory.papers.kungurtsev2021",
    "theory.papers.gratton_toint2026",
    "theory.papers.nadiradze2021",
    "theory.papers.xu_apam",
    "theory.papers.classic_delayed_sgd",
)
