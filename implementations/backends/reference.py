"""The reference backend: single process, deterministic, vectorised over seeds.

State: x ``(S, d)``, a ring buffer of the last ``B = tau_max + 1`` iterates ``(S, B, d)``
(version v lives in slot v mod B; tau_max is the largest staleness of the schedule), the
pattern's per-worker states (tensors ``(S, ...)``) and its shared state. Update k:

    w_s = worker[s, k];  v_s = ring[s, read_version[s, k] mod B]        (the stale view)
    g_s = problem.stochastic_grad(v, worker_generator(base, w))[s]     (CONTRACTS §1 stream)
    (delta, states) = pattern.step(g, ...)   per group of seeds sharing (w, t_local)
    x <- project(x + delta);  ring[:, (k+1) mod B] <- x

When every seed has the same worker at every step (all non-virtual delay models) there is one
group per step and the whole batch is one tensor program; virtual/replayed schedules whose
workers differ across seeds use one group per distinct (worker, clock) at that step (rows
gathered and scattered by index; still no per-seed Python loop). Each worker's noise call draws
``(S, d)`` once per step in which it is active, so a 1-seed run consumes exactly the draws a
real worker would (replay parity).

Recorded per update: ``sgrad_norm_sq`` and ``view_gap = ||x_k - v_k||`` (0 without delays),
``loss``/``grad_norm_sq`` after the update every ``eval_every`` updates and at the last one,
``ef_residual`` for error-feedback patterns, ``update_norm = ||x_{k+1} - x_k||`` (the update as
applied, after projection).

``observer`` (optional callable, for the lemma and conformance checks of ``checks``): called
after every update as ``observer(k, info)`` with ``info`` holding ``worker``, ``block``,
``t_local``, ``x`` (before), ``view``, ``grad``, ``delta`` (the pattern's step, before
projection), ``x_new`` and the writing worker's and the shared rule state before and after
(``wstate_before``/``wstate_after``/``shared_before``/``shared_after``; references, not copies:
the kernels are pure). It needs one group per step (every seed with the same worker, i.e. a
non-virtual delay model or a schedule shared by all seeds). Everything is written into preallocated tensors
and converted once at the end. Non-finite parameters (checked at evaluation points) stop the
run: the trace keeps the rows up to that point, ``meta["complete"] = False`` and
``meta["error"]`` says which seeds diverged.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch

from ..delays import ReplayDelay, parse_delay, with_cap
from ..patterns import block_generator, make_pattern
from ..registry import build_rule, get_algorithm, split_config
from ..rules.base import UpdateContext, needs_staleness, wants_context
from ..schedule import schedule_generator
from ..seeding import worker_generator
from ..trace import Trace, environment_meta
from . import check_run_size, initial_point, problem_meta, resolve_problem, resolve_seeds

log = logging.getLogger(__name__)

#: the ring buffer may use at most this many bytes (a cap on the delay is the remedy)
MAX_RING_BYTES = 4 * 2**30


def _sub(state: dict, rows):
    return state if rows is None else {k: v[rows] for k, v in state.items()}


def _put(state: dict, new: dict, rows) -> dict:
    if rows is None:
        return new
    for k, v in new.items():
        state[k][rows] = v
    return state


def _groups(worker: np.ndarray, tloc: np.ndarray, key: np.ndarray, device) -> list:
    """Per step: list of (worker, t_local, rows LongTensor | None); seeds with equal ``key``
    (same worker, and the same clock class and block where those matter) form one group."""
    S, K = worker.shape
    if S == 1 or (worker == worker[:1]).all():
        w0, t0 = worker[0].tolist(), tloc[0].tolist()
        return [[(w0[k], t0[k], None)] for k in range(K)]
    out = []
    for k in range(K):
        groups = []
        for u in np.unique(key[:, k]):
            rows = np.nonzero(key[:, k] == u)[0]
            groups.append((int(worker[rows[0], k]), int(tloc[rows[0], k]),
                           torch.as_tensor(rows, device=device)))
        out.append(groups)
    return out


def _group_keys(pattern, rule, worker: np.ndarray, tloc: np.ndarray, dtype) -> np.ndarray:
    """Integer key per (seed, update): worker, clock (or only t = 1 vs t >= 2 for a rule whose
    step does not depend on t >= 2) and the deterministic block the pattern writes."""
    W, K1 = pattern.n_workers, int(tloc.max(initial=0)) + 1
    if not pattern.uses_local_t:
        return worker
    t_key = np.minimum(tloc, 2) if _t_invariant(rule, dtype) else tloc
    pair = worker * K1 + tloc
    uniq, inv = np.unique(pair, return_inverse=True)
    blocks = np.array([pattern.block_for(int(p // K1), int(p % K1)) for p in uniq])
    block = blocks[inv.reshape(pair.shape)] + 1
    return (worker * K1 + t_key) * (W + 1) + block


def _t_invariant(rule, dtype) -> bool:
    """Whether ``rule.step`` gives identical results for every clock t >= 2 (probed).

    Used only to merge seed groups that differ in their local clock; a rule that depends on t
    in a way the probe misses would be grouped too coarsely, so the probe is conservative:
    random positive states, nine clocks, bitwise equality (a NaN anywhere counts as "depends").
    """
    if wants_context(rule):  # its step may depend on anything in the context: never merged
        return False
    g = torch.Generator().manual_seed(12345)
    grad = torch.randn((2, 5), generator=g, dtype=dtype)
    state = {k: torch.rand(v.shape, generator=g, dtype=v.dtype) + 0.1 if v.is_floating_point() else v
             for k, v in rule.init(torch.zeros((2, 5), dtype=dtype)).items()}
    ref = None
    for t in (2, 3, 4, 5, 8, 13, 100, 1001, 12345):
        delta, new = rule.step(grad, state, t)
        out = [delta] + [new[k] for k in sorted(new)]
        if ref is None:
            ref = out
        elif len(out) != len(ref) or not all(torch.equal(a, b) for a, b in zip(out, ref, strict=True)):
            return False
    return True


def _local_counts(worker: np.ndarray, n_workers: int) -> np.ndarray:
    t = np.zeros_like(worker)
    for w in range(n_workers):
        m = worker == w
        t[m] = np.cumsum(m, axis=1)[m]
    return t


def run(algorithm, problem, delays, steps, seeds, *, workers: int = 4, lr=None, eval_every=None,
        seed: int | None = None, device="cpu", dim=None, max_delay=None, problem_options=None,
        num_threads: int | None = 1, **options) -> Trace:
    """Reference run; see :func:`implementations.backends.run` and the module docstring.

    ``num_threads``: torch intra-op threads for the duration of the run (restored after).
    The batch is small, so one thread is fastest, and several oversubscribe a loaded machine
    (measured: 2,000 updates of 64 seeds, d = 100, took 26 s with the default threads on a
    loaded 2-core VM against 0.5 s with one). None leaves the setting alone.
    """
    if num_threads is None:
        return _run(algorithm, problem, delays, steps, seeds, workers=workers, lr=lr,
                    eval_every=eval_every, seed=seed, device=device, dim=dim,
                    max_delay=max_delay, problem_options=problem_options, **options)
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"num_threads must be an integer >= 1 or None, got {num_threads!r}")
    before = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        return _run(algorithm, problem, delays, steps, seeds, workers=workers, lr=lr,
                    eval_every=eval_every, seed=seed, device=device, dim=dim,
                    max_delay=max_delay, problem_options=problem_options, **options)
    finally:
        torch.set_num_threads(before)


def _run(algorithm, problem, delays, steps, seeds, *, workers, lr, eval_every, seed, device, dim,
         max_delay, problem_options, **options) -> Trace:
    algo = get_algorithm(algorithm)
    observer = options.pop("observer", None)
    if observer is not None and not callable(observer):
        raise ValueError(f"observer must be callable, got {observer!r}")
    for name in ("lock", "lock_free"):  # real-backend switches: meaningless here
        options.pop(name, None)
    base, S = resolve_seeds(seeds, seed)
    ev = check_run_size(steps, workers, eval_every)
    K, W = steps, workers
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but CUDA is not available")
    prob = resolve_problem(problem, dim=dim, seed=base, **(problem_options or {}))
    config = algo.config(lr=lr, **options)
    rule_kw, pat_kw = split_config(algo, config)
    rule = build_rule(algo, **rule_kw)
    pattern = make_pattern(algo.pattern, rule, prob.dim, W,
                           layer_sizes=getattr(prob, "layer_sizes", None), **pat_kw)
    model = with_cap(parse_delay(delays), max_delay)
    sync = algo.pattern == "sync"
    if sync and model.max_delay != 0:
        raise ValueError(f"{algo.name} is synchronous: its delay must be 'none', got {model.spec!r}")

    sched = model.schedule(K, W, S, schedule_generator(base))
    worker_np = sched.worker.numpy()
    read = sched.read_version
    B = int((torch.arange(K) - read).max()) + 1
    d, dtype = prob.dim, prob.dtype
    itemsize = torch.empty((), dtype=dtype).element_size()
    if S * B * d * itemsize > MAX_RING_BYTES:
        raise ValueError(f"staleness up to {B - 1} needs a {S * B * d * itemsize / 2**30:.1f} GiB "
                         "ring buffer; cap the delay (cap=C or --max-delay)")
    tloc_np = _local_counts(worker_np, W)
    groups = None if sync else _groups(
        worker_np, tloc_np, _group_keys(pattern, rule, worker_np, tloc_np, dtype), device)
    if observer is not None and groups is not None and any(len(gr) > 1 for gr in groups):
        raise ValueError("observer needs every seed to share the worker of each step; "
                         f"delay {model.spec!r} gives seeds different workers (run one seed)")
    slot = (read % B).T.contiguous().to(device)                     # (K, S)
    replay_blocks = (sched.block.T.contiguous().to(device)
                     if isinstance(model, ReplayDelay) and sched.block is not None
                     and pattern.random_block else None)

    gens = [worker_generator(base, w, device=device) for w in range(W)]
    bgens = [block_generator(base, w, device=device) for w in range(W)] if pattern.random_block else None
    x0 = initial_point(prob, S, base, device)
    x = x0.to(dtype)
    states = pattern.init_states(x)
    ring = None
    if B > 1:
        ring = torch.empty((S, B, d), dtype=dtype, device=device)
        ring[:, 0] = x
    ar = torch.arange(S, device=device)
    with torch.no_grad():
        loss0 = prob.loss(x).cpu().numpy().tolist()

    sg = torch.empty((K, S), dtype=dtype, device=device)
    vg = torch.zeros((K, S), dtype=dtype, device=device)
    un = torch.empty((K, S), dtype=dtype, device=device)
    blk = None if algo.pattern in ("full", "master_worker", "sparse", "sparse_ef", "sync") else \
        torch.full((K, S), -1, dtype=torch.int64, device=device)
    ef = torch.full((K, S), float("nan"), dtype=dtype, device=device) \
        if algo.pattern == "sparse_ef" else None
    eval_steps = [k for k in range(K) if (k + 1) % ev == 0 or k == K - 1]
    loss_buf = torch.full((len(eval_steps), S), float("nan"), dtype=dtype, device=device)
    gn_buf = torch.full_like(loss_buf, float("nan"))
    eval_set = {k: j for j, k in enumerate(eval_steps)}
    project = prob.project
    # context rules and discards: ver[s, j] = updates applied before arrival j (versions count
    # applied updates; the schedule's read_version counts arrivals, mapped through ver)
    ctx_on = needs_staleness(rule, pattern.discard_above)
    if ctx_on:
        ver = torch.zeros((S, K + 1), dtype=torch.int64, device=device)
        read_dev = read.to(device)
        disc = torch.zeros((K, S), dtype=torch.bool, device=device)
    ctx = kept = None
    done, error = K, None
    t_start = time.perf_counter()
    with torch.no_grad():
        for k in range(K):
            view = x if ring is None else ring[ar, slot[k]]
            shared_before = states.shared
            if ctx_on:
                vk = ver[:, k]
                st_k = vk - ver[ar, read_dev[:, k]]
                kept = torch.ones(S, dtype=torch.bool, device=device)
            if sync:
                w, tl, block, wstate_before = -1, k + 1, -1, {}
                g = sum(prob.stochastic_grad(x, gens[w]) for w in range(W)) / W
                if ctx_on:
                    ctx = UpdateContext(st_k, -1, vk, K, W, k + 1, k + 1)
                delta, _, states.shared, keep = pattern.update(
                    g, {}, states.shared, t_local=k + 1, t_global=k + 1, ctx=ctx)
                if keep is not None:
                    kept = keep
            else:
                grp = groups[k]
                if len(grp) == 1:
                    w, tl, _ = grp[0]
                    g = prob.stochastic_grad(view, gens[w])
                    if pattern.random_block:
                        block = (replay_blocks[k] if replay_blocks is not None
                                 else pattern.draw_block(bgens[w], S))
                    else:
                        block = pattern.block_for(w, tl)
                    wstate_before = states.workers[w]
                    if ctx_on:
                        ctx = UpdateContext(st_k, w, vk, K, W, tl, k + 1)
                    delta, states.workers[w], states.shared, keep = pattern.update(
                        g, states.workers[w], states.shared, t_local=tl, t_global=k + 1,
                        block=block, ctx=ctx)
                    if keep is not None:
                        kept = keep
                    if blk is not None:
                        blk[k] = block
                    if ef is not None:
                        ef[k] = pattern.ef_residual(states.workers[w])
                else:
                    g, delta = torch.empty_like(x), torch.empty_like(x)
                    drawn = {}
                    for w, tl, rows in grp:
                        if w not in drawn:
                            gw = prob.stochastic_grad(view, gens[w])
                            bw = None
                            if pattern.random_block:
                                bw = (replay_blocks[k] if replay_blocks is not None
                                      else pattern.draw_block(bgens[w], S))
                            drawn[w] = (gw, bw)
                        gw, bw = drawn[w]
                        block = bw[rows] if bw is not None else pattern.block_for(w, tl)
                        if ctx_on:
                            ctx = UpdateContext(st_k[rows], w, vk[rows], K, W, tl, k + 1)
                        dr, nw, ns, keep = pattern.update(
                            gw[rows], _sub(states.workers[w], rows), _sub(states.shared, rows),
                            t_local=tl, t_global=k + 1, block=block, ctx=ctx)
                        if keep is not None:
                            kept[rows] = keep
                        states.workers[w] = _put(states.workers[w], nw, rows)
                        states.shared = _put(states.shared, ns, rows)
                        g[rows], delta[rows] = gw[rows], dr
                        if blk is not None:
                            blk[k, rows] = block if torch.is_tensor(block) else torch.full_like(rows, block)
                        if ef is not None:
                            ef[k, rows] = pattern.ef_residual(nw)
            torch.linalg.vecdot(g, g, out=sg[k])
            if ring is not None:
                torch.linalg.vector_norm(x - view, dim=-1, out=vg[k])
            x_new = project(x + delta)
            if ctx_on:  # a discarded update writes nothing and bumps no version
                disc[k] = ~kept
                ver[:, k + 1] = vk + kept
                x_new = torch.where(kept[:, None], x_new, x)
            torch.linalg.vector_norm(x_new - x, dim=-1, out=un[k])
            if observer is not None:
                observer(k, {"worker": w, "block": block, "t_local": tl, "x": x, "view": view,
                             "grad": g, "delta": delta, "x_new": x_new,
                             "wstate_before": wstate_before,
                             "wstate_after": states.workers[w] if w >= 0 else {},
                             "shared_before": shared_before, "shared_after": states.shared})
            x = x_new
            if ring is not None:
                ring[:, (k + 1) % B] = x
            j = eval_set.get(k)
            if j is not None:
                loss_buf[j] = prob.loss(x)
                gr = prob.full_grad(x)
                torch.linalg.vecdot(gr, gr, out=gn_buf[j])
                if not bool(torch.isfinite(x).all()):
                    bad = (~torch.isfinite(x).all(-1)).nonzero().flatten().tolist()
                    done, error = k + 1, f"diverged: non-finite parameters by update {k} in seeds {bad}"
                    log.warning("%s: %s", algo.name, error)
                    break
    elapsed = time.perf_counter() - t_start

    n = done
    loss = torch.full((K, S), float("nan"), dtype=torch.float64)
    gn = torch.full((K, S), float("nan"), dtype=torch.float64)
    idx = torch.as_tensor(eval_steps, dtype=torch.int64)
    loss[idx], gn[idx] = loss_buf.cpu().double(), gn_buf.cpu().double()

    def col(t):  # (K, S) or (S, K) tensor -> seed-major flat numpy of the first n updates
        return t[:n].T.reshape(-1).cpu().numpy()

    upd = np.tile(np.arange(n, dtype=np.int64), S)
    read_col, write_col = read[:, :n].reshape(-1).numpy(), upd
    if ctx_on:  # versions count applied updates (identical to the above without discards)
        ver_np = ver.cpu().numpy()
        write_col = ver_np[:, :n].reshape(-1)
        read_col = np.take_along_axis(ver_np, read[:, :n].numpy(), axis=1).reshape(-1)
    wall = sched.wall_time[:, :n] if sched.wall_time is not None else \
        torch.arange(1, n + 1, dtype=torch.float64).expand(S, n)
    columns = {
        "seed": np.repeat(np.arange(S, dtype=np.int32), n),
        "update": upd,
        "worker": (np.full(S * n, -1, dtype=np.int32) if sync
                   else worker_np[:, :n].reshape(-1)),
        "block": col(blk) if blk is not None else np.full(S * n, -1, dtype=np.int32),
        "read_version": read_col,
        "write_version": write_col,
        "wall_time": wall.reshape(-1).numpy(),
        "loss": col(loss), "grad_norm_sq": col(gn),
        "sgrad_norm_sq": col(sg.double()), "view_gap": col(vg.double()),
        "ef_residual": col(ef.double()) if ef is not None else np.full(S * n, np.nan),
        "update_norm": col(un.double()),
        "discarded": col(disc) if ctx_on else np.zeros(S * n, dtype=bool),
    }
    meta = {
        "algorithm": algo.name, "backend": "reference", "pattern": algo.pattern,
        "rule": rule.name, "problem": problem_meta(prob, problem_options,
                                                    base if isinstance(problem, str) else None),
        "config": config, "delay": model.spec, "max_delay": model.max_delay,
        "n_workers": W, "n_seeds": S, "base_seed": base, "seeds": list(range(S)),
        "steps": K, "updates_done": n, "eval_every": ev, "device": str(device),
        "loss0": loss0, "complete": error is None, "error": error,
        "elapsed_s": elapsed, "bounds": list(algo.bounds),
        "x0": x0.double().cpu().numpy(),
    }
    if hasattr(pattern, "blocks"):
        meta["partition"] = [list(b) for b in pattern.blocks]
    meta.update(environment_meta())
    return Trace(columns, meta, x.cpu(), states)


__all__ = ["run"]
