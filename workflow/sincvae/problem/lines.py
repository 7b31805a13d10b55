"""Straight, evenly spaced lines in the box [0.1, 1]²: the prior over x and line fits."""

from __future__ import annotations

import sys

import numpy as np

DOMAIN = (0.1, 1.0)
POINTS = 50


def array_module(x):
    """torch for a tensor, else numpy. Never imports torch (a tensor means it is loaded), so the
    scoring jobs that hold only arrays start without it."""
    torch = sys.modules.get("torch")
    return torch if torch is not None and isinstance(x, torch.Tensor) else np


def ends_from_uniforms(u):
    """The original study's generator from 4 uniforms in [0, 1) on the last axis (array or tensor) ->
    end points (..., 4): x0_start, x1_start, x0_end, x1_end.

    x0 falls from start ~ U[end, 1] to end ~ U[0.1, 1]; x1 rises from
    start ~ U[0.1, 1] to end ~ U[start, 1]; x0 and x1 independent.
    """
    lib = array_module(u)
    lo, hi = DOMAIN
    x0_end = lo + (hi - lo) * u[..., 0]
    x0_start = x0_end + (hi - x0_end) * u[..., 1]
    x1_start = lo + (hi - lo) * u[..., 2]
    x1_end = x1_start + (hi - x1_start) * u[..., 3]
    return lib.stack([x0_start, x1_start, x0_end, x1_end], -1)


def sample_lines(n: int, rng: np.random.Generator, points: int = POINTS) -> np.ndarray:
    """Draw n lines from the original study's generator -> (n, 2, points) float64."""
    ends = ends_from_uniforms(np.stack([rng.random(n) for _ in range(4)], -1))  # the datasets' draw order
    return lines_from_ends(ends[:, :2], ends[:, 2:], points)


def lines_from_ends(starts, ends, length: int):
    """starts, ends: (..., 2) arrays or tensors -> evenly spaced lines (..., 2, length), same type."""
    lib = array_module(starts)
    if lib is np:
        t = np.linspace(0.0, 1.0, length)
    else:
        t = lib.linspace(0.0, 1.0, length, dtype=starts.dtype, device=starts.device)
    return starts[..., None] + (ends - starts)[..., None] * t


def slopes_ok(starts: np.ndarray, ends: np.ndarray, slack: float = 1e-6) -> np.ndarray:
    """x0 falls and x1 rises, within `slack`: a constant coordinate (start = end) comes back
    from float32 y with ~1e-7 noise, more from a y with larger errors (exact.point_slack)."""
    return (starts[..., 0] >= ends[..., 0] - slack) & (starts[..., 1] <= ends[..., 1] + slack)


def fit_lines(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares evenly spaced line through each coordinate of each row.

    x: (..., 2, L) -> (slopes (..., 2) per step, fitted (..., 2, L)).
    """
    length = x.shape[-1]
    t = np.arange(length, dtype=np.float64) - (length - 1) / 2
    mean = x.mean(-1, keepdims=True)
    slope = ((x - mean) * t).sum(-1) / (t * t).sum()
    return slope, mean + slope[..., None] * t


def fitted_ends(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """End points (starts, ends), each (..., 2), of the least-squares line through x (..., 2, L):
    where refinement starts from a generated line that is not quite straight."""
    _, fitted = fit_lines(x)
    return fitted[..., 0], fitted[..., -1]
