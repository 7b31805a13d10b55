"""Decisions on the original study's claims from the ablations: paired effects over seeds and scoring rows,
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

A claim says its range is best. It is judged by the level the original study recommends (the reference
case's value, inside the range) against every level outside the range, on one primary metric
(config `ablations.primary`); the other metrics are reported beside it and never decide:
- each outside level gives a paired comparison; the one with the smallest t statistic binds
  both tests (the closest competitor, or the one that beats the claim most clearly), and its
  effect, interval, p-value and MDE are the ones reported, so all four speak of one comparison;
- supported: the recommended level beats every outside level (intersection–union test: the
  largest one-sided p-value, the binding comparison's);
- contradicted: some outside level is better (the smallest one-sided p-value, Bonferroni over
  the L outside levels);
- the test's p-value is twice the smaller of the two (two-sided), Holm-adjusted over the family
  of primary tests (every claim × dataset × variant); the secondary metrics form a family of
  their own, reported, not deciding;
- no detectable difference otherwise.
The effect is the advantage of the recommended level over the binding outside level (positive:
the claim's level is better). Its interval [low, high] is family-adjusted: low is the one-sided
bound of the support test at α / (2m), high that of the contradiction test at α / (2mL), m the
family's tests; so 0 outside it means Bonferroni over the family decides (Holm, step-down, may
decide a few more). The minimum detectable effects (MDE) are the advantages that the design
detects with 80% power at those same thresholds, from the noncentral t: `mde_support` in the
claim's favour, `mde_contradict` against it. "No detectable difference, MDE m" means: had the
recommended level been better (or worse) than the binding level by m or more, this test would
have said so four times in five.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import brentq

# The generative metrics a claim is tested on: per row, over the K generated lines (raw stage).
METRICS = {
    "distance": "Wasserstein-1 distance to the exact posterior",
    "precision": "share of valid lines (forward test)",
    "coverage": "coverage of the exact solutions by valid lines",
    "residual_l1": "mean forward residual |f(x̂) − y|",
}
LOWER_IS_BETTER = {"distance": True, "precision": False, "coverage": False, "residual_l1": True, "mmd": True}
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
    return mean, math.sqrt(a + b), degrees_of_freedom(seeds, rows)


def degrees_of_freedom(seeds: int, rows: int) -> int:
    """The crossed mean's error: the lower bound of Welch–Satterthwaite's degrees of freedom."""
    return min(seeds, rows) - 1


def interval(mean: float, se: float, df: float, level: float = 0.95) -> tuple[float, float]:
    if not (se > 0):
        return (mean, mean) if se == 0 else (math.nan, math.nan)
    half = stats.t.ppf(0.5 + level / 2, df) * se
    return mean - half, mean + half


def two_sided(p_one_sided: float) -> float:
    return min(1.0, 2 * p_one_sided)


def bonferroni(p: float, tests: int) -> float:
    return min(1.0, tests * p)


def t_statistic(mean: float, se: float) -> float:
    """mean / se, with ±inf for a constant nonzero difference and 0 for none."""
    if se > 0:
        return mean / se
    return math.copysign(math.inf, mean) if mean else 0.0


def p_positive(t: float, se: float, df: float) -> float:
    """One-sided p-value of 'the effect is positive' given its t statistic (a zero se: 0 or 1)."""
    return float(stats.t.sf(t, df)) if se > 0 else float(t <= 0)


def judge(reference: np.ndarray, outside: dict, lower_is_better: bool) -> dict:
    """One claim on one metric. reference: (seeds, rows) of the recommended level; outside:
    level -> (seeds, rows) on the same seeds and rows. Returns the binding comparison (smallest
    t): its outside level, effect, standard error, degrees of freedom, the number of outside
    levels, the test's unadjusted p-value and the direction it points to; or `undecided` with
    the reason."""
    seeds = reference.shape[0]
    if seeds < 2:
        return {"decision": "undecided", "reason": f"{seeds} seed: decisions need at least 2"}
    tables = [reference, *outside.values()]
    if any(np.isnan(t).any() for t in tables):
        return {"decision": "undecided", "reason": "NaN scores"}
    if all(np.array_equal(reference, t) for t in outside.values()):
        return {"best_outside": next(iter(outside)), "effect": 0.0, "se": 0.0, "levels_outside": len(outside),
                "decision": "no detectable difference", "reason": "identical scores on every seed and row"}
    sign = 1.0 if lower_is_better else -1.0
    # advantage of the recommended level over each outside level (positive: recommended better)
    pairs = {level: crossed_mean(sign * (table - reference)) for level, table in outside.items()}
    binding = min(pairs, key=lambda level: t_statistic(*pairs[level][:2]))
    effect, se, df = pairs[binding]
    t = t_statistic(effect, se)
    p_support = p_positive(t, se, df)
    p_contradict = bonferroni(p_positive(-t, se, df), len(pairs))
    return {"best_outside": binding, "effect": effect, "se": se, "df": df, "levels_outside": len(pairs),
            "p": two_sided(min(p_support, p_contradict)),
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


def noncentrality(critical: float, df: float, power: float = POWER) -> float:
    """The noncentrality δ at which a t statistic (df) exceeds `critical` with probability `power`."""
    return float(brentq(lambda d: stats.nct.sf(critical, df, d) - power, 0.0, critical + 100.0))


def mde(se: float, df: float, level: float) -> float:
    """Smallest effect detected with 80% power by a one-sided t test at `level`."""
    if not (se > 0):
        return math.nan
    return noncentrality(stats.t.ppf(1 - level, df), df) * se


def decide(results: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """One family of tests: Holm-adjust the p-values and turn each into a decision; undecided
    rows keep theirs. Adds the family interval (ci_low, ci_high) and the MDE of each direction
    at the thresholds the decisions use (module docstring)."""
    results = results.copy()
    for column in ("p", "se", "df", "effect", "levels_outside"):
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
    family = alpha / (2 * max(tests, 1))  # one side of a two-sided test, Bonferroni over the family
    lows, highs, supports, contradicts = [], [], [], []
    for effect, se, df, levels in results[["effect", "se", "df", "levels_outside"]].itertuples(index=False):
        contradict_level = family / (levels if levels > 0 else 1)
        if se > 0:
            lows.append(effect - stats.t.ppf(1 - family, df) * se)
            highs.append(effect + stats.t.ppf(1 - contradict_level, df) * se)
        else:
            lows.append(effect if se == 0 else math.nan)
            highs.append(effect if se == 0 else math.nan)
        supports.append(mde(se, df, family))
        contradicts.append(mde(se, df, contradict_level))
    results["ci_low"], results["ci_high"] = lows, highs
    results["mde_support"], results["mde_contradict"] = supports, contradicts
    results["tests"] = tests
    return results


def level_table(scores: pd.DataFrame, case: str, metric: str) -> np.ndarray:
    """(seeds, rows) of one case's per-row metric, seeds and rows in sorted order."""
    picked = scores[scores["case"] == case]
    return picked.pivot(index="seed", columns="row", values=metric).sort_index().sort_index(axis=1).to_numpy()


