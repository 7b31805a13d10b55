"""Straight, evenly spaced lines in the box [0.1, 1]²: the prior over x and line fits."""

from __future__ import annotations

import numpy as np

DOMAIN = (0.1, 1.0)
POINTS = 50


def sample_lines(n: int, rng: np.random.Generator, points: int = POINTS) -> np.ndarray:
    """Draw n lines from the seed's generator -> (n, 2, points) float64.

    x0 falls from start ~ U[end, 1] to end ~ U[0.1, 1]; x1 rises from
    start ~ U[0.1, 1] to end ~ U[start, 1]; x0 and x1 independent.
    """
    lo, hi = DOMAIN
    x0_end = rng.uniform(lo, hi, n)
    x0_start = rng.uniform(x0_end, hi)
    x1_start = rng.uniform(lo, hi, n)
    x1_end = rng.uniform(x1_start, hi)
    return lines_from_ends(np.stack([x0_start, x1_start], 1), np.stack([x0_end, x1_end], 1), points)


def lines_from_ends(starts: np.ndarray, ends: np.ndarray, length: int) -> np.ndarray:
    """starts, ends: (..., 2) -> evenly spaced lines (..., 2, length)."""
    t = np.linspace(0.0, 1.0, length)
    return starts[..., None] + (ends - starts)[..., None] * t


def fit_lines(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares evenly spaced line through each coordinate of each row.

    x: (..., 2, L) -> (slopes (..., 2) per step, fitted (..., 2, L)).
    """
    length = x.shape[-1]
    t = np.arange(length, dtype=np.float64) - (length - 1) / 2
    mean = x.mean(-1, keepdims=True)
    slope = ((x - mean) * t).sum(-1) / (t * t).sum()
    return slope, mean + slope[..., None] * t
