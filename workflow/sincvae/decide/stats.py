"""The error model under every decision from per (seed, scoring row) scores: each comparison's
estimate, error and degrees of freedom, intervals, Holm's correction and power. Which case is
best (decide.ranking) and whether the original study's claims hold (decide.claims) are built on
it. Torch-free. docs/statistics.md states the model and the words.

The design. A case is trained on S seeds and every seed scores the same R rows. A score is

    y[s, r] = mu + a[s] + b[r] + e[s, r]

with a the seed's effect (training), b the row's (some y are harder), e their interaction.
Seeds are independent between cases, so two cases may have different seed counts and each has
its own seed variance; rows are shared, so a comparison of two cases is paired by row. The
difference of two cases' means then has the variance

    var(a_A)/S_A + var(a_B)/S_B + var(b_A - b_B)/R + var(e_A)/(S_A R) + var(e_B)/(S_B R)

estimated from mean squares (method of moments): the rows' term from the spread of the
row-wise difference of the two cases' seed-averaged scores (which holds the interaction once),
each case's seed term from its seed mean square less its interaction mean square (a variance
component below zero is taken as zero, the rows' too). Its degrees of freedom match moments
(Satterthwaite's) over those mean squares; a seed term taken as zero still counts, with a weight
that falls smoothly as the seeds clearly vary less than the interaction (_truncated_spread).

The scale. A distance is a ratio scale (0.0045 against 2.66 is 590 times, not 2.66 apart), so
two cases' mean distances (and residuals) are compared as a ratio, the difference of their
logarithms, its error by the delta method (SCALES, difference); shares (precision, coverage) as
differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import brentq

from sincvae.score.metric_table import METRICS as METRIC_TABLE, lower_is_better, row_scores, scale, tested

# The metrics a claim is tested on (per row, over the K generated lines, raw stage), which way
# is better and on which scale each is compared: metric_table.METRICS.
METRICS = {name: METRIC_TABLE[name].label for name in tested()}
LOWER_IS_BETTER = {name: lower_is_better(name) for name in row_scores()}
SCALES = {name: scale(name) for name in row_scores()}
POWER = 0.8
# A decision that more than one resample in five changes is fragile; a label is given only where
# the resamples show it beyond their own Monte Carlo error (FRAGILE_CONFIDENCE, fragile()).
FRAGILE_BELOW = 0.8
FRAGILE_CONFIDENCE = 0.95


def fragile(same: np.ndarray, resamples: int) -> np.ndarray:
    """Which stabilities (`same` of `resamples` resamples agree) are fragile: the upper end of
    their two-sided FRAGILE_CONFIDENCE Clopper-Pearson interval is below FRAGILE_BELOW (with 40
    resamples: 26 agreeing or fewer, 0.65; the label's Monte Carlo error near 0.8 is ±0.06)."""
    same = np.asarray(same, dtype=float)
    if not resamples:
        return np.zeros(same.shape, dtype=bool)
    upper = stats.beta.ppf(1 - (1 - FRAGILE_CONFIDENCE) / 2, same + 1, resamples - same)
    return np.where(same >= resamples, 1.0, upper) < FRAGILE_BELOW


def margin_on_scale(margin: float, metric: str) -> float:
    """A margin as config states it (a ratio on a log-scale metric, a difference otherwise) on the comparison's scale."""
    return math.log(margin) if SCALES[metric] == "log" else margin


@dataclass(frozen=True)
class Estimate:
    """A mean or a difference of means, its standard error over seeds and rows, and the error's
    Satterthwaite degrees of freedom (NaN where a case has fewer than 2 seeds or rows)."""

    mean: float
    se: float
    df: float


@dataclass(frozen=True)
class Components:
    """A contrast's variance components on its scale, from mean squares: `row`, the variance of
    the row effects' difference (the row-wise difference's variance net of the interactions it
    holds, zero where that is below zero); per case its seed variance ((seed mean square −
    interaction mean square) / R: below zero where the seeds vary less than the interaction,
    taken as zero in the error, kept for the df) and its interaction variance. `estimate` gives the
    contrast's error for any seed counts: the study's own (contrast), or a planned one (power)."""

    rows: int
    row: float
    seed: tuple[float, ...]
    interaction: tuple[float, ...]

    def estimate(self, seeds: tuple[int, ...], mean: float = 0.0, rows: int | None = None) -> Estimate:
        """The error and df of a contrast of cases with these seed counts on the same rows (`rows`
        of them; the study's by default): the rows' term (each case's interaction over its seeds
        in it) and each case's seed term (_truncated_spread), df by matching moments
        (Satterthwaite: 2 variance² / its estimated variance)."""
        rows = rows or self.rows
        row_ms = self.row + sum(e / s for e, s in zip(self.interaction, seeds))
        variance = row_ms / rows + sum(max(0.0, a) / s for a, s in zip(self.seed, seeds))
        if variance <= 0:
            return Estimate(mean, 0.0, math.inf)
        spread = 2 * (row_ms / rows) ** 2 / (rows - 1)
        spread += sum(_truncated_spread(rows * a + e, e, s, rows) / (s * rows) ** 2
                      for a, e, s in zip(self.seed, self.interaction, seeds) if s > 1)
        return Estimate(mean, math.sqrt(variance), 2 * variance ** 2 / spread if spread > 0 else math.inf)


def _truncated_spread(seed_ms: float, interaction_ms: float, seeds: int, rows: int) -> float:
    """The variance of seed MS − interaction MS (2 MS² / df each) that the df count: all of it
    where the seed component is estimated above zero (Satterthwaite), and where it is taken as
    zero that variance times 2Φ(z), z the difference over its standard error: 1 at the boundary,
    shrinking to 0 as the seeds are clearly below the interaction, so the df move smoothly with
    the data where dropping the term made them jump from S − 1 to R − 1."""
    spread = 2 * seed_ms ** 2 / (seeds - 1) + 2 * interaction_ms ** 2 / ((seeds - 1) * (rows - 1))
    if spread <= 0 or seed_ms >= interaction_ms:
        return spread
    return spread * 2 * float(stats.norm.cdf((seed_ms - interaction_ms) / math.sqrt(spread)))


def components(*tables: np.ndarray) -> Components:
    """The Components of case 1 minus case 2 ((seeds, rows) tables on the same rows, seeds
    independent between them), or of case 1 alone (each with at least 2 seeds and 2 rows)."""
    rows = tables[0].shape[1]
    row_wise = tables[0].mean(0) - (tables[1].mean(0) if len(tables) > 1 else 0.0)
    seed, interaction = [], []
    for values in tables:
        count = values.shape[0]
        seed_means = values.mean(1)
        seed_ms = rows * seed_means.var(ddof=1)
        residual = values - seed_means[:, None] - values.mean(0)[None] + values.mean()
        residual_ms = float((residual ** 2).sum()) / ((count - 1) * (rows - 1))
        seed.append((seed_ms - residual_ms) / rows)
        interaction.append(residual_ms)
    row = max(0.0, row_wise.var(ddof=1) - sum(e / t.shape[0] for e, t in zip(interaction, tables)))
    return Components(rows, float(row), tuple(seed), tuple(interaction))


def contrast(a: np.ndarray, b: np.ndarray | None = None) -> Estimate:
    """Mean of case `a` minus mean of case `b` ((seeds, rows) tables on the same rows, seeds
    independent between them), or the mean of `a` alone (module docstring)."""
    tables = [np.asarray(a, dtype=float)] + ([] if b is None else [np.asarray(b, dtype=float)])
    mean = float((tables[0].mean(0) - (tables[1].mean(0) if b is not None else 0.0)).mean())
    if tables[0].shape[1] < 2 or any(t.shape[0] < 2 for t in tables):
        return Estimate(mean, math.nan, math.nan)
    return components(*tables).estimate(tuple(t.shape[0] for t in tables), mean)


def on_scale(a: np.ndarray, b: np.ndarray, metric: str, paired: bool = False) -> tuple[list[np.ndarray], float | None]:
    """The tables whose contrast is `difference`'s error on the metric's scale, and the log of
    the ratio of the means that a log-scale metric reports (None on another scale): each table
    over its own mean (above zero) for a log-scale metric, by the delta method; the per-(seed,
    row) differences for `paired` cases."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    shift = None
    if SCALES[metric] == "log":
        a, b, shift = a / a.mean(), b / b.mean(), math.log(a.mean() / b.mean())
    return ([a - b] if paired else [a, b]), shift


def difference(a: np.ndarray, b: np.ndarray, metric: str, paired: bool = False) -> Estimate:
    """How much worse case `a` is than case `b` on `metric` (positive: worse), on the metric's
    scale: the log of the ratio of their means for a log-scale metric, the difference of their
    means otherwise (on_scale). `paired`: the two share their seeds (an ablation sweep's
    levels), so the contrast is of the per-(seed, row) differences; else their seeds are
    independent."""
    sign = 1.0 if LOWER_IS_BETTER[metric] else -1.0
    if SCALES[metric] == "log":
        mean_a, mean_b = np.mean(a), np.mean(b)
        if not (mean_a > 0 and mean_b > 0):
            return Estimate(0.0, 0.0, math.inf) if mean_a == mean_b else Estimate(math.nan, math.nan, math.nan)
    tables, shift = on_scale(a, b, metric, paired)
    e = contrast(*tables)
    return Estimate(sign * (e.mean if shift is None else shift), e.se, e.df)


def case_mean(a: np.ndarray, metric: str) -> tuple[float, float, float]:
    """One case's mean on `metric` and its 95% interval over its seeds and the rows: on a
    log-scale metric the interval of the mean's logarithm (delta method) taken back, so it stays
    above zero."""
    e = contrast(np.asarray(a, dtype=float))
    return (e.mean, *(log_interval(e) if SCALES[metric] == "log" else interval(e)))


def log_interval(estimate: Estimate, level: float = 0.95) -> tuple[float, float]:
    """Two-sided interval of a positive mean, taken on its logarithm (delta method: the log's
    error is se / mean) and back, so it stays above zero: mean ÷ f to mean × f. A mean at or
    below zero has the plain interval."""
    if not estimate.mean > 0:
        return interval(estimate, level)
    low, high = interval(Estimate(math.log(estimate.mean), estimate.se / estimate.mean, estimate.df), level)
    return math.exp(low), math.exp(high)


def t_quantile(level: float, df):
    """The one-sided critical value of Student's t at `level` (the normal's at infinite df);
    `df` a number or an array of them."""
    critical = stats.t.isf(level, df)
    return float(critical) if np.ndim(critical) == 0 else critical


def interval(estimate: Estimate, level: float = 0.95) -> tuple[float, float]:
    """Two-sided interval of an estimate at `level`."""
    if not estimate.se > 0:
        return (estimate.mean, estimate.mean) if estimate.se == 0 else (math.nan, math.nan)
    half = t_quantile((1 - level) / 2, estimate.df) * estimate.se
    return estimate.mean - half, estimate.mean + half


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count as a test)."""
    p = np.asarray(p, dtype=float)
    adjusted = np.full_like(p, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def detectable(estimate: Estimate, level: float, power: float = POWER) -> float:
    """The smallest true effect that a one-sided t test at `level` on this estimate's error
    detects with `power` (the noncentral t)."""
    if not estimate.se > 0:
        return math.nan
    critical = t_quantile(level, estimate.df)
    if math.isinf(estimate.df):
        return (critical + float(stats.norm.ppf(power))) * estimate.se
    shortfall = lambda d: stats.nct.sf(critical, estimate.df, d) - power  # noqa: E731
    # under a degree of freedom the t's tails are so heavy that the power needs a noncentrality
    # far past critical + 100: widen the bracket until it holds the root
    high = critical + 100.0
    while shortfall(high) < 0:
        if high > 1e12 * critical:
            return math.inf  # no effect this test can detect with that power
        high *= 4
    return float(brentq(shortfall, 0.0, high)) * estimate.se


# Ranking: multiple comparisons with the best.


def t_statistic(e: Estimate) -> float:
    """mean / se, with ±inf for a constant nonzero difference and 0 for none."""
    if e.se > 0:
        return e.mean / e.se
    return math.copysign(math.inf, e.mean) if e.mean else 0.0


def p_above(t: float, e: Estimate) -> float:
    """One-sided p-value of 'the effect is above zero' from its t statistic (a zero se: 0 or 1)."""
    if not e.se > 0:
        return float(t <= 0)
    return float(stats.norm.sf(t) if math.isinf(e.df) else stats.t.sf(t, e.df))


def level_table(scores: pd.DataFrame, case: str, metric: str) -> np.ndarray:
    """(seeds, rows) of one case's per-row metric, seeds and rows in sorted order."""
    picked = scores[scores["case"] == case]
    return picked.pivot(index="seed", columns="row", values=metric).sort_index().sort_index(axis=1).to_numpy()


# Claims: a difference test and an equivalence test on each.
