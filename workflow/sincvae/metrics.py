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

import os

import numpy as np
import pandas as pd

from .exact import forward_tolerance
from .forward import ForwardMap
from .lines import DOMAIN, fit_lines, slopes_ok

# The challenge's validity gate of a submitted line: x0 falling and x1 rising, each coordinate
# straight (|Pearson r| against the point index above GATE_CORRELATION), RMSE of f(x̂) − y below GATE_RMSE.
GATE_CORRELATION = 0.8
GATE_RMSE = 0.1
GATES = ("gate_direction", "gate_straight", "gate_rmse", "gate_all")
# What a row's scores and a split's summary numbers (summarise) can be: a share lies in [0, 1]
# and is compared as a difference; a size (a distance, a residual, a count) is above zero and
# compared as a ratio, on the log scale (stats.SCALES; summary.mean_interval keeps intervals
# over seeds inside both).
SHARES = {"coverage", "precision", "near", "near_coverage", "finite_share", *GATES, "in_domain_share",
          "true_line_recovered", "converged_share"}
SIZES = {"solutions_mean", "distance", "mmd", "residual_l1", "residual_l1_mean", "residual_l1_median",
         "residual_rmse_mean", "straightness_mean", "best_of_k_distance_median"}
LINE_SLACK = 1e-6  # float32 round-off of a line's coordinates, as lines.slopes_ok
BOX_DIAGONAL = float(np.sqrt(2) * (DOMAIN[1] - DOMAIN[0]))  # the largest distance between two points of the box


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
    """Aggregate one split's per-sample scores and per-row truth scores into the table's numbers."""
    best = scores.groupby("row")["true_distance"].min()
    return {
        "solutions_mean": float(truth["solutions"].mean()),
        "coverage": float(truth["coverage"].mean()),
        "precision": float(truth["precision"].mean()),
        "near": float(truth["near"].mean()),
        "near_coverage": float(truth["near_coverage"].mean()),
        "distance": float(truth["distance"].mean()),
        "mmd": float(truth["mmd"].mean()),
        "rows": int(scores["row"].nunique()),
        "samples_per_row": int(scores.groupby("row").size().iloc[0]),
        # residuals and shapes are over the lines with finite points (pandas skips NaN): finite_share says how many
        "finite_share": float(scores["finite"].mean()),
        "residual_l1_mean": float(scores["residual_l1"].mean()),
        "residual_l1_median": float(scores["residual_l1"].median()),
        "residual_rmse_mean": float(scores["residual_rmse"].mean()),
        "straightness_mean": float(scores["straightness"].mean()),
        **{gate: float(scores[gate].mean()) for gate in GATES},  # shares of lines passing
        "in_domain_share": float(scores["in_domain"].mean()),
        "best_of_k_distance_median": float(best.median()),
        "true_line_recovered": float((best < match_tolerance).mean()),
    }


def truth_table(samples: np.ndarray, valid: np.ndarray, solutions: list[tuple[np.ndarray, np.ndarray]],
                match_tolerance: float, sample_weights: list[np.ndarray] | None = None) -> pd.DataFrame:
    """Per-row truth scores. samples: (B, K, 2, L) or a list of (K_b, 2, L), valid: their forward
    test, (B, K) or a list of (K_b,); solutions[b]: (lines, weights)."""
    return pd.DataFrame([
        {"row": b, "solutions": len(lines),
         **truth_scores(samples[b], valid[b], lines, weights, match_tolerance,
                        None if sample_weights is None else sample_weights[b])}
        for b, (lines, weights) in enumerate(solutions)
    ])


