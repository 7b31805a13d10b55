"""Decisions on the seed's claims from the ablations: paired effects over seeds and scoring rows,
intervals that cover both, and Holm's correction over every test. Torch-free.

Each level of a sweep is scored per (seed, scoring row). Two levels are compared on the same
seeds and rows (paired). The design is crossed (every seed scores every row), and an effect
varies with both the seed (training) and the choice of rows (the scoring split), so its
standard error adds the two:

    se² = var(seed means) / S + var(row means) / R

and min(S, R) − 1 degrees of freedom (with a handful of seeds, S − 1). This covers
seed-to-seed and row-to-row variation, and errs on the wide side twice: it counts their
interaction in both terms, and its degrees of freedom are the lower bound of Welch–
Satterthwaite's (which, estimated from 5 seeds, let 7% of null families through at 5%).

A claim says its range is best. It is judged by the level the seed recommends (the reference
case's value, inside the range) against every level outside the range:
- supported: the recommended level is better than each outside level (intersection–union
  test: the largest of the one-sided p-values);
- contradicted: some outside level is better (the smallest one-sided p-value, Bonferroni over
  the outside levels);
- the test's p-value is twice the smaller of the two, Holm-adjusted over every test;
- no detectable difference otherwise, with the smallest effect the design would detect with 80%
  power at the strictest Holm threshold.
The reported effect is the advantage of the recommended level over the best level outside
(positive: the claim's level is better), with its 95% interval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

# The generative metrics a decision uses: per row, over the K generated lines (raw stage).
METRICS = {
    "mmd": "MMD to the exact posterior",
    "residual_l1": "mean forward residual |f(x̂) − y|",
    "coverage": "coverage of the exact solutions",
}
LOWER_IS_BETTER = {"mmd": True, "residual_l1": True, "coverage": False}
POWER = 0.8


def crossed_mean(values: np.ndarray) -> tuple[float, float, float]:
    """Mean of a (seeds, rows) table, its standard error over both seeds and rows, and the
    error's degrees of freedom. NaN error with fewer than 2 seeds or rows."""
    values = np.asarray(values, dtype=float)
    seeds, rows = values.shape
    mean = float(values.mean())
    if seeds < 2 or rows < 2:
        return mean, math.nan, math.nan
    a = values.mean(1).var(ddof=1) / seeds
    b = values.mean(0).var(ddof=1) / rows
    return mean, math.sqrt(a + b), min(seeds, rows) - 1


def interval(mean: float, se: float, df: float, level: float = 0.95) -> tuple[float, float]:
    if not (se > 0):
        return (mean, mean) if se == 0 else (math.nan, math.nan)
    half = stats.t.ppf(0.5 + level / 2, df) * se
    return mean - half, mean + half


def _one_sided(mean: float, se: float, df: float) -> tuple[float, float]:
    """p-values of 'the advantage is positive' and of 'it is negative'."""
    if se == 0:
        return (0.0, 1.0) if mean > 0 else (1.0, 0.0) if mean < 0 else (1.0, 1.0)
    t = mean / se
    return float(stats.t.sf(t, df)), float(stats.t.cdf(t, df))


def judge(reference: np.ndarray, outside: dict, lower_is_better: bool) -> dict:
    """One claim on one metric. reference: (seeds, rows) of the recommended level; outside:
    level -> (seeds, rows) on the same seeds and rows. Returns the effect against the best
    outside level, its interval, the unadjusted p-value and the direction it points to, or
    `undecided` with the reason."""
    seeds = reference.shape[0]
    if seeds < 2:
        return {"decision": "undecided", "reason": f"{seeds} seed: decisions need at least 2"}
    tables = [reference, *outside.values()]
    if any(np.isnan(t).any() for t in tables):
        return {"decision": "undecided", "reason": "NaN scores"}
    sign = 1.0 if lower_is_better else -1.0
    # advantage of the recommended level over each outside level (positive: recommended better)
    pairs = {level: crossed_mean(sign * (table - reference)) for level, table in outside.items()}
    best_level = min(pairs, key=lambda level: pairs[level][0])
    effect, se, df = pairs[best_level]
    low, high = interval(effect, se, df)
    if all(np.array_equal(reference, t) for t in outside.values()):
        return {"best_outside": best_level, "effect": 0.0, "ci_low": 0.0, "ci_high": 0.0, "se": 0.0,
                "decision": "no detectable difference", "reason": "identical scores on every seed and row"}
    sides = [_one_sided(*pair) for pair in pairs.values()]
    p_support = max(p for p, _ in sides)
    p_contradict = min(1.0, len(sides) * min(q for _, q in sides))
    return {"best_outside": best_level, "effect": effect, "ci_low": low, "ci_high": high, "se": se, "df": df,
            "p": min(1.0, 2 * min(p_support, p_contradict)),
            "direction": "supported" if p_support <= p_contradict else "contradicted"}


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


