"""Throughput benchmarks (pytest-benchmark). CI runs each once as a test (--benchmark-disable);
measure with: python -m pytest tests/test_benchmarks.py --benchmark-enable"""

import numpy as np
import torch

from sincvae.data import from_file_layout, make_dataset, split_rng
from sincvae.exact import solve_split
from sincvae.losses import cvae_loss
from sincvae.model import CVAE

ROWS = 200


def test_exact_enumerator_throughput(benchmark, data_2):
    _, y = make_dataset(data_2, ROWS, split_rng(0, "validation"))
    y = from_file_layout(y).numpy()
    solutions = benchmark(solve_split, data_2, y, 1e-5)
    assert len(solutions) == ROWS and all(len(lines) >= 1 for lines, _ in solutions)
    benchmark.extra_info["y_per_s"] = ROWS / benchmark.stats.stats.mean if benchmark.enabled else None


def test_training_step_throughput(benchmark, data_1):
    """One Adam step of the seed's final case on a batch of 500 (samples/s = 500 / mean)."""
    torch.manual_seed(0)
    x, y = (from_file_layout(t) for t in make_dataset(data_1, 500, split_rng(0, "train")))
    model = CVAE(110)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        x_hat, mean, logvar = model(x, y)
        total, _ = cvae_loss(x, x_hat, y, data_1(x_hat), mean, logvar, loss="l1_mean", beta=1.1, wx=0.6, wy=0.6)
        optimiser.zero_grad()
        total.backward()
        optimiser.step()
        return total.item()

    assert np.isfinite(benchmark(step))
