"""Generation and refinement of lines: a case's seeds trained (if its method learns) and their
lines drawn for the scored rows. Scoring them is sincvae.score.scoring's, in a job of its own that
reads the stored lines, so a change of a scoring setting retrains nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import torch

from sincvae.learn import registry
from sincvae.problem.data import SolutionSets, generation_seed
from sincvae.problem.forward import ForwardMap
from sincvae.plan.planning import Generation, Run
from sincvae.learn.refine import refine_candidates
from sincvae.learn.train import generation_dtype, train_seeds


def generate_split(sampler: torch.nn.Module, fmap: ForwardMap, y: torch.Tensor, options: Generation,
                   generator: torch.Generator, amp: torch.dtype | None = None) -> tuple[dict, dict]:
    """A method's lines for targets y (B, 2, L) in each stage, generated under autocast to `amp`
    if given (train.generation_dtype).

    raw: the first `samples` of the method's lines. refined: `oversample` × `samples` lines
    refined and cut back to `samples` (refine_candidates), when refine steps > 0.
    Returns ({stage: lines (B, K, 2, L)}, timing in seconds and counts, with the refined
    stage's share of converged candidates).
    """
    started = time.perf_counter()
    with torch.autocast(generator.device.type, dtype=amp or torch.bfloat16, enabled=amp is not None):
        candidates = sampler.generate(y.to(generator.device), options.candidates, generator)
    candidates = candidates.cpu().double().numpy()
    timing = {"rows": len(y), "samples": options.samples, "candidates": options.candidates,
              "generate_s": time.perf_counter() - started, "refine_s": 0.0}
    stages = {"raw": candidates[:, :options.samples]}
    if options.refine_steps:
        started = time.perf_counter()
        stages["refined"], converged = refine_candidates(fmap, candidates, y.numpy(), options.samples,
                                                         options.refine_steps, options.converged)
        timing["refine_s"] = time.perf_counter() - started
        timing["converged_share"] = float(converged.mean())
    return stages, timing


def run_seeds(run: Run, fmap: ForwardMap, targets: dict[str, torch.Tensor], device: torch.device, label: str, *,
              train: tuple | None = None, validation: tuple | None = None, tolerance: float | None = None,
              history: str | None = None, checkpoints: str | None = None, starts: list[str] | None = None,
              states: str | None = None, log: Callable[[str], None] = print,
              epoch_end: Callable | None = None,
              solutions: SolutionSets | None = None) -> Iterator[tuple[int, torch.nn.Module, dict, dict, list]]:
    """A Run, seed after seed: train the case (a method that learns; train.train_seeds), then
    generate its lines for `targets` {split: y (B, 2, L)}, each split from its own stream of
    the seed (data.generation_seed), so a split's lines do not depend on the others generated.
    The comparison, the ablations and the search all run through here.

    train, validation: (x, y) to train on and for the validation losses (run.validation_loss);
    a training-free method reads `train` as its Context (nearest neighbours); `tolerance`: the
    exact enumerator's, for a method that needs it (the posterior, bayes); `solutions`: the train split's exact solutions (targets:
    solutions); history, checkpoints, starts, states: as in train.train_seeds. Yields (seed,
    model, {(split, stage): lines}, timing, history: one dict per epoch, none for a
    training-free method).
    """
    case = run.case
    if registry.method(case["method"]).learns:
        trained = train_seeds(case, list(run.seeds), fmap, train, validation if run.validation_loss else None,
                              device, label, history=history, checkpoints=checkpoints, starts=starts,
                              states=states, log=log, epoch_end=epoch_end, solutions=solutions, tolerance=tolerance)
    else:
        context = registry.Context(fmap, tolerance, train)
        trained = ((seed, registry.load_sampler(case, None, context, device), []) for seed in run.seeds)
    amp = generation_dtype(case, device, log)
    for seed, model, history in trained:
        model = model.to(device).eval()
        timing = {"seed": seed, "train_s": sum(row["seconds"] for row in history)}
        lines = {}
        for split, y in targets.items():
            log(f"seed {seed}, {split}: generating {run.generation.samples} lines for each of {len(y)} rows "
                f"({run.generation})")
            generator = torch.Generator(device).manual_seed(generation_seed(seed, split))
            stages, timing[split] = generate_split(model, fmap, y, run.generation, generator, amp)
            lines.update({(split, stage): x for stage, x in stages.items()})
        yield seed, model, lines, timing, history