def decide(results: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Holm-adjust the tests' p-values and turn each into a decision; undecided rows keep theirs.
    `mde`: the smallest advantage the design detects with 80% power at alpha / (number of tests)."""
    results = results.copy()
    for column in ("p", "se", "df"):
        if column not in results:
            results[column] = np.nan
    for column in ("direction", "decision"):
        results[column] = results[column].astype(object) if column in results else None
    results["p_adjusted"] = holm(results["p"].to_numpy())
    tests = int(results["p"].notna().sum())
    decided = results["p_adjusted"] <= alpha
    tested = results["p"].notna()
    results.loc[tested, "decision"] = np.where(decided[tested], results.loc[tested, "direction"],
                                               "no detectable difference")
    threshold = alpha / max(tests, 1)
    results["mde"] = [
        (stats.t.ppf(1 - threshold / 2, df) + stats.t.ppf(POWER, df)) * se if se > 0 else math.nan
        for se, df in zip(results["se"], results["df"])
    ]
    results.loc[decided, "mde"] = np.nan  # a decided test needs none
    return results


def level_table(scores: pd.DataFrame, case: str, metric: str) -> np.ndarray:
    """(seeds, rows) of one case's per-row metric, seeds and rows in sorted order."""
    picked = scores[scores["case"] == case]
    return picked.pivot(index="seed", columns="row", values=metric).sort_index().sort_index(axis=1).to_numpy()


def verdicts(scores: pd.DataFrame, levels: list[dict], claims: dict[str, str], alpha: float) -> pd.DataFrame:
    """Every claim × dataset × variant × metric decided.

    scores: per (dataset, case, seed, row) the metrics of METRICS (the raw stage, scoring split);
    levels: the ablations' levels (sincvae.planning.Level as dicts); claims: factor -> its text.
    """
    levels = pd.DataFrame(levels)
    rows = []
    for dataset, by_dataset in scores.groupby("dataset", sort=False):
        for (variant, factor), sweep in levels.groupby(["variant", "factor"], sort=False):
            reference = sweep[sweep["reference"]].iloc[0]
            outside = sweep[~sweep["in_claim"]]
            for metric in METRICS:
                table = level_table(by_dataset, reference["case"], metric)
                result = judge(table, {lv: level_table(by_dataset, case, metric)
                                       for lv, case in zip(outside["level"], outside["case"])},
                               LOWER_IS_BETTER[metric])
                rows.append({"claim": claims[factor], "factor": factor, "dataset": dataset, "variant": variant,
                             "metric": metric, "reference_level": reference["level"], "seeds": table.shape[0],
                             "rows": table.shape[1], **result})
    frame = decide(pd.DataFrame(rows), alpha)
    columns = ["claim", "factor", "dataset", "variant", "metric", "reference_level", "best_outside", "effect",
               "ci_low", "ci_high", "p", "p_adjusted", "decision", "mde", "seeds", "rows", "reason"]
    return frame.reindex(columns=columns)


def level_summary(scores: pd.DataFrame, levels: list[dict]) -> pd.DataFrame:
    """Mean and 95% interval (over seeds and rows) of each metric at each level of each sweep."""
    rows = []
    for dataset, by_dataset in scores.groupby("dataset", sort=False):
        for level in levels:
            for metric in METRICS:
                mean, se, df = crossed_mean(level_table(by_dataset, level["case"], metric))
                low, high = interval(mean, se, df)
                rows.append({"dataset": dataset, **level, "metric": metric, "mean": mean,
                             "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)
