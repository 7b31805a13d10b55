"""Scores of generated lines: forward residuals, line shape, distance to the true line."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .forward import ForwardMap
from .lines import DOMAIN, fit_lines

SAMPLE_COLUMNS = ("split", "row", "sample", "point", "x0", "x1", "y1", "y2")


def sample_scores(x_hat: np.ndarray, y: np.ndarray, x_true: np.ndarray, fmap: ForwardMap) -> pd.DataFrame:
    """Per generated line. x_hat: (B, K, 2, L); y, x_true: (B, 2, L). One row per (row, sample)."""
    x_hat = x_hat.astype(np.float64)
    y = y.astype(np.float64)[:, None]
    x_true = x_true.astype(np.float64)[:, None]
    diff = fmap(x_hat) - y
    slope, fitted = fit_lines(x_hat)
    lo, hi = DOMAIN
    inside = ((x_hat >= lo) & (x_hat <= hi)).all(-2)
    rows, samples = x_hat.shape[:2]
    return pd.DataFrame({
        "row": np.repeat(np.arange(rows), samples),
        "sample": np.tile(np.arange(samples), rows),
        # the seed's y_loss measure, for generated lines
        "residual_l1": np.abs(diff).mean((-2, -1)).ravel(),
        "residual_rmse": np.sqrt((diff ** 2).mean((-2, -1))).ravel(),
        # RMS distance of the points to the best-fitting evenly spaced line
        "straightness": np.sqrt(((x_hat - fitted) ** 2).sum(-2).mean(-1)).ravel(),
        "slope_valid": ((slope[..., 0] < 0) & (slope[..., 1] > 0)).ravel(),
        "in_domain": inside.mean(-1).ravel(),
        # largest point-wise distance to the line y was made from
        "true_distance": np.sqrt(((x_hat - x_true) ** 2).sum(-2)).max(-1).ravel(),
    })


def summarise(scores: pd.DataFrame, match_tolerance: float) -> dict:
    """Aggregate per-sample scores of one split into the numbers the comparison table shows."""
    best = scores.groupby("row")["true_distance"].min()
    return {
        "rows": int(scores["row"].nunique()),
        "samples_per_row": int(scores.groupby("row").size().iloc[0]),
        "residual_l1_mean": float(scores["residual_l1"].mean()),
        "residual_l1_median": float(scores["residual_l1"].median()),
        "residual_rmse_mean": float(scores["residual_rmse"].mean()),
        "straightness_mean": float(scores["straightness"].mean()),
        "slope_valid_share": float(scores["slope_valid"].mean()),
        "in_domain_share": float(scores["in_domain"].mean()),
        "best_of_k_distance_median": float(best.median()),
        "true_line_recovered": float((best < match_tolerance).mean()),
    }


def samples_frame(split: str, x_hat: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Long format, one row per point of each generated line: the columns in SAMPLE_COLUMNS."""
    rows, samples, _, length = x_hat.shape
    y_rep = np.broadcast_to(y[:, None], x_hat.shape)
    index = np.indices((rows, samples, length)).reshape(3, -1)
    return pd.DataFrame({
        "split": pd.Categorical([split] * index.shape[1]),
        "row": index[0].astype(np.int32),
        "sample": index[1].astype(np.int16),
        "point": index[2].astype(np.int16),
        "x0": x_hat[:, :, 0].reshape(-1),
        "x1": x_hat[:, :, 1].reshape(-1),
        "y1": y_rep[:, :, 0].reshape(-1),
        "y2": y_rep[:, :, 1].reshape(-1),
    })


def lines_from_samples(frame: pd.DataFrame, split: str, rows: list[int]) -> np.ndarray:
    """Inverse of samples_frame for some rows of one split -> x̂ (len(rows), K, 2, L)."""
    picked = frame[(frame["split"] == split) & frame["row"].isin(rows)]
    samples, length = picked["sample"].max() + 1, picked["point"].max() + 1
    by_row = {row: part.sort_values(["sample", "point"]) for row, part in picked.groupby("row")}
    return np.stack([
        by_row[row][["x0", "x1"]].to_numpy().reshape(samples, length, 2).transpose(0, 2, 1) for row in rows
    ])
