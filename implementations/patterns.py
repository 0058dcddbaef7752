"""Access patterns: how an update rule is applied asynchronously (who owns which state, which
coordinates an update writes). The same per-update kernel serves every backend.

Every kernel works on a leading seed dimension (``(S, d)``; real backends use S = 1) and is
pure: :meth:`Pattern.step` returns ``(delta, new_worker_state, new_shared_state)`` and the
caller writes ``x <- project(x + delta)`` (:func:`apply_update` does that in place).

Patterns (``t_local`` = the worker's own 1-based step count, ``t_global`` = k + 1):

- ``full`` (Hogwild!, Recht et al. 2011; Nadiradze et al. 2021 §2): every worker writes the
  whole model; rule state (momentum) kept per worker; rule clock ``t_local``. Option
  ``discard_above=R`` (None: off): a gradient whose staleness exceeds R is discarded (Ringmaster
  ASGD's rule with threshold R + 1); ``full`` is the one pattern that can discard.
- ``partition`` (PASSM, Kungurtsev et al. 2021 §2.2): :func:`partition` splits the model into
  one contiguous block per worker; worker w updates only block w, with its own rule state of
  that block's size. Deviation: the paper picks a random block among a worker's blocks; here
  each worker owns exactly one block (the co-author's code, ``get_indices``).
- ``partition_plus`` (PASSM+, code ``LPPSGD.py``): the first ``warmup`` steps of each worker
  are full steps, then partitioned and full steps alternate (partitioned first). The worker's
  state covers the whole model, so the rule must be element-wise (checked at init).
- ``random_blocks`` (Gratton & Toint 2026, notes §2.3, reconstructed): ``n_blocks`` cyclic
  windows of ``ceil(block_frac * d)`` coordinates starting at ``round(j d / n_blocks)``: they
  overlap when ``block_frac > 1/n_blocks`` and always cover every coordinate. Each update draws
  j uniformly (from :func:`block_generator`), reads/writes the *shared* accumulators and
  momentum restricted to block j (per-block scalars, e.g. AdaNorm's, are kept per block);
  rule clock ``t_global``.
- ``master_worker`` (APAM, Xu et al. Alg. 1): workers only return gradients; the master alone
  holds x, m, v, vhat (the shared state) and applies them in arrival order; ``t_global``.
- ``sparse`` / ``sparse_ef`` (Nadiradze et al. 2021 §5): a full-model write of a top-k rule's
  sparse step; the error-feedback memory ``ef`` is per worker (reported as ``ef_residual``).
- ``sync``: the mean of all workers' gradients at the same x, one shared step; ``t_global``.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .rules.base import wants_context

PATTERNS = ("full", "partition", "partition_plus", "random_blocks", "master_worker", "sparse",
            "sparse_ef", "sync")
#: pattern options and their defaults (registry defaults may override them)
PATTERN_OPTIONS: dict[str, dict] = {p: {} for p in PATTERNS}
PATTERN_OPTIONS["full"] = {"discard_above": None}
PATTERN_OPTIONS["partition_plus"] = {"warmup": 10}
PATTERN_OPTIONS["random_blocks"] = {"n_blocks": 4, "block_frac": 0.5}

_STRIDE, _BLOCK_OFFSET = 1_000_003, 20_011


def block_generator(seed: int, worker: int, device="cpu") -> torch.Generator:
    """Stream of worker ``worker``'s block choices (random_blocks): its j-th draw is its j-th block."""
    g = torch.Generator(device=device)
    g.manual_seed(seed * _STRIDE + 2 * (_BLOCK_OFFSET + int(worker)))  # even: not a noise stream
    return g


def partition_layers(sizes, n_workers: int) -> list[int]:
    """Layer cut points ``c_0 = 0 <= c_1 <= ... <= c_P = n``: worker b owns layers [c_b, c_b+1).

    Greedy contiguous: cut b sits at the layer boundary closest to ``b * total / P``, constrained
    so that every worker gets at least one layer whenever there are at least P layers.
    """
    sizes = [int(s) for s in sizes]
    if any(s < 0 for s in sizes) or sum(sizes) < 1:
        raise ValueError(f"layer sizes must be >= 0 with a positive total, got {sizes[:8]}")
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"n_workers must be an integer >= 1, got {n_workers!r}")
    n, P = len(sizes), n_workers
    prefix = [0]
    for s in sizes:
        prefix.append(prefix[-1] + s)
    total = prefix[-1]
    cuts = [0]
    for b in range(1, P):
        lo = cuts[-1] + (1 if n >= P else 0)
        hi = n - (P - b) if n >= P else n
        target = b * total / P
        j = min(max(bisect.bisect_left(prefix, target), lo), hi)
        if j - 1 >= lo and abs(prefix[j - 1] - target) <= abs(prefix[j] - target):
            j -= 1
        cuts.append(j)
    cuts.append(n)
    return cuts


