"""Reference backend vs a plain batched synchronous SGD loop doing the same arithmetic.

64 seeds, d = 100, 10,000 steps, the default quadratic. The plain loop is the floor: the
problem's stochastic gradient and ``x <- x - lr g`` on a (64, 100) batch, nothing recorded.
The reference backend runs ``hogwild_sgd`` with delay ``none`` and one worker (the same
arithmetic) and records every trace column. Goal: ratio <= 1.5. Both are measured in this
one process, best of ``--repeats``; a second line reports a delayed run (uniform:8, 4 workers:
ring-buffer gather and view-gap on every step) for information.

    python benchmarks/bench_reference.py [--steps 10000] [--seeds 64] [--dim 100]
"""

from __future__ import annotations

import argparse
import time

import torch
from asyncbound.implementations.backends import initial_point, run
from asyncbound.implementations.problems import get_problem
from asyncbound.implementations.seeding import worker_generator


def plain_loop(prob, steps, seeds, lr):
    x = initial_point(prob, seeds, 0).to(prob.dtype)
    gen = worker_generator(0, 0)
    with torch.no_grad():
        for _ in range(steps):
            x = prob.project(x + (-lr) * prob.stochastic_grad(x, gen))
    return x


def best_of(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--seeds", type=int, default=64)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    prob = get_problem("quadratic", dim=args.dim, seed=0)
    lr = 0.1
    t_plain, x_plain = best_of(lambda: plain_loop(prob, args.steps, args.seeds, lr), args.repeats)
    t_ref, tr = best_of(lambda: run("hogwild_sgd", prob, "none", args.steps, args.seeds,
                                    workers=1, lr=lr, seed=0), args.repeats)
    same = torch.equal(torch.as_tensor(tr.final_params), x_plain)
    t_del, _ = best_of(lambda: run("hogwild_sgd", prob, "uniform:8", args.steps, args.seeds,
                                   workers=4, lr=lr, seed=0), 1)
    print(f"plain batched SGD loop : {t_plain:.3f} s ({args.steps} steps, {args.seeds} seeds, d={args.dim})")
    print(f"reference (delay none) : {t_ref:.3f} s  ratio {t_ref / t_plain:.2f}x  (goal <= 1.5x); "
          f"identical final params: {same}")
    print(f"reference (uniform:8, 4 workers): {t_del:.3f} s  ratio {t_del / t_plain:.2f}x")


if __name__ == "__main__":
    main()
