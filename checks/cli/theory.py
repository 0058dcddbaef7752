"""``asyncbound theory list|show``: the registered theorems, their provenance and derivations.

Theory only: imports sympy through ``theory``, never torch.
"""

from __future__ import annotations

import json

from asyncbound.checks.errors import UsageError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "theory", help="list and show the theorems (bounds) with their provenance",
        description="List the registered bounds or show one: statement, formula, assumptions, "
                    "side conditions, source, provenance and derived quantities.")
    sub = p.add_subparsers(dest="theory_command", metavar="ACTION")
    p_list = sub.add_parser("list", help="one row per bound: key, paper, metric, kind, provenance")
    p_list.add_argument("--json", action="store_true", help="machine-readable output")
    p_list.add_argument("--paper", default=None, help="only the bounds of this paper")
    p_list.add_argument("--with", dest="with_files", action="append", default=[], metavar="FILE",
                        help="also list the bounds declared in this variant file (the user's claim)")
    p_list.set_defaults(handler=_list)
    p_show = sub.add_parser("show", help="everything about one bound")
    p_show.add_argument("key", help="bound key, e.g. classic_delayed_sgd/nonconvex")
    p_show.add_argument("--json", action="store_true", help="machine-readable output")
    p_show.add_argument("--no-derive", action="store_true",
                        help="skip the symbolic derivations (faster)")
    p_show.add_argument("--with", dest="with_files", action="append", default=[], metavar="FILE",
                        help="load the bounds declared in this variant file first")
    p_show.set_defaults(handler=_show)
    p_cc = sub.add_parser(
        "crosscheck", help="exact worst cases (PEP) of the derived bounds vs their expressions",
        description="For every derived bound with a deterministic specialisation (sigma = 0), "
                    "solve the performance-estimation SDP of its algorithm and metric on a grid "
                    "and report worst case / bound; exit 1 if a bound is exceeded. Needs the "
                    "extra asyncbound[pep].")
    p_cc.add_argument("keys", nargs="*", metavar="KEY", help="bound keys (default: all derived)")
    p_cc.add_argument("--grid", choices=("quick", "full"), default="quick",
                      help="quick: seconds per bound; full: the grid of the stored table")
    p_cc.add_argument("--json", action="store_true", help="machine-readable output")
    p_cc.set_defaults(handler=_crosscheck)
    p.set_defaults(handler=_usage(p))


def _usage(parser):
    def handler(args):
        raise UsageError("choose an action: list or show KEY (asyncbound theory --help)")
    return handler


def _user_bounds(files) -> dict[str, str]:
    """Load ``--with`` files; their bound keys -> the file that declares them."""
    from asyncbound.checks.variant import load_bounds

    return {key: str(f) for f in files for key in load_bounds(f)}


def _claim_label(key: str, user: dict[str, str]) -> str:
    return f"the user's claim, from {user[key]}, not the project's" if key in user else ""


def _rows(paper: str | None, user: dict[str, str] | None = None) -> list[dict]:
    from asyncbound import theory

    user = user or {}
    if paper is not None and paper not in theory.PAPERS:
        raise UsageError(f"unknown paper {paper!r}; known: {', '.join(theory.PAPERS)}")
    return [
        {"key": b.key, "paper": b.paper, "metric": b.metric, "metric_id": b.metric_id,
         "kind": b.kind.value, "provenance": b.provenance.value,
         "symbols": sorted(b.expr_symbols()),
         **({"claimed_in": user[b.key]} if b.key in user else {})}
        for b in theory.BOUNDS.values() if paper is None or b.paper == paper
    ]


def _list(args) -> int:
    user = _user_bounds(args.with_files)
    rows = _rows(args.paper, user)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    widths = [max(len(r[c]) for r in rows) for c in ("key", "metric_id", "kind", "provenance")]
    head = ("key", "metric_id", "kind", "provenance")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=False)))
    for r in rows:
        line = "  ".join(r[c].ljust(w) for c, w in zip(head, widths, strict=False))
        print(f"{line}  ({_claim_label(r['key'], user)})" if r["key"] in user else line)
    return 0


def _crosscheck(args) -> int:
    from asyncbound.theory import crosscheck

    hint = crosscheck.missing_extra()
    if hint:
        raise UsageError(hint)
    try:
        summaries = crosscheck.crosscheck(args.keys or None, grid=args.grid)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps([s.as_dict() for s in summaries], indent=2))
    else:
        print(crosscheck.table_text(summaries))
    return 1 if any(s.status == "INVALID" for s in summaries) else 0


def _show(args) -> int:
    from asyncbound.theory.derivations import derived_quantities

    from asyncbound import theory

    user = _user_bounds(args.with_files)
    try:
        bound = theory.get_bound(args.key)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    data = bound.to_dict()
    data["derived"] = {} if args.no_derive else derived_quantities(bound)
    from asyncbound.theory.crosscheck import status as crosscheck_status

    data["crosscheck"] = crosscheck_status(bound.key)
    if bound.key in user:
        data["claimed_in"] = user[bound.key]
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    src = data["source"]
    lines = [
        f"{bound.key}   [{bound.kind.value}, provenance: {bound.provenance.value}"
        + (f": {_claim_label(bound.key, user)}]" if bound.key in user else "]"),
        f"metric ({bound.metric_id}): {bound.metric}",
        f"statement: {bound.statement}",
        f"bound: {data['expression']}",
        f"latex: {data['latex']}",
        "assumptions:",
        *[f"  - {a['title']}: {a['statement']}" for a in data["assumptions"]],
        "conditions:" if data["conditions"] else "conditions: none",
        *[f"  - {c['text']}" for c in data["conditions"]],
        f"source: {src['cite']}",
        f"  {src['authors']}: {src['title']} ({src['url']})",
        f"cross-check: {data['crosscheck']['text']}",
        f"notes: {bound.notes}",
    ]
    if data["derived"]:
        lines.append("derived:")
        lines += [f"  {k}: {v}" for k, v in data["derived"].items()]
    print("\n".join(lines))
    return 0
