"""Power of the checks, measured on the planted-bug catalogue (a benchmark script, not a test).

    python -m asyncbound.checks.power --batches 20 [--kinds exact|all] [--only KEY,...]
                                      [--catalogue tests/checks/planted.py] [--json OUT.json]

For every planted bug of the catalogue and both of its modes (``implements``: the variant names
the registered algorithm it imitates; ``conjecture``: it only claims that algorithm's bounds),
and for ``--batches`` independent seed batches (base seed ``b * SEED_STRIDE``: a new problem
instance, new starting points, new noise and a new schedule), run the checks ``verify --with``
runs on it and count the batches in which at least one check says FAIL, and by which kind
(``conformance``, ``lemma``, ``bound``, ``study``). Beside it, the false-FAIL count: the same
checks on the correct algorithms the bugs imitate (and an exact copy of each declaring
``implements`` its original, for the conformance check), over the same batches.

``--kinds exact`` (default) runs the exact kinds only (conformance and lemma: seconds per
batch); ``--kinds all`` runs the variant's whole ``verify --with`` suite, bound checks and
studies included (minutes per bug and batch on 2 cores).

The catalogue lives with the tests (``tests/checks/planted.py``: planted bugs are never
registered by the library); the script loads that file *by path*, from the source checkout this
package was installed from, or from ``--catalogue PATH``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

log = logging.getLogger("asyncbound.power")

SEED_STRIDE = 1000
KINDS = ("conformance", "lemma", "bound", "study")


def default_catalogue() -> Path:
    return Path(__file__).resolve().parents[1] / "tests" / "checks" / "planted.py"


def import_catalogue(path, module_name: str = "asyncbound_planted_catalogue"):
    """Import the planted-bug file at ``path`` as a module, by path (it registers nothing)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"catalogue file not found: {str(p)!r} (pass --catalogue PATH)")
    spec = importlib.util.spec_from_file_location(module_name, p)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_catalogue(path) -> object:
    """The planted-bug catalogue module at ``path`` (``CATALOGUE`` and ``variant``)."""
    mod = import_catalogue(path)
    if not hasattr(mod, "CATALOGUE") or not hasattr(mod, "variant"):
        raise ValueError(f"{str(path)!r} defines no CATALOGUE / variant(): not a planted-bug catalogue")
    return mod


def specs_for(algo, kinds: str) -> list:
    """The checks ``verify --with`` runs on ``algo`` (``kinds='all'``) or its exact ones."""
    from asyncbound.checks import suite

    if kinds == "all":
        return suite.build_suite("quick", algorithms=[algo])
    return suite.exact_specs([algo], "quick")


def flagged(algo, kinds: str, batch: int, alpha: float) -> dict[str, int]:
    """FAIL count per check kind for ``algo`` in seed batch ``batch``."""
    out = dict.fromkeys(KINDS, 0)
    with _registered(algo):  # as verify --with does: some checks resolve the algorithm by name
        for s in specs_for(algo, kinds):
            _run_one(s, batch, alpha, out)
    return out


@contextlib.contextmanager
def _registered(algo):
    from asyncbound.implementations.registry import ALGORITHMS, register

    before = ALGORITHMS.get(algo.name)
    if before is not algo:
        register(algo, replace=True)
    try:
        yield
    finally:
        if before is None:
            ALGORITHMS.pop(algo.name, None)
        else:
            ALGORITHMS[algo.name] = before


def _run_one(s, batch: int, alpha: float, out: dict) -> None:
    from asyncbound.checks.engine import run_check

    s = replace(s, base_seed=s.base_seed + batch * SEED_STRIDE)
    try:
        rec = run_check(s, alpha)
    except Exception as exc:  # noqa: BLE001 - counted as not flagged, logged
        log.warning("%s crashed in batch %d: %s", s.check_id, batch, exc)
        return
    if rec["verdict"] == "FAIL":
        out[rec.get("test", "bound")] += 1


