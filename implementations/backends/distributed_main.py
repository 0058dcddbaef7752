"""torchrun entry point of the `distributed` backend (rank 0 = parameter server).

    torchrun --nproc-per-node 3 -m implementations.backends.distributed_main \\
        --algorithm apam --problem quadratic --dim 10 --steps 2000 --seed 0 --out runs/apam

WORLD_SIZE = workers + 1. Reads RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT from
the environment (torchrun sets them); rank 0 writes ``OUT/trace.parquet`` + ``OUT/run.json``.
Multi-node: the same command on every node with ``--nnodes``, ``--node-rank`` and
``--rdzv-endpoint``; torch.distributed has no authentication or encryption, so keep the
rendezvous on a trusted network (the local launcher binds 127.0.0.1).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="distributed_main", description=__doc__.splitlines()[0])
    p.add_argument("--algorithm", required=True)
    p.add_argument("--problem", default="quadratic")
    p.add_argument("--dim", type=int, default=None)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--eval-every", type=int, default=None)
    p.add_argument("--straggler", default=None, help="per-worker slow-down factors, e.g. 1,2")
    p.add_argument("--device", default="cpu", help="cpu or cuda (NCCL when one GPU per rank)")
    p.add_argument("--hang-timeout", type=float, default=60.0)
    p.add_argument("--pg-timeout", type=float, default=300.0)
    p.add_argument("--view-gap", action="store_true",
                   help="record ||x_k - x_read|| per update (the master keeps recent versions)")
    p.add_argument("--hparams", default="{}", help="JSON object of hyperparameter overrides")
    p.add_argument("--out", required=True, help="trace directory written by rank 0")
    return p


def main(argv=None) -> int:
    import time

    import torch

    from . import _faults
    from ._ps import master_loop, worker_loop
    from .distributed import prepare
    from .processes import _build_trace

    args = _parser().parse_args(argv)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if world < 2:
        raise SystemExit("distributed_main needs WORLD_SIZE >= 2 (a master and a worker)")
    cfg, run_, prob, meta = prepare(
        args.algorithm, args.problem, None, args.steps, [args.seed], workers=world - 1,
        lr=args.lr, eval_every=args.eval_every, device=args.device, straggler=args.straggler,
        dim=args.dim, hang_timeout=args.hang_timeout, view_gap=args.view_gap,
        **json.loads(args.hparams))
    from datetime import timedelta

    import torch.distributed as dist

    from ._worker import bootstrap
    device = cfg.device
    backend = "gloo"
    if device.startswith("cuda"):
        local = int(os.environ.get("LOCAL_RANK", rank))
        device = f"cuda:{local % torch.cuda.device_count()}"
        backend = "nccl"
    bootstrap(cfg, device)
    dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world,
                            timeout=timedelta(seconds=args.pg_timeout))
    error = None
    t0 = time.monotonic()
    run_.extra["t0"][0] = t0
    try:
        comm = device if backend == "nccl" else "cpu"
        if rank == 0:
            try:
                master_loop(cfg, run_, world, device, comm)
            except Exception as exc:  # keep the partial trace; the exit code says it failed
                error = f"master failed: {_faults.last_line(type(exc).__name__ + ': ' + str(exc))}"
        else:
            worker_loop(cfg, rank, None, device, comm)
    finally:
        dist.destroy_process_group()
    if rank == 0:
        meta["backend_config"].update(process_group=backend, init_method="env://")
        meta["elapsed_s"] = time.monotonic() - t0
        trace = _build_trace(run_, cfg, prob, meta, error)
        trace.write(args.out)
        log.warning("rank 0: wrote %s (%d updates, complete=%s)", args.out, len(trace), trace.complete)
    return 1 if error else 0


if __name__ == "__main__":
    try:
        from torch.distributed.elastic.multiprocessing.errors import record
    except ImportError:  # pragma: no cover
        def record(f):
            return f
    # an entry point: its one status line goes through logging, shown at WARNING by default
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    sys.exit(record(main)())
