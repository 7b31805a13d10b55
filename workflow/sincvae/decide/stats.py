"""Decisions from per (seed, scoring row) scores: which case is best (multiple comparisons with
the best), and whether the original study's claims hold (tests of difference and of equivalence
against margins stated in config). Torch-free. docs/statistics.md states the model and the words.

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

from sincvae.decide.bootstrap import critical_values
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
    return float(brentq(lambda d: stats.nct.sf(critical, estimate.df, d) - power, 0.0, critical + 100.0)) * estimate.se


# Ranking: multiple comparisons with the best.

RANK_WORDS = {
    "best": "the best set holds this case alone",
    "equivalent": "within the margin of the best of the others, whichever that is (gap_high at most the margin)",
    "not separated": "in the best set; a gap to the best up to gap_high not excluded",
    "worse": "out of the best set (shown worse than the best), by less than the margin not excluded",
    "worse beyond the margin": "out of the best set by more than the margin (gap_low above it)",
    "undecided": "not ranked: fewer than 2 seeds or rows, or no mean to take a ratio of",
}


def _comparisons(tables: dict[str, np.ndarray], metric: str, alpha: float,
                 critical: dict[str, float] | None = None) -> dict[tuple[str, str], tuple]:
    """Every ordered pair's (gap, low, high, df): case i minus case j by `difference`, with its
    two-sided interval at 1 − alpha / (K − 1) (each side at alpha / (2(K − 1)): Bonferroni over
    the K − 1 comparisons of the best, so that the upper bounds that keep the best in the set and
    the lower bounds that put a case beyond the margin hold together). `critical`: case -> its
    studentized bootstrap's critical value (sincvae.decide.bootstrap); a pair's half-width then takes
    the largest of Student's and the two cases' (the heavy-tailed rows widen it, never narrow)."""
    cases = list(tables)
    level = alpha / (2 * max(len(cases) - 1, 1))
    compared = {(i, j): difference(tables[i], tables[j], metric) for n, i in enumerate(cases) for j in cases[n + 1:]}
    dfs = np.array([e.df for e in compared.values()], dtype=float)
    student = t_quantile(level, dfs)
    pairs = {}
    for ((i, j), e), t in zip(compared.items(), student):
        if critical is not None:
            t = max(t, critical[i], critical[j])
        half = t * e.se if e.se > 0 else (0.0 if e.se == 0 else math.nan)
        pairs[i, j] = (e.mean, e.mean - half, e.mean + half, e.df)
        pairs[j, i] = (-e.mean, -e.mean - half, -e.mean + half, e.df)  # j against i: i against j reversed
    return pairs


def _gaps(tables: dict[str, np.ndarray], metric: str, alpha: float,
          critical: dict[str, float] | None = None) -> dict[str, tuple[float, float, float, float, bool]]:
    """Hsu's constrained MCB over `tables` (raw scores, compared by `difference`; each with at
    least 2 seeds and rows): per case its gap to the best of the others (positive: worse), the
    gap's simultaneous bounds at 1 − alpha, the smallest df of its comparisons, and whether it
    is in the best set. With b the best case, the event that every other case's interval against
    b holds has probability at least 1 − alpha; on it:

    - b is in the best set {i: no comparison's lower bound above 0};
    - gap_high: a case's gap is at most its largest upper bound against the other members of the
      best set (b among them), and 0 for b; the best set of one case is its best;
    - gap_low: b's gap is at least its largest lower bound (below 0); a case outside the set is
      not b, so its gap is at least 0 and at least its smallest lower bound against a member.
    """
    pairs = _comparisons(tables, metric, alpha, critical)
    cases = list(tables)
    others = {i: [j for j in cases if j != i] for i in cases}
    low = {i: max(pairs[i, j][1] for j in others[i]) for i in cases}
    # at or below 0: two cases with identical scores (a setting the model ignores) bound each
    # other at exactly 0, and the one with the smallest mean must stay in the set
    members = [i for i in cases if low[i] <= 0]
    gaps = {}
    for i in cases:
        inside = i in members
        rivals = [j for j in members if j != i]
        high = max([pairs[i, j][2] for j in rivals], default=0.0)
        bound = min(0.0, low[i]) if inside else max(0.0, min(pairs[i, j][1] for j in rivals))
        gaps[i] = (max(pairs[i, j][0] for j in others[i]), bound, max(0.0, high),
                   min(pairs[i, j][3] for j in others[i]), inside)
    return gaps


def rank_word(gap_low: float, gap_high: float, in_best_set: bool, margin: float) -> str:
    """One case's word from its simultaneous gap bounds, its place in the best set and the
    margin on the comparison's scale (RANK_WORDS)."""
    if gap_high <= 0:
        return "best"
    if gap_high <= margin:
        return "equivalent"
    if in_best_set:
        return "not separated"
    return "worse beyond the margin" if gap_low > margin else "worse"


def _ranked(tables: dict[str, np.ndarray], metric: str) -> list[str]:
    """The cases a ranking can compare: at least 2 seeds and 2 rows, and on a log-scale metric a
    mean above zero (a ratio of means needs one)."""
    return [case for case, table in tables.items() if table.shape[0] >= 2 and table.shape[1] >= 2
            and (SCALES[metric] != "log" or table.mean() > 0)]


def _words(tables: dict[str, np.ndarray], metric: str, alpha: float, margin: float,
           critical: dict[str, float] | None = None) -> tuple[dict, list[str]]:
    """_gaps of the cases that can be ranked (a lone case: the best), and each case's word: its
    rank_word, or undecided (RANK_WORDS)."""
    chosen = _ranked(tables, metric)
    ranked = {case: tables[case] for case in chosen}
    gaps = _gaps(ranked, metric, alpha, critical) if len(ranked) > 1 else {c: (0.0, -math.inf, 0.0, math.nan, True)
                                                                             for c in ranked}
    delta = margin_on_scale(margin, metric)
    undecided = (math.nan, math.nan, math.nan, math.nan, False)
    gaps = {case: gaps.get(case, undecided) for case in tables}
    return gaps, [rank_word(low, high, inside, delta) if case in ranked else "undecided"
                  for case, (_, low, high, _, inside) in gaps.items()]


def bootstrap_critical(tables: dict[str, np.ndarray], metric: str, alpha: float, resamples: int,
                       rng: np.random.Generator) -> dict[str, float] | None:
    """The ranked cases' studentized bootstrap critical values (sincvae.decide.bootstrap), about the
    study's own contrasts; None without resamples or with fewer than two cases to rank."""
    ranked = {case: np.asarray(tables[case], dtype=float) for case in _ranked(tables, metric)}
    if resamples < 1 or len(ranked) < 2:
        return None
    log = SCALES[metric] == "log"
    means = {case: table.mean() for case, table in ranked.items()}
    cases = list(ranked)
    estimates = {(i, j): math.log(means[i] / means[j]) if log else means[i] - means[j]
                 for n, i in enumerate(cases) for j in cases[n + 1:]}
    return critical_values(ranked, estimates, log, alpha, resamples, rng)


def best_set(tables: dict[str, np.ndarray], metric: str, alpha: float, margin: float,
             critical: dict[str, float] | None = None) -> pd.DataFrame:
    """Which cases may be the best on one metric: tables maps case -> (seeds, rows) of raw
    scores on the same rows. One row per case: its mean and 95% interval over its seeds and the
    rows (case_mean), its gap to the best of the others with simultaneous 1 − alpha bounds (as
    ratios of means on a log-scale metric), the smallest df of its comparisons, whether it is in
    the set that holds the best with probability 1 − alpha, and its word against `margin`
    (config's units). A case that cannot be ranked (_ranked) is undecided: not in the set, no
    gap, and the others are ranked without it. `critical`: bootstrap_critical's values."""
    back = np.exp if SCALES[metric] == "log" else (lambda v: v)
    rows = []
    gaps, words = _words(tables, metric, alpha, margin, critical)
    for (case, table), word in zip(tables.items(), words):
        mean, low, high = case_mean(table, metric)
        gap, gap_low, gap_high, df, inside = gaps[case]
        rows.append({"case": case, "seeds": table.shape[0], "mean": mean, "ci_low": low, "ci_high": high,
                     "gap": float(back(gap)), "gap_low": float(back(gap_low)), "gap_high": float(back(gap_high)),
                     "df": df, "in_best_set": inside, "word": word})
    return pd.DataFrame(rows)


def rank_cases(tables: dict[str, np.ndarray], metric: str, alpha: float, margin: float, resamples: int,
               rng: np.random.Generator, bootstrap: int = 0) -> pd.DataFrame:
    """best_set with the critical values of `bootstrap` studentized resamples (bootstrap_critical),
    and each word's stability: the share of `resamples` bootstrap studies that give the case the
    same word. A resample keeps the cases, their seed counts, the metric, alpha, the margin and
    the critical values; it draws the scoring rows again (one draw shared by every case, as the
    rows are) and each case's seeds again (independently, as the cases' seeds are). fragile(): a
    word that changes in more than one resample in five, beyond the resamples' own error."""
    critical = bootstrap_critical(tables, metric, alpha, bootstrap, rng)
    ranked = best_set(tables, metric, alpha, margin, critical)
    same = np.zeros(len(ranked))
    rows = next(iter(tables.values())).shape[1]
    for _ in range(resamples):
        picked = rng.integers(0, rows, rows)
        drawn = {case: table[rng.integers(0, len(table), len(table))][:, picked] for case, table in tables.items()}
        same += np.array(_words(drawn, metric, alpha, margin, critical)[1]) == ranked["word"].to_numpy()
    ranked["stability"] = same / resamples if resamples else math.nan
    ranked["fragile"] = fragile(same, resamples)
    return ranked


def ranking(rows: pd.DataFrame, metric: str, alpha: float, margin: float, classes: dict[str, str] | None = None,
            resamples: int = 0, seed: int = 0, bootstrap: int = 0) -> pd.DataFrame:
    """rank_cases for every dataset × stage of per-row scores (dataset, stage, case, seed, row
    and the metric; the scoring split), over all cases (scope `all`) and, given `classes` (case
    -> what its method knows of the map), within each class of two or more cases. A case with a
    NaN score is left out: no decision from a NaN. Resampled from `seed`, one stream per scope;
    `bootstrap`: the studentized resamples that calibrate the comparisons (rank_cases)."""
    scopes = {"all": None}
    for name in dict.fromkeys((classes or {}).values()):
        members = [case for case, known in classes.items() if known == name]
        if len(members) > 1:
            scopes[name] = members
    frames = []
    for index, ((dataset, stage), part) in enumerate(rows.groupby(["dataset", "stage"], sort=False)):
        tables = {case: level_table(part, case, metric) for case in part["case"].unique()}
        tables = {case: table for case, table in tables.items() if not np.isnan(table).any()}
        for number, (scope, members) in enumerate(scopes.items()):
            chosen = {case: table for case, table in tables.items() if members is None or case in members}
            if chosen:
                rng = np.random.default_rng([seed, index, number])
                ranked = rank_cases(chosen, metric, alpha, margin, resamples, rng, bootstrap)
                frames.append(ranked.assign(dataset=dataset, stage=stage, metric=metric, scope=scope,
                                            margin=margin, comparisons=len(_ranked(chosen, metric)) - 1))
    columns = ["dataset", "stage", "scope", "metric", "case", "seeds", "mean", "ci_low", "ci_high", "gap", "gap_low",
               "gap_high", "df", "margin", "in_best_set", "word", "stability", "fragile", "comparisons"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def level_table(scores: pd.DataFrame, case: str, metric: str) -> np.ndarray:
    """(seeds, rows) of one case's per-row metric, seeds and rows in sorted order."""
    picked = scores[scores["case"] == case]
    return picked.pivot(index="seed", columns="row", values=metric).sort_index().sort_index(axis=1).to_numpy()


# Claims: a difference test and an equivalence test on each.


def judge(reference: np.ndarray, outside: dict, metric: str, margin: float) -> dict:
    """One claim on one metric. reference: (seeds, rows) of the recommended level's raw scores;
    outside: level -> (seeds, rows) on the same rows. The levels of a sweep share their seeds
    (seed s of every level starts from the same random streams), so a level with the reference's
    seeds is compared paired by seed and row (contrast of the differences; independent seeds
    otherwise). On the metric's scale, the advantage of the recommended level over each outside
    level (positive: recommended better); the binding comparison (_binding: the largest one-sided
    p) gives the effect, its error and the difference test's p (supported: intersection-union, its own one-sided p;
    contradicted: the smallest one-sided p, Bonferroni over the outside levels; two-sided); the
    equivalence test's p is the largest over the outside levels of TOST's (each within
    ±margin). Or `undecided` with the reason."""
    seeds = min(t.shape[0] for t in [reference, *outside.values()])
    if seeds < 2:
        return {"decision": "undecided", "reason": f"{seeds} seed: decisions need at least 2"}
    if any(np.isnan(t).any() for t in [reference, *outside.values()]):
        return {"decision": "undecided", "reason": "NaN scores"}
    delta = margin_on_scale(margin, metric)
    pairs = {level: difference(table, reference, metric, paired=table.shape == reference.shape)
             for level, table in outside.items()}
    if all(e.se == 0 and e.mean == 0 for e in pairs.values()):
        return {"best_outside": next(iter(outside)), "effect": 0.0, "se": 0.0, "df": math.inf,
                "levels_outside": len(pairs), "p": 1.0, "p_equivalent": 0.0, "direction": "supported",
                "outside": [(0.0, 0.0, math.inf)] * len(pairs),
                "reason": "identical scores on every seed and row"}
    t = {level: t_statistic(e) for level, e in pairs.items()}
    supports = {level: p_above(t[level], pairs[level]) for level in pairs}
    binding = _binding(supports)
    e = pairs[binding]
    p_support = supports[binding]
    p_contradict = min(1.0, len(pairs) * min(p_above(-t[level], pairs[level]) for level in pairs))
    p_equivalent = max(max(p_above((x.mean + delta) / x.se if x.se > 0 else math.inf, x),
                           p_above((delta - x.mean) / x.se if x.se > 0 else math.inf, x)) for x in pairs.values())
    return {"best_outside": binding, "effect": e.mean, "se": e.se, "df": e.df, "levels_outside": len(pairs),
            "p": min(1.0, 2 * min(p_support, p_contradict)), "p_equivalent": p_equivalent,
            "outside": [(x.mean, x.se, x.df) for x in pairs.values()],
            "direction": "supported" if p_support <= p_contradict else "contradicted"}


def _binding(supports: dict) -> object:
    """The intersection-union test's binding level: the one whose one-sided p of 'the recommended
    level is better' is largest (with different df per level, not always the smallest t)."""
    return max(supports, key=supports.get)


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


def decide(results: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """One family of m tests: Holm over the difference tests' p; Bonferroni over the equivalence
    tests' (TOST at alpha / m, so that `bound`, the largest effect of any outside level that
    TOST at that level does not exclude, is below the margin exactly when it decides); a decided
    difference is supported or contradicted, else a decided equivalence is equivalent, else
    inconclusive; undecided rows keep theirs. Adds the difference test's family interval
    (ci_low at alpha / (2m), ci_high at alpha / (2mL)) and the effects it detects with 80%
    power at those levels."""
    results = results.copy()
    for column in ("p", "p_equivalent", "se", "df", "effect", "levels_outside", "outside"):
        if column not in results:
            results[column] = np.nan
    for column in ("direction", "decision"):
        results[column] = results[column].astype(object) if column in results else None
    results["p_adjusted"] = holm(results["p"].to_numpy())
    tested = results["p"].notna()
    tests = int(tested.sum())
    results["p_equivalent_adjusted"] = np.minimum(1.0, results["p_equivalent"] * max(tests, 1))
    different = results["p_adjusted"] <= alpha
    same = results["p_equivalent_adjusted"] <= alpha
    results.loc[tested, "decision"] = np.where(different[tested], results.loc[tested, "direction"],
                                               np.where(same[tested], "equivalent", "inconclusive"))
    family = alpha / (2 * max(tests, 1))  # one side of a two-sided test, Bonferroni over the family
    lows, highs, supports, contradicts, bounds = [], [], [], [], []
    for effect, se, df, levels, outside in results[["effect", "se", "df", "levels_outside", "outside"]].itertuples(
            index=False):
        e = Estimate(effect, se, df)
        contradict_level = family / (levels if levels > 0 else 1)
        if se > 0:
            lows.append(effect - t_quantile(family, df) * se)
            highs.append(effect + t_quantile(contradict_level, df) * se)
        else:
            lows.append(effect if se == 0 else math.nan)
            highs.append(effect if se == 0 else math.nan)
        supports.append(detectable(e, family))
        contradicts.append(detectable(e, contradict_level))
        bounds.append(max((abs(mean) + (t_quantile(alpha / max(tests, 1), dof) * err if err > 0 else 0.0)
                           for mean, err, dof in outside), default=math.nan) if isinstance(outside, list) else math.nan)
    results["ci_low"], results["ci_high"] = lows, highs
    results["bound"] = bounds
    results["mde_support"], results["mde_contradict"] = supports, contradicts
    results["tests"] = tests
    return results


VERDICT_COLUMNS = ["claim", "factor", "dataset", "variant", "metric", "role", "scale", "margin", "reference_level",
                   "best_outside", "effect", "ci_low", "ci_high", "bound", "p", "p_adjusted", "p_equivalent",
                   "p_equivalent_adjusted", "decision", "stability", "fragile", "mde_support", "mde_contradict",
                   "tests", "seeds", "rows", "reason"]


def _sweeps(scores: pd.DataFrame, levels: pd.DataFrame):
    """Every claim × dataset × variant's tables: (dataset, variant, factor, reference level row,
    {metric: (reference table, {outside level: table})})."""
    for dataset, by_dataset in scores.groupby("dataset", sort=False):
        for (variant, factor), sweep in levels.groupby(["variant", "factor"], sort=False):
            reference = sweep[sweep["reference"]].iloc[0]
            outside = sweep[~sweep["in_claim"]]
            tables = {metric: (level_table(by_dataset, reference["case"], metric),
                               {lv: level_table(by_dataset, case, metric)
                                for lv, case in zip(outside["level"], outside["case"])})
                      for metric in METRICS}
            yield dataset, variant, factor, reference, tables


def _judged(sweeps: list, claims: dict[str, str], alpha: float, primary: str, margins: dict[str, float]) -> pd.DataFrame:
    rows = []
    for dataset, variant, factor, reference, tables in sweeps:
        for metric, (table, outside) in tables.items():
            rows.append({"claim": claims[factor], "factor": factor, "dataset": dataset, "variant": variant,
                         "metric": metric, "role": "primary" if metric == primary else "secondary",
                         "scale": SCALES[metric], "margin": margins[metric],
                         "reference_level": reference["level"], "seeds": table.shape[0], "rows": table.shape[1],
                         **judge(table, outside, metric, margins[metric])})
    frame = pd.DataFrame(rows)
    families = [decide(part, alpha) for _, part in frame.groupby("role", sort=False)]
    return pd.concat(families).sort_index()


def _resampled(sweeps: list, rng: np.random.Generator) -> list:
    """The same sweeps in one bootstrap study: each dataset's rows drawn again (one draw shared by
    every level, as the rows are), and the seeds drawn again once per dataset × variant × seed
    count, that draw shared by every level with that count (seed s of every level of a variant
    starts from the same random streams, so the paired comparisons keep their pairs)."""
    out, rows_drawn, seeds_drawn = [], {}, {}
    for dataset, variant, factor, reference, tables in sweeps:
        rows = next(iter(tables.values()))[0].shape[1]
        chosen = rows_drawn.setdefault(dataset, rng.integers(0, rows, rows))

        def draw(table):
            count = len(table)
            which = seeds_drawn.setdefault((dataset, variant, count), rng.integers(0, count, count))
            return table[which][:, chosen]

        out.append((dataset, variant, factor, reference,
                    {metric: (draw(table), {lv: draw(t) for lv, t in outside.items()})
                     for metric, (table, outside) in tables.items()}))
    return out


def verdicts(scores: pd.DataFrame, levels: list[dict], claims: dict[str, str], alpha: float, primary: str,
             margins: dict[str, float], resamples: int = 0, seed: int = 0) -> pd.DataFrame:
    """Every claim × dataset × variant × metric tested; the `primary` metric's tests decide
    (one Holm family), the others are reported beside them (a family of their own). Each
    decision's stability: the share of `resamples` bootstrap studies (_resampled, seeded from
    `seed`) that give the same decision; fragile() below FRAGILE_BELOW.

    scores: per (dataset, case, seed, row) the metrics of METRICS (the raw stage, scoring split);
    levels: the ablations' levels (sincvae.plan.planning.Level as dicts); claims: factor -> its text;
    margins: metric -> its equivalence margin (a ratio on a log-scale metric).
    """
    sweeps = list(_sweeps(scores, pd.DataFrame(levels)))
    table = _judged(sweeps, claims, alpha, primary, margins)
    rng = np.random.default_rng(seed)
    same = np.zeros(len(table))
    for _ in range(resamples):
        again = _judged(_resampled(sweeps, rng), claims, alpha, primary, margins)
        same += again["decision"].to_numpy() == table["decision"].to_numpy()
    table["stability"] = same / resamples if resamples else math.nan
    table["fragile"] = fragile(same, resamples)
    return table.reindex(columns=VERDICT_COLUMNS)


def level_summary(scores: pd.DataFrame, levels: list[dict]) -> pd.DataFrame:
    """Mean and unadjusted 95% interval (over seeds and rows, on each metric's scale and back:
    its logarithm's for a log-scale metric, taken back) of each metric at each level of each sweep: a
    description of the levels for the figures, not a decision."""
    rows = []
    for dataset, by_dataset in scores.groupby("dataset", sort=False):
        for row in levels:
            for metric in METRICS:
                mean, low, high = case_mean(level_table(by_dataset, row["case"], metric), metric)
                rows.append({"dataset": dataset, **row, "metric": metric, "mean": mean, "ci_low": low,
                             "ci_high": high})
    return pd.DataFrame(rows)
