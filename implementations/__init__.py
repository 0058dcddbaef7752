"""asyncbound's runnable layer (torch and numpy, never sympy).

Update rules (``rules``), access patterns (``patterns``), the algorithm registry (``registry``,
filled by ``algorithms``), delay models (``delays``), problems with certified constants
(``problems``), the one trace schema and definition of staleness (``trace``), and the backends
behind one entrance, ``backends.run(algorithm, problem, delays, steps, seeds) -> Trace``.
"""
