"""The diagnostics the inference field expects, computed against the exact posterior of every
scored y rather than against stored reference samples:

- expected coverage: a row's randomized probability integral transform (PIT) of the true
  solution under the method's own mass on the exact solutions (row_pit). Its credible set at
  level a holds the highest-mass solutions up to mass a; the true solution lies in it as often
  as the PIT is at most a, so a calibrated method covers a share a of rows at every level a
  (coverage_curve), and the signed mean gap (calibration) is below zero for an overconfident
  method and above it for an underconfident one;
- simulation-based calibration (SBC): the rank of the true line's end-point coordinates among
  the method's K lines, randomized over ties, uniform for a method that draws from the
  posterior (row_rank, sbc_p);
- R_T: the best forward residual (RMSE of f(x) - y) among a y's first T lines (best_of).

Every random draw (ties, the PIT's share) comes from the row's own seeded stream
(metric_table.RowLines.draws). docs/metrics.md states the definitions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sincvae.score.distances import line_distances

LEVELS = np.round(np.arange(0.05, 0.951, 0.05), 2)  # the credibility levels of the coverage curve
# The end points' coordinates the ranks are of: (coordinate, point)
END_POINTS = {"x0_start": (0, 0), "x1_start": (1, 0), "x0_end": (0, -1), "x1_end": (1, -1)}
TIE = 1e-6  # coordinates this close to the truth's (float32 round-off of a stored line) are ties
RANK_BINS = 10  # bins of the ranks' uniformity test
BUDGETS = (1, 2, 5, 10, 30)  # the T of R_T


def solution_mass(distances: np.ndarray, matched: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, float]:
    """The method's mass on each exact solution (S,): the weight of its lines that match it
    (within the match tolerance, valid or not: a method's raw lines stand for the solution they
    approximate, as its refined ones do), each line given to its nearest matched solution; and
    the mass on no solution (lines that match none)."""
    nearest = np.where(matched, distances, np.inf).argmin(1)
    assigned = matched.any(1)
    mass = np.bincount(nearest[assigned], weights=weights[assigned], minlength=distances.shape[1])
    return mass, max(0.0, 1.0 - float(mass.sum()))


def coverage_pit(mass: np.ndarray, off: float, true_index: int, draws: np.ndarray) -> float:
    """The randomized PIT of the true solution: the atoms (each solution, and the mass on none)
    in order of the method's mass, highest first, ties in random order (draws: one per atom
    and a last one), the mass of the atoms before the true solution plus a uniform share of its
    own. A solution the method gives no mass comes after all its mass: PIT 1, never covered."""
    atoms = np.append(mass, off)
    # equal masses summed in another order differ in the last bits: rounded, they tie as they are
    order = np.lexsort((draws[:len(atoms)], -np.round(atoms, 12)))
    before = atoms[order[:np.flatnonzero(order == true_index)[0]]].sum()
    return float(min(1.0, before + draws[-1] * atoms[true_index]))


def rank_pit(values: np.ndarray, truth: float, weights: np.ndarray, draw: float) -> float:
    """The randomized rank of the truth's coordinate among the lines' (K,) in [0, 1]: for K
    equally weighted lines (rank + uniform) / (K + 1), the rank among K draws broken at random
    over ties, uniform when the truth and the lines come from the same posterior; for weighted
    lines (the exact solutions as samples) the weighted share below plus a uniform share of the
    weight tied. A line with no finite coordinate counts above the truth."""
    less, tie = values < truth - TIE, np.abs(values - truth) <= TIE
    if np.allclose(weights, weights[0]):
        return float((less.sum() + draw * (tie.sum() + 1)) / (len(values) + 1))
    return float(weights[less].sum() + draw * weights[tie].sum())


def true_solution(truth: np.ndarray | None, solutions: np.ndarray, match_tolerance: float) -> int | None:
    """The index of the exact solution that is the true line, or None (no truth known, or the
    truth is none of the enumerated solutions)."""
    if truth is None or not np.isfinite(truth).all():
        return None
    gaps = line_distances(truth[None], solutions)[0]
    return int(gaps.argmin()) if gaps.min() <= match_tolerance else None


def coverage_curve(pit) -> np.ndarray:
    """The share of rows whose true solution lies in the method's credible set, at each of LEVELS."""
    pit = np.asarray(pit, dtype=float)
    pit = pit[np.isfinite(pit)]
    return np.array([np.mean(pit <= level) for level in LEVELS]) if len(pit) else np.full(len(LEVELS), np.nan)


