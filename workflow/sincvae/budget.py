"""The reference epoch, the unit every time budget is stated in: one epoch of a plain fp32
PyTorch loop (torch.optim.Adam, no autocast) of the original study's CVAE at its recommended
setting over 10,000 lines at batch 500, on one thread. Any machine runs it in seconds, so a
budget in reference epochs holds across CPUs with and without bf16.

    python -m sincvae.budget        # prints the seconds of one reference epoch here
"""

from __future__ import annotations

import time

import numpy as np
import torch

from . import registry
from .forward import ForwardMap
from .lines import sample_lines

ROWS, BATCH = 10_000, 500
REFERENCE = {"method": "cvae", "loss": "l1_mean", "beta": 1.1, "wx": 0.6, "wy": 0.6, "latent_dim": 110}
MAP = {"terms": [{"fn": "sin", "a": 5, "b": 3}, {"fn": "cos", "a": 4, "b": 8}]}  # data_1's


def reference_epoch_seconds(seed: int = 0) -> float:
    """Wall seconds of one reference epoch on one thread, after a warm-up batch; torch's thread
    count is restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _epoch(seed)
    finally:
        torch.set_num_threads(threads)


def _epoch(seed: int) -> float:
    torch.manual_seed(seed)
    fmap = ForwardMap.from_config(MAP)
    x = torch.from_numpy(sample_lines(ROWS, np.random.default_rng(seed)).astype(np.float32))
    y = fmap(x)
    model = registry.build("cvae", registry.settings(REFERENCE), registry.Context(fmap))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(rows: torch.Tensor) -> None:
        total, _ = model.loss(x[rows], y[rows])
        optimiser.zero_grad()
        total.backward()
        optimiser.step()

    step(torch.arange(BATCH))  # warm-up: first-call allocation and optimiser set-up
    order = torch.randperm(ROWS, generator=torch.Generator().manual_seed(seed))
    started = time.perf_counter()
    for start in range(0, ROWS, BATCH):
        step(order[start:start + BATCH])
    return time.perf_counter() - started


if __name__ == "__main__":
    print(f"{reference_epoch_seconds():.3f}")