def partition(sizes, n_workers: int) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` coordinate ranges, one per worker, covering each once."""
    cuts = partition_layers(sizes, n_workers)
    prefix = [0]
    for s in sizes:
        prefix.append(prefix[-1] + int(s))
    return [(prefix[cuts[b]], prefix[cuts[b + 1]]) for b in range(n_workers)]


def random_blocks(dim: int, n_blocks: int, block_frac: float) -> Tensor:
    """``(n_blocks, m)`` index table of cyclic windows (see module docstring)."""
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, int) or n_blocks < 1:
        raise ValueError(f"n_blocks must be an integer >= 1, got {n_blocks!r}")
    if not (isinstance(block_frac, (int, float)) and 0 < block_frac <= 1):
        raise ValueError(f"block_frac must be in (0, 1], got {block_frac!r}")
    m = min(dim, max(1, math.ceil(block_frac * dim - 1e-12), math.ceil(dim / n_blocks)))
    starts = torch.tensor([round(j * dim / n_blocks) for j in range(n_blocks)])
    return (starts[:, None] + torch.arange(m)[None, :]) % dim


@dataclass
class PatternState:
    """Per-worker rule states (``workers[w]``, tensors ``(S, ...)``) and the shared state."""

    workers: list = field(default_factory=list)
    shared: dict = field(default_factory=dict)


class Pattern:
    """A rule plus an access pattern, for a model of ``dim`` coordinates and ``n_workers``."""

    uses_local_t = False   # the rule clock is the worker's own step count (else k + 1)
    random_block = False   # blocks are drawn from block_generator (else block_for)
    can_discard = False    # an update may be declined (discard_above, a rule's keep)

    def __init__(self, name: str, rule, dim: int, n_workers: int, *, layer_sizes=None,
                 **options):
        if name not in PATTERNS:
            raise ValueError(f"pattern must be one of {list(PATTERNS)}, got {name!r}")
        unknown = set(options) - set(PATTERN_OPTIONS[name])
        if unknown:
            raise ValueError(f"pattern {name!r} has no options {sorted(unknown)}")
        if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
            raise ValueError(f"workers must be an integer >= 1, got {n_workers!r}")
        self.name, self.rule, self.dim, self.n_workers = name, rule, int(dim), n_workers
        self.options = {**PATTERN_OPTIONS[name], **options}
        self.layer_sizes = list(layer_sizes) if layer_sizes is not None else [1] * self.dim
        if sum(int(s) for s in self.layer_sizes) != self.dim:
            raise ValueError(f"layer sizes sum to {sum(self.layer_sizes)}, model has {self.dim}")
        self.discard_above = self.options.get("discard_above")
        if self.discard_above is not None and (isinstance(self.discard_above, bool) or not
                                               isinstance(self.discard_above, int)
                                               or self.discard_above < 0):
            raise ValueError(f"discard_above must be an integer >= 0 or None, got "
                             f"{self.discard_above!r}")
        self.setup()

    def setup(self):
        pass

    # --- state -------------------------------------------------------------------------------
    def init_states(self, x0: Tensor) -> PatternState:
        return PatternState([self.rule.init(x0) for _ in range(self.n_workers)], {})

    def block_for(self, worker: int, t_local: int) -> int:
        """The block worker ``worker`` writes at its ``t_local``-th step (-1: whole model)."""
        return -1

    def draw_block(self, generator: torch.Generator, n_seeds: int) -> Tensor:
        raise NotImplementedError

    def ef_residual(self, wstate: dict):
        """``||e||`` per seed of a worker's error-feedback memory, or None."""
        return None

    # --- the kernel --------------------------------------------------------------------------
    def step(self, grad: Tensor, wstate: dict, shared: dict, *, t_local: int, t_global: int,
             block=-1) -> tuple[Tensor, dict, dict]:
        """``(delta, new_worker_state, new_shared_state)`` of one update, ``grad`` (S, d), for a
        caller that passes no context (a context rule or a discard option is then an error)."""
        delta, wstate, shared, keep = self.update(grad, wstate, shared, t_local=t_local,
                                                  t_global=t_global, block=block)
        return delta, wstate, shared

    def update(self, grad: Tensor, wstate: dict, shared: dict, *, t_local: int, t_global: int,
               block=-1, ctx=None) -> tuple[Tensor, dict, dict, Tensor | None]:
        """``(delta, new_worker_state, new_shared_state, keep)`` of one update with its context.

        ``keep``: None when every seed's update is applied, else a bool ``(S,)`` tensor; a seed
        whose update is discarded (its staleness above the ``discard_above`` option, or the
        rule's own ``keep``) gets a zero delta and its old worker and shared state back, and
        the caller must neither write nor bump the version for it (discard semantics, README).
        """
        if (wants_context(self.rule) or self.discard_above is not None) and ctx is None:
            raise ValueError(f"{self.rule.name} on pattern {self.name!r} needs the update context "
                             "(a context rule or discard_above), which this caller does not pass")
        delta, new_w, new_s, keep = self._update(grad, wstate, shared, t_local=t_local,
                                                 t_global=t_global, block=block, ctx=ctx)
        if self.discard_above is not None:
            fresh = ctx.staleness.to(grad.device) <= self.discard_above
            keep = fresh if keep is None else keep & fresh
        if keep is None or bool(keep.all()):
            return delta, new_w, new_s, None
        if not self.can_discard:
            raise ValueError(f"pattern {self.name!r} cannot discard updates (only "
                             f"{[p for p, c in _CLASSES.items() if c.can_discard]})")
        col = keep.reshape(-1, *([1] * (delta.dim() - 1)))
        delta = torch.where(col, delta, torch.zeros_like(delta))
        return delta, _keep_rows(keep, new_w, wstate), _keep_rows(keep, new_s, shared), keep

    def _rule_step(self, grad, state, t, ctx):
        """``(delta, new_state, keep)`` of the rule, passing the context to a rule that wants it."""
        if not wants_context(self.rule):
            delta, new = self.rule.step(grad, state, t)
            return delta, new, None
        out = self.rule.step(grad, state, t, ctx)
        if len(out) == 3:
            keep = torch.as_tensor(out[2], dtype=torch.bool, device=grad.device).reshape(-1)
            return out[0], out[1], keep.expand(grad.shape[0])
        return out[0], out[1], None

    def _update(self, grad, wstate, shared, *, t_local, t_global, block, ctx):
        delta, new, keep = self._rule_step(grad, wstate, t_local, ctx)
        return delta, new, shared, keep


class FullPattern(Pattern):
    uses_local_t = True
    can_discard = True


class SparsePattern(FullPattern):
    can_discard = False  # the error-feedback memory would have to keep the dropped step

    def ef_residual(self, wstate):
        e = wstate.get("ef")
        return None if e is None else torch.linalg.vector_norm(e, dim=-1)


class SharedPattern(Pattern):
    """master_worker and sync: one state, held by the master; clock k + 1."""

    def init_states(self, x0):
        return PatternState([{} for _ in range(self.n_workers)], self.rule.init(x0))

    def _update(self, grad, wstate, shared, *, t_local, t_global, block, ctx):
        delta, new, keep = self._rule_step(grad, shared, t_global, ctx)
        return delta, wstate, new, keep


class PartitionPattern(Pattern):
    uses_local_t = True

    def setup(self):
        self.blocks = partition(self.layer_sizes, self.n_workers)

    def init_states(self, x0):
        return PatternState([self.rule.init(x0[..., a:b]) for a, b in self.blocks], {})

    def block_for(self, worker, t_local):
        return worker

    def _update(self, grad, wstate, shared, *, t_local, t_global, block, ctx):
        a, b = self.blocks[block]
        delta, keep = torch.zeros_like(grad), None
        if b > a:
            d_blk, wstate, keep = self._rule_step(grad[..., a:b], wstate, t_local, ctx)
            delta[..., a:b] = d_blk
        return delta, wstate, shared, keep


class PartitionPlusPattern(PartitionPattern):
    def setup(self):
        super().setup()
        w = self.options["warmup"]
        if isinstance(w, bool) or not isinstance(w, int) or w < 0:
            raise ValueError(f"warmup must be an integer >= 0, got {w!r}")

    def init_states(self, x0):
        states = [self.rule.init(x0) for _ in range(self.n_workers)]
        for key, v in states[0].items():
            if v.shape[-1:] != x0.shape[-1:]:
                raise ValueError(f"partition_plus needs an element-wise rule; state {key!r} of "
                                 f"{self.rule.name} has shape {tuple(v.shape)}")
        return PatternState(states, {})

    def block_for(self, worker, t_local):
        c = t_local - self.options["warmup"]
        return worker if c > 0 and c % 2 == 1 else -1

    def _update(self, grad, wstate, shared, *, t_local, t_global, block, ctx):
        if block < 0:
            delta, new, keep = self._rule_step(grad, wstate, t_local, ctx)
            return delta, new, shared, keep
        a, b = self.blocks[block]
        delta = torch.zeros_like(grad)
        if b == a:
            return delta, wstate, shared, None
        sub = {k: v[..., a:b] for k, v in wstate.items()}
        d_blk, new_sub, keep = self._rule_step(grad[..., a:b], sub, t_local, ctx)
        delta[..., a:b] = d_blk
        new = {}
        for k, v in wstate.items():
            v = v.clone()
            v[..., a:b] = new_sub[k]
            new[k] = v
        return delta, new, shared, keep


class RandomBlockPattern(Pattern):
    random_block = True

    def setup(self):
        self.table = random_blocks(self.dim, self.options["n_blocks"], self.options["block_frac"])
        self.n_blocks, self.block_size = self.table.shape

    def init_states(self, x0):
        S = x0.shape[0]
        probe = self.rule.init(x0[..., : self.block_size])
        shared, self.coordwise = {}, {}
        for key, v in probe.items():
            if v.shape[-1] == self.block_size:  # per coordinate: one shared (S, d) accumulator
                full = self.rule.init(x0)[key]
                shared[key], self.coordwise[key] = full, True
            else:  # per block (e.g. AdaNorm's scalar): (S, n_blocks, ...)
                shared[key] = v.unsqueeze(1).expand(S, self.n_blocks, *v.shape[1:]).clone()
                self.coordwise[key] = False
        return PatternState([{} for _ in range(self.n_workers)], shared)

    def draw_block(self, generator, n_seeds):
        return torch.randint(0, self.n_blocks, (n_seeds,), generator=generator,
                             device=generator.device)

    def _update(self, grad, wstate, shared, *, t_local, t_global, block, ctx):
        S = grad.shape[0]
        block = torch.as_tensor(block, device=grad.device).reshape(-1).expand(S)
        idx = self.table.to(grad.device)[block]                      # (S, m)
        ar = torch.arange(S, device=grad.device)
        sub = {k: (v.gather(-1, idx) if self.coordwise[k] else v[ar, block])
               for k, v in shared.items()}
        d_blk, new_sub, keep = self._rule_step(grad.gather(-1, idx), sub, t_global, ctx)
        new = {}
        for k, v in shared.items():
            if self.coordwise[k]:
                new[k] = v.scatter(-1, idx, new_sub[k])
            else:
                v = v.clone()
                v[ar, block] = new_sub[k]
                new[k] = v
        return torch.zeros_like(grad).scatter(-1, idx, d_blk), wstate, new, keep


def _keep_rows(keep: Tensor, new: dict, old: dict) -> dict:
    """``new`` where ``keep`` (per seed, the leading dimension), ``old`` elsewhere."""
    out = {}
    for k, v in new.items():
        if k in old and torch.is_tensor(v) and v.shape[:1] == keep.shape:
            m = keep.to(v.device).reshape(-1, *([1] * (v.dim() - 1)))
            out[k] = torch.where(m, v, old[k])
        else:
            out[k] = v
    return out


_CLASSES = {"full": FullPattern, "partition": PartitionPattern,
            "partition_plus": PartitionPlusPattern, "random_blocks": RandomBlockPattern,
            "master_worker": SharedPattern, "sparse": SparsePattern, "sparse_ef": SparsePattern,
            "sync": SharedPattern}


def make_pattern(name: str, rule, dim: int, n_workers: int, *, layer_sizes=None,
                 **options) -> Pattern:
    """The pattern ``name`` (options: :data:`PATTERN_OPTIONS`) around ``rule``."""
    if name not in _CLASSES:
        raise ValueError(f"pattern must be one of {list(PATTERNS)}, got {name!r}")
    return _CLASSES[name](name, rule, dim, n_workers, layer_sizes=layer_sizes, **options)


def apply_update(pattern: Pattern, x: Tensor, states: PatternState, worker: int, grad: Tensor, *,
                 t_local: int, t_global: int, block=-1, project=None) -> Tensor:
    """One update in place, for a real backend: state of ``worker`` and shared state replaced,
    ``x <- project(x + delta)`` (``x.add_`` when ``project`` is None). Returns ``delta``."""
    delta, states.workers[worker], states.shared = pattern.step(
        grad, states.workers[worker], states.shared, t_local=t_local, t_global=t_global,
        block=block)
    if project is None:
        x.add_(delta)
    else:
        x.copy_(project(x + delta))
    return delta


__all__ = ["PATTERNS", "PATTERN_OPTIONS", "Pattern", "PatternState", "apply_update",
           "block_generator", "make_pattern", "partition", "partition_layers", "random_blocks"]