def calibration(pit) -> float:
    """The coverage curve's signed mean gap to the diagonal: below zero, the method's credible
    sets hold the truth less often than they claim (overconfident); above, more (underconfident)."""
    return float(np.mean(coverage_curve(pit) - LEVELS))


def coverage_gap(pit) -> float:
    """The coverage curve's largest distance to the diagonal."""
    return float(np.max(np.abs(coverage_curve(pit) - LEVELS)))


def uniformity_p(ranks) -> float:
    """A chi-square test that ranks in [0, 1] are uniform, over RANK_BINS equal bins."""
    ranks = np.asarray(ranks, dtype=float)
    ranks = ranks[np.isfinite(ranks)]
    if len(ranks) < RANK_BINS:
        return float("nan")
    counts = np.histogram(ranks, bins=RANK_BINS, range=(0.0, 1.0))[0]
    return float(stats.chisquare(counts).pvalue)


def sbc_p(rows: pd.DataFrame) -> float:
    """The smallest Holm-adjusted p of the end-point coordinates' rank tests (Holm's smallest
    adjusted p is the number of tests times the smallest p): below the level, some coordinate's
    ranks are not uniform."""
    p = [uniformity_p(rows[f"rank_{name}"]) for name in END_POINTS]
    return float(min(1.0, len(p) * np.nanmin(p))) if not np.isnan(p).all() else float("nan")


def best_of(lines: pd.DataFrame, budget: int) -> float:
    """R_T: over rows, the mean of the smallest forward RMSE among each y's first T lines; NaN
    when a y has fewer than T lines."""
    if lines.groupby("row").size().min() < budget:
        return float("nan")
    first = lines[lines["sample"] < budget]
    return float(first.groupby("row")["residual_rmse"].min().mean())


def counted_with_truth(mass: np.ndarray, off: float, true_index: int, lines: int) -> tuple[np.ndarray, float]:
    """The mass of K equally weighted lines with the true line counted as one more: K/(K+1) of
    theirs and 1/(K+1) on the true solution. For a method that draws from the posterior the
    truth is then one of K+1 exchangeable draws, and its PIT is uniform for any K; on the K
    lines alone a solution no line hit gets no mass, which misses the truth in a share
    sum w (1 - w)^K of rows, a bias that grows with the solutions a y has (the challenge's
    map: up to 24 for K = 30)."""
    share = lines / (lines + 1)
    counted = mass * share
    counted[true_index] += 1 - share
    return counted, off * share


def row_pit(row) -> float:
    """A row's coverage PIT (metric_table.RowLines): NaN where the true line is not known. K
    equally weighted lines count the truth as one more (counted_with_truth); weighted lines
    (the exact solutions as samples) are the method's mass as they are."""
    index = true_solution(row.truth, row.solutions, row.match_tolerance)
    if index is None:
        return float("nan")
    mass, off = solution_mass(row.distances, row.matched, row.weights)
    if np.allclose(row.weights, row.weights[0]):
        mass, off = counted_with_truth(mass, off, index, len(row.weights))
    return coverage_pit(mass, off, index, row.draws("pit", len(mass) + 2))


def row_rank(row, name: str) -> float:
    """A row's randomized rank of the true line's end-point coordinate `name` (END_POINTS)."""
    if row.truth is None or not np.isfinite(row.truth).all():
        return float("nan")
    coordinate, point = END_POINTS[name]
    return rank_pit(row.samples[:, coordinate, point], row.truth[coordinate, point], row.weights,
                    row.draws(f"rank_{name}", 1)[0])
