"""Training loop of the learned methods: Adam on minibatches of in-memory tensors, one history row per epoch."""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd
import torch
from tqdm.auto import tqdm

from sincvae.learn import registry
from sincvae.problem.data import SolutionSets, online_rng, prior_lines, solutions_rng
from sincvae.problem.forward import ForwardMap
from sincvae.plan.machine import has_bf16


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; no model is written."""


SCHEDULES = ("constant", "cosine")
TARGETS = ("lines", "solutions")
# About this many validation losses and checkpoints a run: after every epoch of a run up to 30
# epochs, else evenly spaced with the first and last epochs (spaced_epochs). After every epoch of
# a 200-epoch case, validation and checkpoints (a 3-12 MB state each) were a sixth of its job.
SPACED_POINTS = 30


def spaced_epochs(epochs: int) -> set[int]:
    """The epochs of a run of `epochs` after which it computes its validation losses and saves its checkpoint."""
    every = math.ceil(epochs / SPACED_POINTS)
    return {1, epochs} | set(range(every, epochs + 1, every))


@dataclass(frozen=True)
class TrainSettings:
    """A learned case's training settings (registry.TRAINING) and its method's own (`model`)."""

    lr: float
    batch_size: int
    epochs: int
    method: str
    seed: int = 0
    # fp32, or bf16 autocast of the model's layers (the losses stay fp32)
    precision: str = "fp32"
    # fresh lines from the prior every epoch (data.online_rng), as many as the train split has
    online: bool = False
    # constant lr, or cosine: lr·(1 + cos(π·step/steps))/2 over all the run's steps
    schedule: str = "constant"
    # lines: the train split's (or the online) lines; solutions: each epoch one exact solution of
    # each train y, drawn by its posterior weight (data.SolutionSets)
    targets: str = "lines"
    model: Any = None  # the method's Settings

    def __post_init__(self):
        if self.schedule not in SCHEDULES:  # checked once here, not at every step's lr
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.targets not in TARGETS:
            raise ValueError(f"targets must be one of {TARGETS}, got {self.targets!r}")
        problem = registry.training_problem({"targets": self.targets, "online": self.online})
        if problem:
            raise ValueError(problem)

    @classmethod
    def from_dict(cls, values: dict) -> TrainSettings:
        """From a case row: this class's columns, and the method's own as its Settings."""
        common = {f.name: values[f.name] for f in fields(cls) if f.name in values and f.name != "model"}
        return cls(**common, model=registry.settings(values))


def resolve_device(name: str) -> torch.device:
    """"auto" picks CUDA when present; "cuda" without a GPU is an error, not a silent fallback."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but torch sees no CUDA device")
    return torch.device(name)


PRECISIONS = ("fp32", "bf16")


def learning_rate(settings: TrainSettings, step: int, steps: int) -> float:
    """The lr of optimiser step `step` (0-based) of a run of `steps` steps."""
    if settings.schedule == "constant":
        return settings.lr
    return settings.lr * 0.5 * (1 + math.cos(math.pi * step / steps))


def bf16_supported(device: torch.device) -> bool:
    """Whether the hardware computes bf16 (CPU: AVX512-BF16 or AMX, from the flags the kernel
    reports; CUDA: compute capability ≥ 8). Elsewhere than Linux a CPU counts as without."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return has_bf16()


def autocast_dtype(precision: str, device: torch.device, log: Callable[[str], None] = print) -> torch.dtype | None:
    """The autocast dtype of `precision` on `device`; bf16 without hardware support falls back to
    fp32 (emulated bf16 is slower than fp32), saying so."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "fp32":
        return None
    if not bf16_supported(device):
        log(f"precision bf16 asked for, but this {device.type} has no bf16 instructions: running in fp32")
        return None
    return torch.bfloat16


def generation_dtype(case: dict, device: torch.device, log: Callable[[str], None] = print) -> torch.dtype | None:
    """The autocast dtype a method generates in: a learned method's training precision (its
    output layers stay fp32: methods.cvae.Decoder's composed tail, methods.layers.Fp32Linear, the flow's splines), none for
    the training-free methods; generating in bf16 is faster per line where the CPU has it."""
    return autocast_dtype(case["precision"], device, log) if registry.method(case["method"]).learns else None


def _step_losses(model, x, y, amp=None):
    """The batch's total loss and its named parts (model.loss), the model under autocast to
    `amp` if given; every method computes its loss in fp32 (f's phases need more than bf16)."""
    with torch.autocast(x.device.type, dtype=amp or torch.bfloat16, enabled=amp is not None):
        return model.loss(x, y)


def adam(model: torch.nn.Module, settings: TrainSettings) -> torch.optim.Adam:
    """The training optimiser: Adam, fused (one kernel over all parameters rather than one per
    tensor, so fewer passes per step) where the parameters' device supports it."""
    device = next(model.parameters()).device.type
    return torch.optim.Adam(model.parameters(), lr=settings.lr, fused=device in ("cpu", "cuda"))


def set_learning_rate(optimiser: torch.optim.Optimizer, lr: float) -> None:
    for group in optimiser.param_groups:
        group["lr"] = lr