def measure(catalogue, batches: int, *, kinds: str = "exact", only=None, progress=None) -> dict:
    """The power table: per bug and mode, batches flagged and by which kind; false FAILs."""
    from asyncbound.checks import suite
    from asyncbound.checks.stats import n_statistical, per_check_alpha
    from asyncbound.implementations.registry import get_algorithm

    # the statistical checks' alpha of ``verify --with``: the quick suite's Bonferroni share
    # (exact checks do not use it)
    alpha = per_check_alpha(n_statistical(suite.build_suite("quick")))

    keys = [k for k in catalogue.CATALOGUE if not only or k in only]
    rows, t0 = [], time.perf_counter()
    for key in keys:
        family, imitates, _ = catalogue.CATALOGUE[key]
        for mode in catalogue.MODES:
            algo = catalogue.variant(key, mode)
            by_kind = dict.fromkeys(KINDS, 0)
            hit = 0
            t1 = time.perf_counter()
            for b in range(1, batches + 1):
                f = flagged(algo, kinds, b, alpha)
                hit += any(f.values())
                for k, v in f.items():
                    by_kind[k] += bool(v)
            rows.append({"bug": key, "family": family, "imitates": imitates, "mode": mode,
                         "flagged": hit, "batches": batches, "rate": hit / batches,
                         "by_kind": by_kind, "seconds": time.perf_counter() - t1})
            if progress:
                progress(f"{key:24s} {mode:11s} flagged {hit}/{batches}  "
                         f"({', '.join(f'{k} {v}' for k, v in by_kind.items() if v)})")
    correct, false_fail = [], 0
    for name in dict.fromkeys(catalogue.CATALOGUE[k][1] for k in keys):
        algo = get_algorithm(name)
        copy = replace(algo, name=f"{name}_copy", implements=name)
        for label, a in ((name, algo), (copy.name, copy)):
            n = sum(any(flagged(a, kinds, b, alpha).values()) for b in range(1, batches + 1))
            correct.append({"algorithm": label, "false_fail_batches": n, "batches": batches})
            false_fail += n
            if progress:
                progress(f"{label:24s} correct     false FAIL in {n}/{batches}")
    return {"kinds": kinds, "batches": batches, "seed_stride": SEED_STRIDE, "rows": rows,
            "correct": correct, "false_fail_total": false_fail, "alpha": alpha,
            "wall_s": time.perf_counter() - t0}


def table(result: dict) -> str:
    """The README's markdown table."""
    lines = ["| bug | family | mode | flagged | by kind |", "|---|---|---|---|---|"]
    for r in result["rows"]:
        kinds = ", ".join(f"{k} {v}" for k, v in r["by_kind"].items() if v) or "-"
        lines.append(f"| {r['bug']} | {r['family']} | {r['mode']} | {r['flagged']}/{r['batches']} | {kinds} |")
    n = sum(1 for c in result["correct"] if not c["algorithm"].endswith("_copy"))
    lines.append(f"\nFalse FAIL on the {n} correct algorithms and their implements-copies: "
                 f"{result['false_fail_total']} in {result['batches']} batches each; "
                 f"kinds: {result['kinds']}; wall time {result['wall_s']:.0f} s.")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m asyncbound.checks.power",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--batches", type=int, default=5, help="independent seed batches per bug")
    p.add_argument("--kinds", choices=("exact", "all"), default="exact",
                   help="exact: conformance and lemma checks; all: the whole verify --with suite")
    p.add_argument("--only", default=None, help="comma-separated catalogue keys")
    p.add_argument("--catalogue", default=str(default_catalogue()), help="planted-bug file")
    p.add_argument("--json", default=None, help="also write the result as JSON here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        if args.batches < 1:
            raise ValueError(f"--batches must be >= 1, got {args.batches}")
        cat = load_catalogue(args.catalogue)
        only = set(args.only.split(",")) if args.only else None
        unknown = sorted((only or set()) - set(cat.CATALOGUE))
        if unknown:
            raise ValueError(f"--only: unknown catalogue keys {unknown}")
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    res = measure(cat, args.batches, kinds=args.kinds, only=only,
                  progress=lambda line: sys.stderr.write(line + "\n"))
    sys.stdout.write(table(res) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
