"""The ``paper`` suite: the four papers' headline experiments, small, on real data.

``asyncbound verify --suite paper --out DIR`` runs every study of :data:`STUDIES`, writes one
``asyncbound.record/1`` per study (``test = "study"``) under ``DIR/records/``, ``DIR/run.json``
and the HTML report, and exits 1 if a study FAILs. Each study states the paper's claim, the
paper's number, ours, and the rule that decides (see each module's docstring).

- ``passm_speedup`` (:mod:`.passm`): Kungurtsev et al., PASSM/PASSM+ vs synchronous minibatch
  SGD with momentum on the digits CNN, real ``processes`` runs;
- ``topk_ef`` (:mod:`.topk`): Nadiradze et al., async top-k SGD with and without error feedback
  at several sparsities on the digits CNN;
- ``apam_speedup`` (:mod:`.apam`): Xu et al., APAM's speed-up at 1/2/5/10/20 workers in virtual
  time, against async SGD and synchronous AMSGrad;
- ``gt_heterogeneous`` (:mod:`.gratton_toint`): Gratton & Toint, the asynchronous adaptive family
  vs async SGD under one slow worker and heavy-tailed compute times.

``config`` (tests): per-study overrides, e.g. ``{"apam_speedup": {"workers": (1, 2)}}``.
"""

from __future__ import annotations

import importlib
import logging
import time
import traceback

log = logging.getLogger(__name__)

#: study id -> module (each has ``run_study(config, progress) -> record``), in report order
STUDIES = {
    "passm_speedup": "asyncbound.checks.paper_suite.passm",
    "topk_ef": "asyncbound.checks.paper_suite.topk",
    "apam_speedup": "asyncbound.checks.paper_suite.apam",
    "gt_heterogeneous": "asyncbound.checks.paper_suite.gratton_toint",
}


def run_paper_suite(out_dir, *, config: dict | None = None, only=None, progress=None,
                    results: list | None = None) -> list[dict]:
    """Run the studies (all, or those in ``only``), write their records; return them (appended
    to ``results`` as each finishes, so an interrupted suite keeps what it has)."""
    from asyncbound.checks import records

    say = progress or (lambda s: log.info("%s", s))
    names = [n for n in STUDIES if only is None or n in only]
    results = [] if results is None else results
    for i, name in enumerate(names, 1):
        t0 = time.perf_counter()
        say(f"[{i}/{len(names)}] {name} ...")
        try:
            rec = importlib.import_module(STUDIES[name]).run_study((config or {}).get(name), say)
        except Exception as exc:  # noqa: BLE001 - one broken study must not stop the suite
            log.debug("study %s crashed", name, exc_info=True)
            rec = {"check_id": f"paper--{name}", "test": "study", "algorithm": name,
                   "backend": "-", "verdict": "INCONCLUSIVE", "bound": {"key": f"paper/{name}"},
                   "reason": f"the study could not run: {type(exc).__name__}: {exc}",
                   "error": "".join(traceback.format_exception_only(type(exc), exc)).strip()}
        rec["duration_s"] = time.perf_counter() - t0
        rec["trace_files"] = []
        records.write_record(out_dir, rec)
        results.append(rec)
        say(f"[{i}/{len(names)}] {rec['verdict']:<13} {rec['check_id']} ({rec['duration_s']:.0f}s): "
            f"{rec.get('reason', '')}")
    return results