def train_step(model, optimiser, x, y, amp=None) -> tuple[torch.Tensor, dict]:
    """One optimiser step on a batch (autocast to `amp` if given); returns the batch's total loss and its parts."""
    total, parts = _step_losses(model, x, y, amp)
    optimiser.zero_grad(set_to_none=True)
    total.backward()
    optimiser.step()
    return total, parts


def _add(sums: dict[str, float], total: torch.Tensor, parts: dict) -> None:
    sums["loss"] = sums.get("loss", 0.0) + total.item()
    for key, value in parts.items():
        sums[key] = sums.get(key, 0.0) + value.item()


@torch.no_grad()
def evaluate_loss(model, x, y, batch_size: int, amp=None) -> dict[str, float]:
    """Mean per-batch losses over (x, y), without autograd."""
    model.eval()
    sums: dict[str, float] = {}
    batches = range(0, x.shape[0], batch_size)
    for start in batches:
        sl = slice(start, start + batch_size)
        _add(sums, *_step_losses(model, x[sl], y[sl], amp))
    model.train()
    return {key: value / len(batches) for key, value in sums.items()}


def fit(settings: TrainSettings, fmap: ForwardMap, train: tuple[torch.Tensor, torch.Tensor],
        validation: tuple[torch.Tensor, torch.Tensor] | None, device: torch.device, *,
        log: Callable[[str], None] = print, checkpoint: Path | None = None,
        progress: bool | None = None,
        epoch_end: Callable[[int, torch.nn.Module], None] | None = None,
        solutions: SolutionSets | None = None, tolerance: float | None = None) -> tuple[torch.nn.Module, list[dict]]:
    """Seed, build and train a learned method's model. train/validation: (x, y), each (N, 2, 50);
    without `validation` no validation losses are computed (the ablations never read them), with
    it after the epochs of spaced_epochs (the other rows have none).
    `solutions`: the exact solutions of the train split's rows, which targets: solutions draws
    each epoch's lines from; `tolerance`: data.tolerance, for a method that needs it (registry.Method.needs).

    With `checkpoint`, the state after each epoch of spaced_epochs is saved there (the last one's
    always), and a run that finds one
    written with the same settings (a shorter run's, or its own from before an interruption)
    resumes after its last epoch; on the CPU the result is the same as an uninterrupted run. `progress` shows a bar over each epoch's batches; by default
    only when stderr is a terminal (an interactive session, not a rule's log file).
    `epoch_end(epoch, model)` runs after each epoch (hyperparameter search: report, prune).
    Returns the model (on CPU) and one history dict per epoch.
    """
    if progress is None:
        progress = sys.stderr.isatty()
    # Subnormal floats (a sharp softmax's smallest probabilities, late in training) take a slow
    # path on Intel cores, so epochs late in a long run slowed down; flushed to zero, they do not.
    torch.set_flush_denormal(True)
    torch.manual_seed(settings.seed)
    shuffle = torch.Generator().manual_seed(settings.seed)
    amp = autocast_dtype(settings.precision, device, log)
    model = registry.build(settings.method, settings.model, registry.Context(fmap, tolerance)).to(device)
    optimiser = adam(model, settings)
    x_train, y_train = (t.to(device) for t in train)
    if settings.targets == "solutions" and (solutions is None or len(solutions) != len(y_train)):
        raise ValueError("targets: solutions needs the exact solutions of every row of the train split")
    x_val, y_val = (t.to(device) for t in validation) if validation is not None else (None, None)
    n = x_train.shape[0]
    data = [n, float(x_train.double().sum()), float(y_train.double().sum())]  # which data a checkpoint saw
    history = _resume(checkpoint, settings, data, model, optimiser, shuffle, log) if checkpoint else []
    spaced = spaced_epochs(settings.epochs)
    for epoch in range(len(history) + 1, settings.epochs + 1):
        started = time.perf_counter()
        if settings.online:
            x_train, y_train = (t.to(device) for t in prior_lines(fmap, n, online_rng(settings.seed, epoch)))
        elif settings.targets == "solutions":
            x_train = solutions.draw(solutions_rng(settings.seed, epoch)).to(device)
        sums: dict[str, float] = {}
        order = torch.randperm(n, generator=shuffle).to(device)
        batches = 0
        starts = range(0, n, settings.batch_size)
        for start in tqdm(starts, desc=f"epoch {epoch}/{settings.epochs}", leave=False, disable=not progress):
            step = (epoch - 1) * len(starts) + batches
            set_learning_rate(optimiser, learning_rate(settings, step, settings.epochs * len(starts)))
            idx = order[start:start + settings.batch_size]
            total, parts = train_step(model, optimiser, x_train[idx], y_train[idx], amp)
            batches += 1
            if not math.isfinite(total.item()):
                raise TrainingDiverged(f"loss became {total.item()} at epoch {epoch}, batch {batches}")
            _add(sums, total, parts)
        seconds = time.perf_counter() - started
        val = evaluate_loss(model, x_val, y_val, settings.batch_size, amp) if x_val is not None and epoch in spaced else {}
        row = {"epoch": epoch, "lines_seen": n * (epoch if settings.online else 1),
               **{f"train_{k}": v / batches for k, v in sums.items()},
               **{f"val_{k}": v for k, v in val.items()}, "seconds": seconds, "samples_per_s": n / seconds}
        history.append(row)
        if checkpoint and epoch in spaced:
            _save(checkpoint, settings, data, model, optimiser, shuffle, history)
        losses = "  ".join(f"{k} {v / batches:.4g}" for k, v in sums.items())
        validated = f"val_loss {row['val_loss']:.4g}  " if val else ""
        log(f"epoch {epoch}/{settings.epochs}  {losses}  {validated}{seconds:.1f} s  {row['samples_per_s']:.0f} samples/s")
        if epoch_end:
            epoch_end(epoch, model)
    return model.cpu(), history


