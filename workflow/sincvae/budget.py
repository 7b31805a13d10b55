"""The reference epoch, the unit every time budget is stated in: one epoch of a plain fp32
PyTorch loop (torch.optim.Adam, no autocast) of the original study's CVAE at its recommended
setting over 10,000 lines at batch 500, on one thread. Any machine runs it in seconds, so a
budget in reference epochs holds across CPUs with and without bf16. Also each method's training
seconds on this machine, from a few epochs (`python -m sincvae.plan.calibration probe`).

    python -m sincvae.budget        # prints the seconds of one reference epoch here
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from sincvae.learn import registry
from sincvae.plan.cost import REFERENCE_ROWS
from sincvae.problem.data import prior_lines
from sincvae.problem.forward import ForwardMap
from sincvae.problem.lines import sample_lines
from sincvae.learn.methods.cvae import CVAE
from sincvae.plan.planning import Plan
from sincvae.learn.train import TrainSettings, fit

BATCH = 500
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
    x = torch.from_numpy(sample_lines(REFERENCE_ROWS, np.random.default_rng(seed)).astype(np.float32))
    y = fmap(x)
    # the original study's layers as they are, not the study's composed decoder (methods.cvae.Decoder)
    model = CVAE(registry.settings(REFERENCE), registry.Context(fmap), composed=False)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(rows: torch.Tensor) -> None:
        total, _ = model.loss(x[rows], y[rows])
        optimiser.zero_grad()
        total.backward()
        optimiser.step()

    step(torch.arange(BATCH))  # warm-up: first-call allocation and optimiser set-up
    order = torch.randperm(REFERENCE_ROWS, generator=torch.Generator().manual_seed(seed))
    started = time.perf_counter()
    for start in range(0, REFERENCE_ROWS, BATCH):
        step(order[start:start + BATCH])
    return time.perf_counter() - started


def training_seconds(plan: Plan, config: dict, epochs: int = 3, rows: int = REFERENCE_ROWS, log=print,
                     reference: Callable[[], float] = reference_epoch_seconds) -> dict[str, tuple[float, float]]:
    """Each learned method's seconds per seed-epoch of 10,000 lines here, with the reference
    epoch timed right before and after it (their mean): a shared machine's speed drifts within
    minutes, so a rate is the ratio of the two taken together.

    Timed on the jobs' threads (config `threads`): the method's case with the most seed-epochs in
    the plan, trained from its first seed for `epochs` epochs on `rows` lines of the first
    dataset, the median epoch (the first one allocates), scaled to 10,000 lines. Timed on lines:
    a case with targets: solutions draws each epoch's targets by an index lookup, and their
    enumeration is rule solve_train's, priced apart."""
    seed_epochs = {name: len(run.seeds) * (run.case["epochs"] - plan.epochs_done(name))
                   for name, run in plan.runs.items() if registry.method(run.case["method"]).learns}
    costliest: dict[str, str] = {}
    for name in sorted(seed_epochs, key=seed_epochs.get):
        costliest[plan.cases[name]["method"]] = name
    fmap = ForwardMap.from_config(next(iter(config["datasets"].values())))
    threads = torch.get_num_threads()
    measured = {}
    try:
        torch.set_num_threads(config["threads"])  # reference() restores it after its one thread
        around = [reference()]
        for method, name in sorted(costliest.items()):
            settings = TrainSettings.from_dict({**plan.cases[name], "seed": plan.runs[name].seeds[0],
                                                "epochs": epochs, "targets": "lines"})
            train = prior_lines(fmap, rows, np.random.default_rng(settings.seed))
            log(f"{method}: case {name}, {epochs} epochs")
            _, history = fit(settings, fmap, train, None, torch.device("cpu"), log=lambda line: log(f"  {line}"))
            seconds = float(np.median([row["seconds"] for row in history])) * REFERENCE_ROWS / rows
            around.append(reference())
            measured[method] = (seconds, (around[-2] + around[-1]) / 2)
            log(f"{method}: {seconds:.3f} s per seed-epoch, reference epoch {measured[method][1]:.3f} s")
    finally:
        torch.set_num_threads(threads)
    return measured


if __name__ == "__main__":
    print(f"{reference_epoch_seconds():.3f}")
