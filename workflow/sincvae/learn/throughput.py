"""Throughput of training, generation and the exact enumerator on this machine."""

from __future__ import annotations

import os
import platform
import time
from importlib.metadata import version

import numpy as np
import torch

from sincvae.problem.exact import solve_split
from sincvae.problem.forward import ForwardMap
from sincvae.learn import registry
from sincvae.learn.train import TrainSettings, adam, autocast_dtype, train_step


def machine() -> dict:
    return {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": version("torch"),
            "processor": platform.processor() or platform.machine(), "python": platform.python_version()}


def _timed(fn, repeats: int) -> float:
    """Seconds per call over `repeats` calls, after one warm-up call."""
    fn()
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats


def training_samples_per_s(settings: TrainSettings, fmap: ForwardMap, x: torch.Tensor, y: torch.Tensor,
                           steps: int, device: torch.device) -> float:
    """One Adam step on a batch of settings.batch_size rows of (x, y), as in training (settings.precision)."""
    amp = autocast_dtype(settings.precision, device)
    torch.manual_seed(settings.seed)
    model = registry.build(settings.method, settings.model, registry.Context(fmap)).to(device)
    optimiser = adam(model, settings)
    xb, yb = x[:settings.batch_size].to(device), y[:settings.batch_size].to(device)

    def step():
        train_step(model, optimiser, xb, yb, amp)
        if device.type == "cuda":
            torch.cuda.synchronize()

    return len(xb) / _timed(step, steps)


def generation_samples_per_s(settings: TrainSettings, y: torch.Tensor, samples: int, repeats: int,
                             device: torch.device) -> float:
    model = registry.build(settings.method, settings.model, None).to(device).eval()
    yd = y.to(device)
    generator = torch.Generator(device).manual_seed(0)

    def generate():
        model.generate(yd, samples, generator)
        if device.type == "cuda":
            torch.cuda.synchronize()

    return len(y) * samples / _timed(generate, repeats)


def exact_y_per_s(fmap: ForwardMap, y: np.ndarray, tolerance: float) -> float:
    started = time.perf_counter()
    solve_split(fmap, y, tolerance)
    return len(y) / (time.perf_counter() - started)
