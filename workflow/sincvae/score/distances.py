"""Distances between generated lines and exact solutions: the largest point-wise distance
between two lines, the Wasserstein-1 distance between weighted sets of lines, and the kernel MMD.
Numpy only (POT for the transport, imported when it runs)."""

from __future__ import annotations

import os

import numpy as np

from sincvae.problem.lines import DOMAIN

BOX_DIAGONAL = float(np.sqrt(2) * (DOMAIN[1] - DOMAIN[0]))  # the largest distance between two points of the box


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


def kernel_mmd(samples: np.ndarray, u: np.ndarray, solutions: np.ndarray, weights: np.ndarray) -> float:
    """The kernel MMD between samples (K, 2, L) with weights u and solutions (S, 2, L) with
    weights; a non-finite line is like nothing (kernel 0) but itself."""
    finite = np.isfinite(samples).all((-2, -1))
    among = np.where(np.outer(finite, finite), _kernel(samples, samples), np.eye(len(samples)))
    to_solutions = np.where(finite[:, None], _kernel(samples, solutions), 0.0)
    mmd2 = u @ among @ u - 2 * u @ to_solutions @ weights + weights @ _kernel(solutions, solutions) @ weights
    return float(np.sqrt(max(mmd2, 0.0)))
