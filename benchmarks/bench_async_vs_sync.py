"""Asynchronous vs synchronous parameter-server SGD: time to a target loss, one run each.

2 CPU workers on the `processes` backend, worker 1 made 2x slower (``straggler=(1, 2)``: it
sleeps as long as its gradient took). Async: ``ps_sgd`` (the master applies each gradient as
it arrives). Sync: ``minibatch_sgd`` (the master waits for both gradients and applies their
mean every step), the same master-worker machinery, problem, batch and learning rate. Time is
the real wall time at the first evaluation (every ``--eval-every`` updates) whose loss is at or
below the target. Goal: sync time / async time >= 1.2.
"""

from __future__ import annotations

import argparse

import numpy as np
from asyncbound.implementations.backends import processes
from asyncbound.implementations.problems import get_problem

PROBLEM = dict(inputs=32, hidden=64, classes=5, n=2048, batch_size=64)


def time_to(trace, target: float) -> float:
    loss, wall = trace["loss"], trace["wall_time"]
    ok = np.nonzero(np.isfinite(loss) & (loss <= target))[0]
    return float(wall[ok[0]]) if len(ok) else float("inf")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--eval-every", type=int, default=10)
    ap.add_argument("--target", type=float, default=0.1, help="fraction of the initial loss")
    args = ap.parse_args(argv)
    prob = get_problem("mlp", seed=0, **PROBLEM)
    kw = dict(workers=2, lr=args.lr, eval_every=args.eval_every, straggler=(1, 2))
    a = processes.run("ps_sgd", prob, None, args.steps, [0], **kw)
    s = processes.run("minibatch_sgd", prob, None, args.steps, [0], **kw)
    loss0 = float(prob.loss(processes_initial(prob)))
    target = args.target * loss0
    ta, ts = time_to(a, target), time_to(s, target)
    print(f"mlp {prob.sizes} (d={prob.dim}), 2 workers, straggler 1,2, lr {args.lr}; "
          f"initial loss {loss0:.4f}, target {target:.4f}")
    for name, tr, t in (("async ps_sgd", a, ta), ("sync minibatch_sgd", s, ts)):
        print(f"  {name:20s} {tr.meta['updates_per_s']:8.1f} updates/s, final loss "
              f"{tr['loss'][-1]:.4f}, time to target {t:.3f} s, staleness mean "
              f"{tr['staleness'].mean():.2f}")
    print(f"ratio sync/async time to target = {ts / ta:.3f}   (goal >= 1.2)")
    return 0


def processes_initial(prob):
    from asyncbound.implementations.backends import initial_point
    return initial_point(prob, 1, 0)


if __name__ == "__main__":
    raise SystemExit(main())
