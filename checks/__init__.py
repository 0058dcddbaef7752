"""Glue between theory and implementations: measurement, verdicts, the CLI.

Importing this package is cheap: submodules that need torch import it themselves, so
``asyncbound report`` and ``asyncbound theory`` work on a machine without torch.

Modules: ``measure`` (estimators on traces), ``stats`` (intervals, named tolerances),
``verdicts`` (decisions by bound kind), ``binding`` (constants with their origin), ``metrics``
(the bound's metric and ASYMPTOTIC proxies), ``engine`` (one check end to end, orchestrating
``planning`` (delay model, step size), ``running`` (via ``implementations.backends.run``),
``evaluate`` (trace + plan -> record fields) and ``records``), ``studies``
(multi-run per-paper checks), ``suite`` (what ``verify`` runs), ``runner`` and ``records`` (progress,
records, traces, report), ``variant`` (user variant files), ``strategies`` and ``properties``
(hypothesis), ``step_decay``, ``false_alarm``, ``cli`` (the command line, one module per subcommand),
``errors`` (exit codes, the CLI's one error path), ``outdir`` (validate, lock, stage, commit an output
directory), ``memory`` (a run's memory, estimated before allocating), ``reliability`` (the probe),
``search_space`` and ``search`` (a bound's admissible space and the worst-case search inside a
bound check), ``power_conjecture`` and ``tightness`` (benchmark scripts of the search).
"""
