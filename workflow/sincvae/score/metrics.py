"""Scores of generated lines: forward residuals, line shape, validity, distance to the exact solutions.

A generated line is *valid* (it solves y) when it passes the forward test (`forward_valid`):
every point solves y to within exact.forward_tolerance(map, match distance), the residual that
keeps a point within the match distance of an exact point solution even at a turning point,
and the line is an admissible one up to the match distance (x0 falls, x1 rises, straight, in
the box). The challenge's own gate (RMSE < 0.1, direction, |r| > 0.8) is looser and reported
beside it (gate_*). Precision is the share of valid lines; coverage the share of exact
solutions with a valid line within the match distance; `near` the share of lines within the
match distance of a solution, valid or not; `distance` the Wasserstein-1 distance between the
lines and the weighted exact solutions in the largest point-wise distance (`wasserstein`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sincvae.problem.exact import forward_tolerance
from sincvae.problem.forward import ForwardMap
from sincvae.problem.lines import DOMAIN, fit_lines, slopes_ok
from sincvae.score.distances import sample_distances
from sincvae.score.metric_table import METRICS, RowLines, Split, row_scores

# The challenge's validity gate of a submitted line: x0 falling and x1 rising, each coordinate
# straight (|Pearson r| against the point index above GATE_CORRELATION), RMSE of f(x̂) − y below GATE_RMSE.
GATE_CORRELATION = 0.8
GATE_RMSE = 0.1
LINE_SLACK = 1e-6  # float32 round-off of a line's coordinates, as lines.slopes_ok


def index_correlation(x: np.ndarray) -> np.ndarray:
    """Pearson correlation of each coordinate with the point index: (..., 2, L) -> (..., 2);
    NaN for a constant coordinate (no direction), which fails the gate."""
    t = np.arange(x.shape[-1], dtype=np.float64) - (x.shape[-1] - 1) / 2
    centred = x - x.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (centred * t).sum(-1) / np.sqrt((centred ** 2).sum(-1) * (t * t).sum())


def forward_valid(x_hat: np.ndarray, fitted: np.ndarray, residual_max: np.ndarray, fmap: ForwardMap,
                  match_tolerance: float) -> np.ndarray:
    """The forward test of lines x_hat (..., 2, L), fitted: their least-squares lines
    (lines.fit_lines), with max |f(x̂) − y| residual_max (...):
    each point solves y to exact.forward_tolerance, and the line is an admissible one: straight
    up to the match distance (largest point distance to its least-squares fit), and, as for
    the exact solutions, x0 not rising and x1 not falling (the fit's end points) and inside the
    box, up to float32 round-off (LINE_SLACK). An exact solution of f just outside the box or
    against the direction is an inverse of the map but not of the problem."""
    lo, hi = DOMAIN
    inside = ((x_hat >= lo - LINE_SLACK) & (x_hat <= hi + LINE_SLACK)).all((-2, -1))
    straight = np.sqrt(((x_hat - fitted) ** 2).sum(-2)).max(-1) <= match_tolerance
    direction = slopes_ok(fitted[..., 0], fitted[..., -1], LINE_SLACK)
    return (residual_max <= forward_tolerance(fmap, match_tolerance)) & inside & straight & direction


def sample_scores(x_hat: np.ndarray, y: np.ndarray, x_true: np.ndarray, fmap: ForwardMap,
                  match_tolerance: float) -> pd.DataFrame:
    """Per generated line. x_hat: (B, K, 2, L); y, x_true: (B, 2, L). One row per (row, sample)."""
    x_hat = x_hat.astype(np.float64)
    y = y.astype(np.float64)[:, None]
    x_true = x_true.astype(np.float64)[:, None]
    diff = fmap(x_hat) - y
    slope, fitted = fit_lines(x_hat)
    lo, hi = DOMAIN
    inside = ((x_hat >= lo) & (x_hat <= hi)).all(-2)
    rows, samples = x_hat.shape[:2]
    rmse = np.sqrt((diff ** 2).mean((-2, -1)))
    largest = np.abs(diff).max((-2, -1))
    direction = (slope[..., 0] < 0) & (slope[..., 1] > 0)
    straight = (np.abs(index_correlation(x_hat)) > GATE_CORRELATION).all(-1)
    return pd.DataFrame({
        "row": np.repeat(np.arange(rows), samples),
        "sample": np.tile(np.arange(samples), rows),
        # the original study's y_loss measure, for generated lines
        "residual_l1": np.abs(diff).mean((-2, -1)).ravel(),
        "residual_rmse": rmse.ravel(),
        "residual_max": largest.ravel(),
        "finite": np.isfinite(x_hat).all((-2, -1)).ravel(),
        "valid": forward_valid(x_hat, fitted, largest, fmap, match_tolerance).ravel(),
        # RMS distance of the points to the best-fitting evenly spaced line
        "straightness": np.sqrt(((x_hat - fitted) ** 2).sum(-2).mean(-1)).ravel(),
        "gate_direction": direction.ravel(),
        "gate_straight": straight.ravel(),
        "gate_rmse": (rmse < GATE_RMSE).ravel(),
        "gate_all": (direction & straight & (rmse < GATE_RMSE)).ravel(),
        "in_domain": inside.mean(-1).ravel(),
        # largest point-wise distance to the line y was made from
        "true_distance": np.sqrt(((x_hat - x_true) ** 2).sum(-2)).max(-1).ravel(),
    })


def summarise(scores: pd.DataFrame, truth: pd.DataFrame, match_tolerance: float) -> dict:
    """One split's numbers (metric_table.METRICS computed from its tables): each row score's mean
    over the rows, and each split metric from the per-line and per-row tables."""
    split = Split(scores, truth, match_tolerance)
    return {name: m.split(split) if m.split is not None else float(truth[name].mean())
            for name, m in METRICS.items() if (m.row is not None and m.summary) or m.split is not None}


def truth_table(samples: np.ndarray, scores: pd.DataFrame, solutions: list[tuple[np.ndarray, np.ndarray]],
                match_tolerance: float, sample_weights: list[np.ndarray] | None = None,
                truth: np.ndarray | None = None, seed: int = 0) -> pd.DataFrame:
    """Per-row scores (every row score of metric_table.METRICS). samples: (B, K, 2, L) or a list
    of (K_b, 2, L); scores: their per-line scores (sample_scores, `row` b for samples[b], in
    sample order); solutions[b]: (lines, weights); truth: the lines y was made from (B, 2, L),
    where known; seed: the study's, for the rows' random draws."""
    columns = {c: scores[c].to_numpy() for c in scores.columns}  # once, then each row's positions
    positions = scores.groupby("row").indices
    return pd.DataFrame([
        {"row": b, "solutions": len(lines),
         **truth_scores(samples[b], {c: values[positions[b]] for c, values in columns.items()}, lines, weights,
                        match_tolerance, None if sample_weights is None else sample_weights[b],
                        None if truth is None else np.asarray(truth[b], dtype=np.float64), seed, b)}
        for b, (lines, weights) in enumerate(solutions)
    ])


def truth_scores(samples: np.ndarray, lines: dict[str, np.ndarray], solutions: np.ndarray, weights: np.ndarray,
                 match_tolerance: float, sample_weights: np.ndarray | None = None, truth: np.ndarray | None = None,
                 seed: int = 0, row: int = 0) -> dict:
    """Every row score (metric_table.METRICS) of K samples of one y against its exact solution lines.

    samples: (K, 2, L), equally weighted unless sample_weights; lines: their per-line scores
    (sample_scores' columns: `valid`, the forward test, among them); solutions: (S, 2, L) with
    posterior weights (S,); truth: the line y was made from (2, L), where known; seed and row:
    the row's random draws. The row scores' definitions are in docs/metrics.md.
    """
    distances = sample_distances(samples, solutions)  # (K, S)
    u = np.full(len(samples), 1 / len(samples)) if sample_weights is None else sample_weights
    row = RowLines(samples, u, {**lines, "valid": np.asarray(lines["valid"], dtype=bool)}, solutions, weights,
                   distances, distances < match_tolerance, match_tolerance, truth, seed, row)
    return {name: METRICS[name].row(row) for name in row_scores()}
