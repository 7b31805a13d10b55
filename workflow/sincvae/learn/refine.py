"""Refinement of any method's lines: Levenberg–Marquardt on the end points, then K converged per y."""

from __future__ import annotations

import numpy as np

from sincvae.problem.exact import refine_lines
from sincvae.problem.forward import ForwardMap
from sincvae.problem.lines import fitted_ends, lines_from_ends, slopes_ok
from sincvae.score.distances import line_distances

CHUNK = 8192  # lines per LM batch: bounds the (lines, 100, 4) Jacobians to ~30 MB
SAME_SOLUTION = 1e-3  # converged lines closer than this (every point) found the same solution


def _first_of_each_solution(lines: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """(M,) mask: converged candidates that no earlier converged candidate already found."""
    index = np.flatnonzero(ok)
    repeat = np.tril(line_distances(lines[index], lines[index]) < SAME_SOLUTION, -1).any(1)
    first = np.zeros(len(ok), dtype=bool)
    first[index[~repeat]] = True
    return first


def refine_candidates(fmap: ForwardMap, candidates: np.ndarray, y: np.ndarray, samples: int, steps: int,
                      converged: float) -> tuple[np.ndarray, np.ndarray]:
    """Refine M candidate lines per y and keep `samples` of them.

    candidates: (B, M, 2, L); y: (B, 2, L). Each candidate starts from the end points of its
    least-squares straight line and takes at most `steps` LM steps inside the box, stopping once converged. A candidate has
    converged when max |f(x) − y| ≤ `converged` with x0 falling and x1 rising. Kept, in this
    order until `samples` are: the first converged candidate on each distinct solution, the
    other converged ones, then the closest of the rest; each group in draw order. Putting
    distinct solutions first lets K lines cover what M candidates found (coverage), at the
    cost of following the method's own weights less closely (MMD).
    Returns (lines (B, samples, 2, L), converged share of the candidates (B,)).
    """
    rows, count, _, length = candidates.shape
    starts, ends = (e.reshape(-1, 2) for e in fitted_ends(candidates.astype(np.float64)))
    targets = np.repeat(y.astype(np.float64), count, 0)
    for lo in range(0, len(starts), CHUNK):
        part = slice(lo, lo + CHUNK)
        starts[part], ends[part] = refine_lines(fmap, starts[part], ends[part], targets[part], steps,
                                                    converged)
    lines = lines_from_ends(starts, ends, length).reshape(rows, count, 2, length)
    error = np.abs(fmap(lines) - y[:, None].astype(np.float64)).max((-2, -1))
    ok = (error <= converged) & slopes_ok(starts, ends).reshape(rows, count)
    first = np.stack([_first_of_each_solution(lines[b], ok[b]) for b in range(rows)])
    key = np.where(first, 0, np.where(ok, count, 2 * count + error)) + np.arange(count)[None] * (ok | first)
    keep = np.argsort(key, 1, kind="stable")[:, :samples]
    return np.take_along_axis(lines, keep[..., None, None], 1), ok.mean(1)