def train_seeds(case: dict, seeds: list[int], fmap: ForwardMap,
                train: tuple[torch.Tensor, torch.Tensor], validation: tuple[torch.Tensor, torch.Tensor] | None,
                device: torch.device, label: str, *, history: str | None = None, checkpoints: str | None = None,
                starts: list[str] | None = None, states: str | None = None, log: Callable[[str], None] = print,
                epoch_end: Callable[[int, torch.nn.Module], None] | None = None,
                solutions: SolutionSets | None = None, tolerance: float | None = None
                ) -> Iterator[tuple[int, torch.nn.Module, list[dict]]]:
    """Train a batch of a case's seeds one after another as a run job runs them; yields (seed,
    model, history) seed by seed, then writes every seed's history, a `seed` column, to `history`.

    With `checkpoints` (a folder; None: a search's trial, which keeps none), each seed
    checkpoints there as checkpoints/seed{s}.pt (not a declared output, so Snakemake keeps it
    when the job dies); the checkpoints are kept until every seed is done, so a rerun takes
    finished seeds from theirs without training and resumes the one it was on. `starts`: the
    batch files ({seed: state}) of a shorter run whose final states these seeds continue from
    (an epochs level); `states`: where the batch's final states are kept ({seed: state}) for a
    longer run, else the checkpoints are deleted at the end. `label` (e.g. data_1/case) names
    the run in the log and when the loss diverges; `epoch_end`, `solutions`, `tolerance` as in fit.
    """
    folder = Path(checkpoints) if checkpoints else None
    paths = {seed: folder / f"seed{seed}.pt" if folder else None for seed in seeds}
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    shorter = {}
    for start in starts or []:
        shorter.update(torch.load(start, weights_only=True, map_location="cpu"))
    rows = []
    for seed in seeds:
        settings = TrainSettings.from_dict({**case, "seed": seed})
        checkpoint = paths[seed]
        if seed in shorter and not checkpoint.exists():  # an interrupted run's own checkpoint goes first
            log(f"seed {seed}: continuing the shorter run's final state")
            torch.save(shorter[seed], checkpoint)
        log(f"{label}/seed{seed}: training on {fmap}; {settings}; device {device}, {torch.get_num_threads()} threads")
        try:
            model, seed_history = fit(settings, fmap, train, validation, device, log=log, checkpoint=checkpoint,
                                      epoch_end=epoch_end, solutions=solutions, tolerance=tolerance)
        except TrainingDiverged as err:
            raise TrainingDiverged(f"{label}/seed{seed}: {err}") from None
        rows += [{"seed": seed, **row} for row in seed_history]
        yield seed, model, seed_history
    if history:
        pd.DataFrame(rows).to_csv(history, index=False)
    if states:
        torch.save({seed: torch.load(paths[seed], weights_only=True, map_location="cpu") for seed in seeds}, states)
    for checkpoint in paths.values():  # the folder stays: another job of the case may be writing to it
        if checkpoint:
            checkpoint.unlink()


def _save(path: Path, settings, data, model, optimiser, shuffle, history) -> None:
    state = {"settings": asdict(settings), "data": data, "model": model.state_dict(),
             "optimiser": optimiser.state_dict(), "torch_rng": torch.get_rng_state(),
             "shuffle_rng": shuffle.get_state(), "history": history}
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    os.replace(partial, path)  # a kill mid-write never leaves a torn checkpoint


def _resume(path: Path, settings, data, model, optimiser, shuffle, log) -> list[dict]:
    """Restore the state saved in `path` if it belongs to this run; returns the history so far."""
    if not path.exists():
        return []
    state = torch.load(path, weights_only=True, map_location="cpu")
    # A run of the same settings up to its epochs (a shorter run, or this one interrupted) resumes
    # exactly; under a cosine schedule only the same run does (the lr depends on the epochs).
    same = {**state["settings"], "epochs": settings.epochs} == asdict(settings)
    same = same and (settings.schedule == "constant" or state["settings"]["epochs"] == settings.epochs)
    if not same or state["data"] != data or len(state["history"]) > settings.epochs:
        log(f"ignoring {path}: written for other settings, data or more epochs")
        return []
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    torch.set_rng_state(state["torch_rng"])
    shuffle.set_state(state["shuffle_rng"])
    log(f"resuming from {path} after epoch {len(state['history'])}")
    return state["history"]