VERDICT_COLUMNS = ["claim", "factor", "dataset", "variant", "metric", "role", "reference_level", "best_outside",
                   "effect", "ci_low", "ci_high", "p", "p_adjusted", "decision", "mde_support", "mde_contradict",
                   "tests", "seeds", "rows", "reason"]


def verdicts(scores: pd.DataFrame, levels: list[dict], claims: dict[str, str], alpha: float,
             primary: str) -> pd.DataFrame:
    """Every claim × dataset × variant × metric tested; the `primary` metric's tests decide
    (one Holm family), the others are reported beside them (a family of their own).

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
                             "metric": metric, "role": "primary" if metric == primary else "secondary",
                             "reference_level": reference["level"], "seeds": table.shape[0],
                             "rows": table.shape[1], **result})
    frame = pd.DataFrame(rows)
    families = [decide(part, alpha) for _, part in frame.groupby("role", sort=False)]
    return pd.concat(families).sort_index().reindex(columns=VERDICT_COLUMNS)


def level_summary(scores: pd.DataFrame, levels: list[dict]) -> pd.DataFrame:
    """Mean and unadjusted 95% interval (over seeds and rows) of each metric at each level of
    each sweep: a description of the levels for the figures, not a decision."""
    rows = []
    for dataset, by_dataset in scores.groupby("dataset", sort=False):
        for level in levels:
            for metric in METRICS:
                mean, se, df = crossed_mean(level_table(by_dataset, level["case"], metric))
                low, high = interval(mean, se, df)
                rows.append({"dataset": dataset, **level, "metric": metric, "mean": mean,
                             "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def rank(tables: dict[str, np.ndarray], lower_is_better: bool, alpha: float) -> pd.DataFrame:
    """Which case is best on one metric, by test: tables maps case -> (seeds, rows) on the same
    rows. The case with the best mean is compared with each other case, paired by row (and by
    seed index, which pairs nothing: seeds of different cases are independent, and their
    variation is in the error), one-sided, Holm over the other cases. A case it cannot be
    separated from is tied with it. One row per case: mean, the leader's advantage over it
    (positive: the leader is better), its family interval's lower bound, p, p_adjusted, `best`
    (the leader and the cases tied with it)."""
    sign = 1.0 if lower_is_better else -1.0
    means = {case: float(np.mean(table)) for case, table in tables.items()}
    leader = min(means, key=lambda case: sign * means[case])
    others = [case for case in tables if case != leader]
    rows = [{"case": leader, "mean": means[leader], "effect": 0.0, "ci_low": math.nan, "p": math.nan}]
    for case in others:
        effect, se, df = crossed_mean(sign * (tables[case] - tables[leader]))
        t = t_statistic(effect, se)
        p = p_positive(t, se, df)
        low = effect - stats.t.ppf(1 - alpha / max(len(others), 1), df) * se if se > 0 else effect
        rows.append({"case": case, "mean": means[case], "effect": effect, "ci_low": low, "p": p})
    frame = pd.DataFrame(rows)
    frame["p_adjusted"] = holm(frame["p"].to_numpy())
    frame["best"] = ~(frame["p_adjusted"] <= alpha)
    frame["leader"] = leader
    return frame


def ranking(rows: pd.DataFrame, metric: str, alpha: float, classes: dict[str, str] | None = None) -> pd.DataFrame:
    """`rank` for every dataset × stage of per-row scores (dataset, stage, case, seed, row and
    the metric; the scoring split), over all cases (scope `all`) and, given `classes` (case ->
    what its method knows of the map), within each class of two or more cases (scope: the
    class). A case with a NaN score is left out: no decision from a NaN."""
    scopes = {"all": None}
    for name in dict.fromkeys((classes or {}).values()):
        members = [case for case, known in classes.items() if known == name]
        if len(members) > 1:
            scopes[name] = members
    frames = []
    for (dataset, stage), part in rows.groupby(["dataset", "stage"], sort=False):
        tables = {case: level_table(part, case, metric) for case in part["case"].unique()}
        tables = {case: table for case, table in tables.items() if not np.isnan(table).any()}
        for scope, members in scopes.items():
            chosen = {case: table for case, table in tables.items() if members is None or case in members}
            if chosen:
                frames.append(rank(chosen, LOWER_IS_BETTER[metric], alpha).assign(
                    dataset=dataset, stage=stage, metric=metric, scope=scope, comparisons=len(chosen) - 1))
    columns = ["dataset", "stage", "scope", "metric", "case", "mean", "leader", "effect", "ci_low", "p", "p_adjusted",
               "best", "comparisons"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