def line_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Largest point-wise distance between every pair of lines: a (A, 2, L), b (B, 2, L) -> (A, B)."""
    return np.sqrt(((a[:, None] - b[None]) ** 2).sum(-2)).max(-1)


# MMD kernel (a secondary column): Gaussian in the root-mean-square point distance between two
# lines. Its bandwidth, a fifth of the box, makes it blind to a near-miss (0.995 at 0.02):
# `distance` is the headline.
MMD_BANDWIDTH = 0.2


def _kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = ((a[:, None] - b[None]) ** 2).sum(-2).mean(-1)
    return np.exp(-squared / (2 * MMD_BANDWIDTH ** 2))


def wasserstein(distances: np.ndarray, u: np.ndarray, weights: np.ndarray) -> float:
    """Wasserstein-1 distance between samples with weights u (K,) and solutions with weights
    (S,), given their distances (K, S): the least mass × distance that moves one onto the other
    (an exact transport problem, POT's network simplex). A sample off its solution by d costs its
    weight × d; a missing solution costs its weight × the distance to the samples that replace it."""
    # POT loads every array library it finds as a backend, torch among them (a second of start-up);
    # these are numpy arrays, so a scoring job keeps torch unloaded (POT's documented switch).
    os.environ.setdefault("POT_BACKEND_DISABLE_PYTORCH", "1")
    import ot  # here, not at the top: only scoring needs it

    contiguous = (np.ascontiguousarray(a, dtype=np.float64) for a in (u, weights / weights.sum(), distances))
    return float(ot.emd2(*contiguous))


def sample_distances(samples: np.ndarray, solutions: np.ndarray) -> np.ndarray:
    """line_distances (K, S) of samples (K, 2, L) to solutions (S, 2, L); a sample with a
    non-finite point is no line: as far from every solution as two lines in the box can be."""
    finite = np.isfinite(samples).all((-2, -1))
    return np.where(finite[:, None], line_distances(samples, solutions), BOX_DIAGONAL)


def mean_distance(samples: np.ndarray, solutions: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """The headline distance alone, averaged over rows: samples (B, K, 2, L), solutions[b] =
    (lines, weights). It needs no match distance (the search's objective)."""
    return float(np.mean([wasserstein(sample_distances(samples[b], lines), np.full(len(samples[b]), 1 / len(samples[b])),
                                      weights) for b, (lines, weights) in enumerate(solutions)]))


def truth_scores(samples: np.ndarray, valid: np.ndarray, solutions: np.ndarray, weights: np.ndarray,
                 match_tolerance: float, sample_weights: np.ndarray | None = None) -> dict:
    """Scores of K samples of one y against its exact solution lines.

    samples: (K, 2, L), equally weighted unless sample_weights; valid: (K,) their forward test
    (forward_valid); solutions: (S, 2, L) with posterior weights (S,). precision: share of
    samples that are valid; coverage: share of solutions with a valid sample within
    match_tolerance (every point); near: share of samples within match_tolerance of some
    solution, valid or not; near_coverage: share of solutions with any sample that near;
    distance: Wasserstein-1 in the largest point-wise distance; mmd: the
    kernel MMD between the samples and the weighted solutions.
    """
    distances = sample_distances(samples, solutions)  # (K, S)
    finite = np.isfinite(samples).all((-2, -1))  # a non-finite line is like nothing (kernel 0) but itself
    matched = distances < match_tolerance
    valid = np.asarray(valid, dtype=bool)
    u = np.full(len(samples), 1 / len(samples)) if sample_weights is None else sample_weights
    among = np.where(np.outer(finite, finite), _kernel(samples, samples), np.eye(len(samples)))
    to_solutions = np.where(finite[:, None], _kernel(samples, solutions), 0.0)
    mmd2 = u @ among @ u - 2 * u @ to_solutions @ weights + weights @ _kernel(solutions, solutions) @ weights
    return {
        "coverage": float((matched & valid[:, None]).any(0).mean()),
        "precision": float(u @ valid),
        "near": float(u @ matched.any(1)),
        "near_coverage": float(matched.any(0).mean()),
        "distance": wasserstein(distances, u, weights),
        "mmd": float(np.sqrt(max(mmd2, 0.0))),
    }
