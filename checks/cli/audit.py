"""``asyncbound audit RUN_DIR [--tune]``: measure a run's constants and judge its theorems.

Writes ``OUT/audit.json`` (schema ``asyncbound.audit/1``, docs/CONTRACTS.md) and
``OUT/audit.html`` (OUT defaults to RUN_DIR) and prints one line per theorem. Bad input (not a
trace directory, a problem that cannot be rebuilt, bad --points): one line, exit 2, nothing
written. See :mod:`asyncbound.checks.audit` for what is measured and how.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from asyncbound.checks.errors import UsageError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "audit", help="measure L, sigma^2, M, tau, B on a run and judge each claimed theorem",
        description="For the trace in RUN_DIR: rebuild sampled iterates by replay, measure the "
                    "constants every claimed theorem needs, say which assumptions and side "
                    "conditions hold, evaluate the bounds, flag vacuous ones, and give the step "
                    "each theorem prescribes. Writes OUT/audit.json and OUT/audit.html.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a trace directory (trace.parquet + run.json)")
    p.add_argument("--tune", action="store_true",
                   help="replay with each prescribed step; report updates to a target loss")
    p.add_argument("--points", type=int, default=5, help="sampled iterates, x_0 and x_K included")
    p.add_argument("--out", default=None, help="output directory (default RUN_DIR)")
    p.set_defaults(handler=_audit)


def _audit(args) -> int:
    if args.points < 2:
        raise UsageError(f"--points must be >= 2, got {args.points}")
    out = Path(args.out) if args.out else Path(args.run_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(out)!r} exists and is not a directory")
    import torch
    from asyncbound.checks import audit as A
    from asyncbound.checks import records
    from asyncbound.reports.audit import audit_page
    from asyncbound.reports.html import atomic_write_text

    torch.set_num_threads(1)  # small per-point tensors: threads only add synchronisation
    A.load_run(args.run_dir)  # validate before any work (bad input: one line, exit 2)
    result = A.audit(args.run_dir, points=args.points, tune=args.tune,
                     progress=lambda s: print(s, file=sys.stderr, flush=True))
    data = records.jsonable(result)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "audit.json", json.dumps(data, indent=1, allow_nan=False))
    atomic_write_text(out / "audit.html", audit_page(data))
    c = data["constants"]
    print(f"{data['algorithm']} on {data['problem']['name']} ({data['backend']}): "
          + ", ".join(f"{k}={c[k]['value']:.4g}" for k in ("L", "sigma", "M", "tau", "tau_avg", "B")
                      if c.get(k, {}).get("value") is not None))
    for t in data["theorems"]:
        v = t.get("value")
        print(f"  {t['key']}: applies={t['applies']}"
              + (f", bound={v:.4g}" if v is not None else f", bound not evaluated ({t.get('value_note')})")
              + (", VACUOUS" if t.get("vacuous") else "")
              + (f", prescribed eta={t['prescribed_lr']:.4g} (used {t['lr_used']:.4g})"
                 if t.get("prescribed_lr") else ""))
    for w in data.get("warnings") or []:
        print(f"  WARNING: {w}")
    tune = data.get("tune")
    if tune:
        o = tune["original"]
        print(f"  tune: target loss {tune['target_loss']:.4g}; original eta={o['lr']:.4g}: "
              f"{o['updates_to_target']} updates")
        for r in tune["runs"]:
            print(f"    eta={r['lr']:.4g} ({', '.join(r['bounds'])}): "
                  + (f"{r['updates_to_target']} updates" if r["updates_to_target"] else "target not reached")
                  + f", final loss {r['final_loss']:.4g}")
    print(f"wrote {out / 'audit.json'} and {out / 'audit.html'}")
    return 0
