"""Generation and refinement of lines, their compact storage, and their scores against the
exact solutions. Scoring needs only the stored lines (score_stored), not the model that drew
them: someone's sample file is scored the same way."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import torch

from . import registry
from .data import SolutionSets, generation_seed
from .forward import ForwardMap
from .lines import lines_from_ends
from .metrics import sample_scores, summarise, truth_table
from .planning import Generation, Run
from .refine import refine_candidates
from .train import generation_dtype, train_seeds

Solutions = list[tuple[np.ndarray, np.ndarray]]  # per row: lines (S, 2, L), posterior weights (S,)
# A stored set of lines is kept as its end points when every line is that straight line to
# within float32 round-off (x0 = s + (e − s)·t computed in float32 is off by under 2 ulp).
STRAIGHT = 2.5e-7


def save_table(frame: pd.DataFrame, path) -> None:
    """A per-line table (samples, scores) in float32, byte-stream-split and zstd: a third of
    the default (snappy, float64) size; lossless for the float32 lines."""
    frame = frame.astype({c: np.float32 for c in frame.select_dtypes("float64").columns})
    floats = [c for c in frame.columns if frame[c].dtype == np.float32]
    frame.to_parquet(path, index=False, compression="zstd", use_byte_stream_split=floats,
                     use_dictionary=[c for c in frame.columns if c not in floats])


def lines_frame(lines: dict[tuple[str, str], np.ndarray]) -> pd.DataFrame:
    """Lines {(split, stage): (B, K, 2, L)} as one long table: split, stage, row, sample, point,
    x0, x1 in float32. A set whose lines are all straight keeps only points 0 and L − 1."""
    parts = []
    for (split, stage), x in lines.items():
        x = np.asarray(x, dtype=np.float32)
        length = x.shape[-1]
        ends = x[..., [0, -1]].astype(np.float64)
        rebuilt = lines_from_ends(ends[..., 0], ends[..., 1], length)
        # a line with a NaN end comes back all NaN: straight if it was all NaN (a sampler's failed line)
        same_gaps = np.array_equal(np.isnan(rebuilt), np.isnan(x))
        straight = same_gaps and np.nan_to_num(np.abs(rebuilt - x)).max(initial=0.0) <= STRAIGHT
        points = np.array([0, length - 1]) if straight else np.arange(length)
        kept = x[..., points]
        index = np.indices(kept.shape[:2] + (len(points),)).reshape(3, -1)
        parts.append(pd.DataFrame({
            "split": split, "stage": stage, "row": index[0].astype(np.int32), "sample": index[1].astype(np.int16),
            "point": points[index[2]].astype(np.int16), "x0": kept[:, :, 0].reshape(-1), "x1": kept[:, :, 1].reshape(-1),
        }))
    return pd.concat(parts, ignore_index=True)


def lines_from_frame(frame: pd.DataFrame, length: int) -> dict[tuple[str, str], np.ndarray]:
    """Inverse of lines_frame -> {(split, stage): (B, K, 2, length) float64}."""
    lines = {}
    for (split, stage), part in frame.groupby(["split", "stage"], sort=False):
        part = part.sort_values(["row", "sample", "point"])
        rows, samples = part["row"].max() + 1, part["sample"].max() + 1
        kept = part["point"].nunique()
        x = part[["x0", "x1"]].to_numpy(np.float64).reshape(rows, samples, kept, 2).transpose(0, 1, 3, 2)
        lines[(split, stage)] = lines_from_ends(x[..., 0], x[..., -1], length) if kept < length else x
    return lines


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
              histories: list[str] | None = None, starts: list[str] | None = None,
              states: list[str] | None = None, log: Callable[[str], None] = print,
              epoch_end: Callable | None = None,
              solutions: SolutionSets | None = None) -> Iterator[tuple[int, torch.nn.Module, dict, dict, list]]:
    """A Run, seed after seed: train the case (a method that learns; train.train_seeds), then
    generate its lines for `targets` {split: y (B, 2, L)}, each split from its own stream of
    the seed (data.generation_seed), so a split's lines do not depend on the others generated.
    The comparison, the ablations and the search all run through here.

    train, validation: (x, y) to train on and for the validation losses (run.validation_loss);
    a training-free method reads `train` as its Context (nearest neighbours); `tolerance`: the
    exact enumerator's, for a method that needs it (the posterior, bayes); `solutions`: the train split's exact solutions (targets:
    solutions). Yields (seed, model, {(split, stage): lines}, timing, history: one dict per
    epoch, none for a training-free method).
    """
    case = run.case
    if registry.method(case["method"]).learns:
        trained = train_seeds(case, list(run.seeds), histories, fmap, train,
                              validation if run.validation_loss else None, device, label, starts=starts,
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


def score_lines(fmap: ForwardMap, split: str, x_hat: np.ndarray, x: np.ndarray, y: np.ndarray,
                solutions: Solutions, match_tolerance: float) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Score lines x_hat (B, K, 2, L) for targets y against the true x and the exact solutions.

    Returns (per-sample scores, summary dict, per-row scores: coverage, precision, near,
    distance, MMD and the mean forward residual of the row's K lines).
    """
    scores = sample_scores(x_hat, y, x, fmap, match_tolerance)
    truth = truth_table(x_hat, scores["valid"].to_numpy().reshape(x_hat.shape[:2]), solutions, match_tolerance)
    rows = truth.assign(split=split, residual_l1=scores.groupby("row")["residual_l1"].mean().to_numpy())
    return scores.assign(split=split), summarise(scores, truth, match_tolerance), rows


def score_stored(fmap: ForwardMap, lines: dict[tuple[str, str], np.ndarray], splits: dict[str, tuple],
                 solutions: dict[str, Solutions], match_tolerance: float) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Score stored lines {(split, stage): (B, K, 2, L)} against splits {split: (x, y)} (the
    first B rows are scored) and their exact solutions. Returns (per-line scores, per-row
    scores, {stage: {split: summary}}), the tables with their split and stage."""
    scores, rows, summaries = [], [], {}
    for (split, stage), x_hat in lines.items():
        x, y = (np.asarray(t)[:len(x_hat)] for t in splits[split])
        line_scores, summary, row_scores = score_lines(fmap, split, x_hat, x, y, solutions[split][:len(x_hat)],
                                                      match_tolerance)
        scores.append(line_scores.assign(stage=stage))
        rows.append(row_scores.assign(stage=stage))
        summaries.setdefault(stage, {})[split] = summary
    return pd.concat(scores, ignore_index=True), pd.concat(rows, ignore_index=True), summaries


def evaluate_exact(fmap: ForwardMap, x: np.ndarray, y: np.ndarray, solutions: Solutions,
                   match_tolerance: float) -> tuple[pd.DataFrame, dict]:
    """The enumerator as a method: its samples are the solutions, weighted by the posterior."""
    per_row = [sample_scores(lines[None], y[b:b + 1], x[b:b + 1], fmap, match_tolerance).assign(row=b)
               for b, (lines, _) in enumerate(solutions)]
    scores = pd.concat(per_row, ignore_index=True)
    truth = truth_table([lines for lines, _ in solutions], [row["valid"].to_numpy() for row in per_row], solutions,
                        match_tolerance, sample_weights=[weights for _, weights in solutions])
    return scores, summarise(scores, truth, match_tolerance)
