"""CUDA paths of the real backends (skipped without a GPU by tests/conftest.py).

- processes, one GPU: the model is a CUDA tensor owned by the parent and shared with every
  worker through CUDA IPC; locked replay on the reference backend with device="cuda" (same
  CUDA noise generators) is exact;
- processes, several GPUs: worker w computes on cuda:(w mod n) and writes to the shared
  model on cuda:0;
- distributed: NCCL when every rank has a GPU, else gloo on the wire with CUDA compute.
"""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
import torch
from asyncbound.implementations.backends import distributed, processes, replay

pytestmark = [pytest.mark.cuda, pytest.mark.multiprocess]


@pytest.mark.timeout(300)
def test_hogwild_shared_cuda_tensor_locked_replay_exact():
    steps = 200
    tr = processes.run("hogwild_sgd", "quadratic", None, steps, [0], workers=2, dim=16,
                       device="cuda", lock=True)
    assert tr.complete and tr.meta["device"].startswith("cuda")
    assert np.array_equal(np.sort(tr["write_version"]), np.arange(steps))
    rp = replay(tr, device="cuda")
    np.testing.assert_array_equal(np.asarray(tr.final_params), np.asarray(rp.final_params))
    assert multiprocessing.active_children() == []


@pytest.mark.timeout(300)
def test_apam_master_on_cuda_lock_free():
    tr = processes.run("apam", "quadratic", None, 150, [1], workers=2, dim=16, device="cuda")
    assert tr.complete and tr.meta["writer_processes"] == ["master"]
    assert np.isfinite(tr["loss"][-1])


@pytest.mark.timeout(300)
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 GPUs")
def test_one_worker_per_gpu():
    tr = processes.run("hogwild_sgd", "quadratic", None, 100, [0], workers=2, dim=16,
                       device="cuda", lock=True)
    assert tr.meta["backend_config"]["worker_devices"] == ["cuda:0", "cuda:1"]


@pytest.mark.distributed
@pytest.mark.timeout(300)
def test_distributed_apam_on_cuda():
    tr = distributed.run("apam", "quadratic", None, 100, [0], workers=2, dim=16, device="cuda")
    assert tr.complete
    expected = "nccl" if torch.cuda.device_count() >= 3 else "gloo"
    assert tr.meta["backend_config"]["process_group"] == expected
