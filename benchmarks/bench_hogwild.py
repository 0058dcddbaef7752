"""Hogwild! throughput on the `processes` backend, as ratios measured in one run.

1. instrumented / uninstrumented (goal >= 0.95), the same lock-free Hogwild run
   - ``full``: version counter bumped under the lock, stamps, evaluation snapshots, and each
     update's ||g||^2 (``sgrad_norm_sq``, the default recording);
   - ``stamps``: the staleness instrumentation alone (``grad_norms=False``: counter, stamps,
     snapshots; the issue's definition of instrumentation);
   - ``off``: ``instrument=False`` (only the ticket counter);
2. ours / plain torch Hogwild (goal >= 1.0): a loop of the PyTorch ``mnist_hogwild`` example's
   shape (``model.share_memory()``, one process per worker, each with its own optimizer:
   ``zero_grad; loss = cross_entropy(model(x), y); backward; step``) on the same network, data,
   batch size, learning rate and number of updates, 1 thread per process for both;
3. ours / the same plain loop calling the problem's own gradient kernel on the flat shared
   vector (isolates the backend's overhead from the kernel's speed).

Protocol: ``--rounds`` rounds; each round runs every configuration once, in an order rotated
from round to round, and gives one ratio per comparison (so slow phases of a shared machine hit
both sides of a ratio). Reported: the median ratio over rounds and a distribution-free interval
for it (order statistics, >= 90% coverage). Throughput is updates per second between the common
start signal and the last update (process start-up is excluded on both sides).
Usage: ``python benchmarks/bench_hogwild.py [--steps N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F
from asyncbound.implementations.backends import processes
from asyncbound.implementations.problems import get_problem

PROBLEM = dict(inputs=64, hidden=64, classes=10, n=2048, batch_size=64)


def _net(prob) -> torch.nn.Module:
    layers = []
    for i, (a, b) in enumerate(prob.shapes):
        layers.append(torch.nn.Linear(a, b))
        if i < len(prob.shapes) - 1:
            layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


def _plain_worker(rank, model, prob, steps, lr, ready, go, done_at):
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(1000 + rank)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    ready.release()
    go.wait()
    for _ in range(steps):
        idx = torch.randint(prob.n, (prob.batch_size,), generator=gen)
        opt.zero_grad()
        loss = F.cross_entropy(model(prob.X[idx]), prob.y[idx])
        loss.backward()
        opt.step()
    done_at[rank] = time.monotonic()


def _kernel_worker(rank, x, prob, steps, lr, ready, go, done_at):
    """The same loop on the flat shared vector with the problem's own gradient kernel."""
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(1000 + rank)
    ready.release()
    go.wait()
    with torch.no_grad():
        for _ in range(steps):
            x.add_(-lr * prob.stochastic_grad(x.unsqueeze(0), gen).squeeze(0))
    done_at[rank] = time.monotonic()


def plain_hogwild(prob, steps: int, workers: int, lr: float, kernel: bool = False) -> float:
    """Updates/s of the mnist_hogwild-shaped loop (total ``steps`` split over the workers)."""
    ctx = torch.multiprocessing.get_context("spawn")
    if kernel:
        model = torch.zeros(prob.dim, dtype=prob.dtype).share_memory_()
        target = _kernel_worker
    else:
        model = _net(prob)
        model.share_memory()
        target = _plain_worker
    ready, go = ctx.Semaphore(0), ctx.Event()
    done_at = torch.zeros(workers, dtype=torch.float64).share_memory_()
    per = steps // workers
    procs = [ctx.Process(target=target, args=(r, model, prob, per, lr, ready, go, done_at))
             for r in range(workers)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire(timeout=120)
    t0 = time.monotonic()
    go.set()
    for p in procs:
        p.join(timeout=600)
    return per * workers / (float(done_at.max()) - t0)


def ours(prob, steps: int, workers: int, lr: float, instrument: bool,
         grad_norms: bool = True) -> float:
    tr = processes.run("hogwild_sgd", prob, None, steps, [0], workers=workers, lr=lr,
                       instrument=instrument, grad_norms=grad_norms)
    return tr.meta["updates_per_s"]


def median_interval(values: list[float], coverage: float = 0.90) -> tuple[float, float]:
    """Distribution-free interval for the median: order statistics (x_(k), x_(n+1-k)) with the
    largest k whose coverage 1 - 2 P(Bin(n, 1/2) < k) is still >= ``coverage``."""
    v = sorted(values)
    n = len(v)
    k = 0
    for j in range(1, n // 2 + 1):
        tail = sum(math.comb(n, i) for i in range(j)) / 2 ** n
        if 1 - 2 * tail < coverage:
            break
        k = j
    return (v[k - 1], v[n - k]) if k else (-math.inf, math.inf)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=12000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--only", choices=("all", "overhead", "plain"), default="all",
                    help="overhead: full/stamps/off only; plain: full/plain/kernel only")
    args = ap.parse_args(argv)
    prob = get_problem("mlp", seed=0, **PROBLEM)
    print(f"model: mlp {prob.sizes} (d={prob.dim}), batch {prob.batch_size}, "
          f"{args.workers} workers x 1 thread, {args.steps} updates per run, {args.rounds} rounds")
    configs = {
        "full": lambda: ours(prob, args.steps, args.workers, args.lr, True),
        "stamps": lambda: ours(prob, args.steps, args.workers, args.lr, True, grad_norms=False),
        "off": lambda: ours(prob, args.steps, args.workers, args.lr, False),
        "plain": lambda: plain_hogwild(prob, args.steps, args.workers, args.lr),
        "kernel": lambda: plain_hogwild(prob, args.steps, args.workers, args.lr, kernel=True),
    }
    keep = {"all": configs, "overhead": ("full", "stamps", "off"),
            "plain": ("full", "plain", "kernel")}[args.only]
    names = [n for n in configs if n in keep]
    rate = {n: [] for n in names}
    for r in range(args.rounds):
        for n in names[r % len(names):] + names[:r % len(names)]:  # rotated order
            rate[n].append(configs[n]())
    for n in names:
        print(f"  updates/s {n:6s} median {statistics.median(rate[n]):8.1f}   "
              f"runs {[round(v) for v in rate[n]]}")
    rows = [("full / off", "full", "off", "goal >= 0.95: all per-update recording"),
            ("stamps / off", "stamps", "off", "goal >= 0.95: staleness instrumentation"),
            ("full / plain torch hogwild (nn.Module)", "full", "plain", "goal >= 1.0"),
            ("full / plain loop, same kernel", "full", "kernel", "the backend's own cost")]
    for label, a, b, note in rows:
        if a not in names or b not in names:
            continue
        ratios = [x / y for x, y in zip(rate[a], rate[b], strict=True)]
        lo, hi = median_interval(ratios)
        print(f"ratio {label:40s} = {statistics.median(ratios):.3f}  "
              f"[{lo:.3f}, {hi:.3f}]  ({note})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
