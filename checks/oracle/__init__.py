"""Exact expected-trajectory oracles: the check kind ``oracle``.

For an algorithm whose update is linear in (iterate, stale view, optimizer state, gradient) on
the Gaussian quadratic, E f(x_k) - f*, E||x_k - x*||^2 and E||grad f(x_k)||^2 are computed
exactly for every k by a linear recursion on second moments (:mod:`.moments`, derivation in its
docstring), under every delay model with a known law (:mod:`.laws`) or conditional on a recorded
schedule; :mod:`.stability` gives the exact convergence verdict under a constant delay;
:mod:`.band` and :mod:`.check` turn that into a two-sided check of a run.
"""

from .band import N_SEEDS_ORACLE, ORACLE_POINTS, simultaneous_band
from .check import ORACLE_KEY, run_oracle_check
from .laws import fixed_schedules, iid_law
from .model import LINEAR_PATTERNS, LINEAR_RULES, NotLinear, linear_algorithm, quadratic_model
from .moments import ExactCurves, exact_curves, start_conditional
from .stability import classical_threshold, constant_delay_radius, critical_step, delayed_gd_radius

__all__ = ["LINEAR_PATTERNS", "LINEAR_RULES", "N_SEEDS_ORACLE", "ORACLE_KEY", "ORACLE_POINTS",
           "ExactCurves", "NotLinear", "classical_threshold", "constant_delay_radius",
           "critical_step", "delayed_gd_radius", "exact_curves", "fixed_schedules", "iid_law",
           "linear_algorithm", "quadratic_model", "run_oracle_check", "simultaneous_band",
           "start_conditional"]
