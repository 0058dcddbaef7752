"""Hogwild! throughput on the `processes` backend, as ratios measured in one run.

1. instrumented / uninstrumented (goal >= 0.95): the same lock-free Hogwild run with the
   version counter, stamps and evaluation snapshots on, then off (alternating, median of
   ``--repeats`` each);
2. ours / plain torch Hogwild (goal >= 1.0): a loop of the PyTorch ``mnist_hogwild`` example's
   shape (``model.share_memory()``, one process per worker, each with its own optimizer:
   ``zero_grad; loss = cross_entropy(model(x), y); backward; step``) on the same network, data,
   batch size, learning rate and number of updates, 1 thread per process for both;
3. ours / the same plain loop calling the problem's own gradient kernel on the flat shared
   vector (isolates the backend's overhead from the kernel's speed: flat-vector ``bmm``
   forward + autograd in the problem vs ``nn.Linear`` in the example).

Throughput is updates per second between the common start signal and the last update (process
start-up is excluded on both sides). Usage: ``python benchmarks/bench_hogwild.py [--steps N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from implementations.backends import processes
from implementations.problems import get_problem

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


def ours(prob, steps: int, workers: int, lr: float, instrument: bool) -> float:
    tr = processes.run("hogwild_sgd", prob, None, steps, [0], workers=workers, lr=lr,
                       instrument=instrument)
    return tr.meta["updates_per_s"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.05)
    args = ap.parse_args(argv)
    prob = get_problem("mlp", seed=0, **PROBLEM)
    print(f"model: mlp {prob.sizes} (d={prob.dim}), batch {prob.batch_size}, "
          f"{args.workers} workers x 1 thread, {args.steps} updates per run")
    on, off, plain, kern = [], [], [], []
    for _ in range(args.repeats):  # interleaved, so slow phases of a shared machine hit all
        on.append(ours(prob, args.steps, args.workers, args.lr, True))
        off.append(ours(prob, args.steps, args.workers, args.lr, False))
        plain.append(plain_hogwild(prob, args.steps, args.workers, args.lr))
        kern.append(plain_hogwild(prob, args.steps, args.workers, args.lr, kernel=True))
    m_on, m_off, m_plain, m_kern = (statistics.median(v) for v in (on, off, plain, kern))
    print(f"updates/s  instrumented {m_on:9.1f}   uninstrumented {m_off:9.1f}   "
          f"plain torch hogwild (nn.Module) {m_plain:9.1f}   plain loop, same kernel {m_kern:9.1f}")
    print(f"  runs: on {[round(v) for v in on]}, off {[round(v) for v in off]}, "
          f"plain {[round(v) for v in plain]}, plain-kernel {[round(v) for v in kern]}")
    print(f"ratio instrumented/uninstrumented          = {m_on / m_off:.3f}   (goal >= 0.95)")
    print(f"ratio ours/plain torch hogwild (nn.Module) = {m_on / m_plain:.3f}   (goal >= 1.0)")
    print(f"ratio ours/plain loop with the same kernel = {m_on / m_kern:.3f}   "
          "(backend overhead alone)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
