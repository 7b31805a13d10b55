"""Generation, refinement, and their scores against the exact solutions for one split."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from .forward import ForwardMap
from .metrics import sample_scores, summarise, truth_table
from .refine import refine_candidates

Solutions = list[tuple[np.ndarray, np.ndarray]]  # per row: lines (S, 2, L), posterior weights (S,)
STAGES = ("raw", "refined")  # a method's own lines; the same after refinement


def save_table(frame: pd.DataFrame, path) -> None:
    """A per-line table (samples, scores) in float32, byte-stream-split and zstd: a third of
    the default (snappy, float64) size; lossless for the float32 lines."""
    frame = frame.astype({c: np.float32 for c in frame.select_dtypes("float64").columns})
    floats = [c for c in frame.columns if frame[c].dtype == np.float32]
    frame.to_parquet(path, index=False, compression="zstd", use_byte_stream_split=floats,
                     use_dictionary=[c for c in frame.columns if c not in floats])


def evaluated_splits(validation_rows: int) -> list[tuple[str, int | None]]:
    """(split, rows scored): every scoring row, the first validation rows. The exact solver and
    every method's evaluation use this one list, so their rows line up."""
    return [("scoring", None), ("validation", validation_rows)]


def score_lines(fmap: ForwardMap, split: str, x_hat: np.ndarray, x: np.ndarray, y: np.ndarray,
                solutions: Solutions, match_tolerance: float) -> tuple[np.ndarray, pd.DataFrame, dict, pd.DataFrame]:
    """Score lines x_hat (B, K, 2, L) for targets y against the true x and the exact solutions.

    Returns (the lines x_hat, per-sample scores, summary dict, per-row scores: coverage,
    precision, near, distance, MMD and the mean forward residual of the row's K lines).
    """
    scores = sample_scores(x_hat, y, x, fmap, match_tolerance)
    truth = truth_table(x_hat, scores["valid"].to_numpy().reshape(x_hat.shape[:2]), solutions, match_tolerance)
    rows = truth.assign(split=split, residual_l1=scores.groupby("row")["residual_l1"].mean().to_numpy())
    return x_hat, scores.assign(split=split), summarise(scores, truth, match_tolerance), rows


def evaluate_split(sampler: torch.nn.Module, fmap: ForwardMap, split: str, x: torch.Tensor, y: torch.Tensor,
                   solutions: Solutions, options: dict, generator: torch.Generator,
                   amp: torch.dtype | None = None) -> tuple[dict, dict]:
    """Generate (under autocast to `amp` if given: train.generation_dtype) and score one split
    (x, y: (B, 2, 50)) in each stage.

    raw: the first `samples` of the method's lines. refined: `oversample` × `samples` lines
    refined and cut back to `samples` (refine_candidates), when refine steps > 0.
    Returns ({stage: (lines (B, K, 2, L), scores, summary, per-row scores)}, timing in seconds and counts).
    """
    samples, refine = options["samples"], options["refine"]
    count = samples * (refine["oversample"] if refine["steps"] else 1)
    started = time.perf_counter()
    with torch.autocast(generator.device.type, dtype=amp or torch.bfloat16, enabled=amp is not None):
        candidates = sampler.generate(y.to(generator.device), count, generator)
    candidates = candidates.cpu().double().numpy()
    timing = {"rows": len(y), "samples": samples, "candidates": count,
              "generate_s": time.perf_counter() - started, "refine_s": 0.0}
    x_np, y_np = x.numpy(), y.numpy()
    stages = {"raw": score_lines(fmap, split, candidates[:, :samples], x_np, y_np, solutions,
                                 options["match_tolerance"])}
    if refine["steps"]:
        started = time.perf_counter()
        refined, converged = refine_candidates(fmap, candidates, y_np, samples, refine["steps"], refine["converged"])
        timing["refine_s"] = time.perf_counter() - started
        frame, scores, summary, rows = score_lines(fmap, split, refined, x_np, y_np, solutions,
                                                   options["match_tolerance"])
        stages["refined"] = (frame, scores, {**summary, "converged_share": float(converged.mean())}, rows)
    return stages, timing


def evaluate_exact(fmap: ForwardMap, x: np.ndarray, y: np.ndarray, solutions: Solutions,
                   match_tolerance: float) -> tuple[pd.DataFrame, dict]:
    """The enumerator as a method: its samples are the solutions, weighted by the posterior."""
    per_row = [sample_scores(lines[None], y[b:b + 1], x[b:b + 1], fmap, match_tolerance).assign(row=b)
               for b, (lines, _) in enumerate(solutions)]
    scores = pd.concat(per_row, ignore_index=True)
    truth = truth_table([lines for lines, _ in solutions], [row["valid"].to_numpy() for row in per_row], solutions,
                        match_tolerance, sample_weights=[weights for _, weights in solutions])
    return scores, summarise(scores, truth, match_tolerance)
