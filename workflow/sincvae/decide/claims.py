"""Whether the original study's claims hold: each claim's recommended level against the levels
outside its region, per dataset, variant and metric, as an intersection-union test of
difference and a test of equivalence against the margin, Holm-corrected over the primary
metric's tests, with each decision's stability over bootstrap studies. Each comparison is
stats.difference; docs/statistics.md states the tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sincvae.decide import stats

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
    delta = stats.margin_on_scale(margin, metric)
    pairs = {level: stats.difference(table, reference, metric, paired=table.shape == reference.shape)
             for level, table in outside.items()}
    if all(e.se == 0 and e.mean == 0 for e in pairs.values()):
        return {"best_outside": next(iter(outside)), "effect": 0.0, "se": 0.0, "df": math.inf,
                "levels_outside": len(pairs), "p": 1.0, "p_equivalent": 0.0, "direction": "supported",
                "outside": [(0.0, 0.0, math.inf)] * len(pairs),
                "reason": "identical scores on every seed and row"}
    t = {level: stats.t_statistic(e) for level, e in pairs.items()}
    supports = {level: stats.p_above(t[level], pairs[level]) for level in pairs}
    binding = _binding(supports)
    e = pairs[binding]
    p_support = supports[binding]
    p_contradict = min(1.0, len(pairs) * min(stats.p_above(-t[level], pairs[level]) for level in pairs))
    p_equivalent = max(max(stats.p_above((x.mean + delta) / x.se if x.se > 0 else math.inf, x),
                           stats.p_above((delta - x.mean) / x.se if x.se > 0 else math.inf, x)) for x in pairs.values())
    return {"best_outside": binding, "effect": e.mean, "se": e.se, "df": e.df, "levels_outside": len(pairs),
            "p": min(1.0, 2 * min(p_support, p_contradict)), "p_equivalent": p_equivalent,
            "outside": [(x.mean, x.se, x.df) for x in pairs.values()],
            "direction": "supported" if p_support <= p_contradict else "contradicted"}


def _binding(supports: dict) -> object:
    """The intersection-union test's binding level: the one whose one-sided p of 'the recommended
    level is better' is largest (with different df per level, not always the smallest t)."""
    return max(supports, key=supports.get)


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
    results["p_adjusted"] = stats.holm(results["p"].to_numpy())
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
        e = stats.Estimate(effect, se, df)
        contradict_level = family / (levels if levels > 0 else 1)
        if se > 0:
            lows.append(effect - stats.t_quantile(family, df) * se)
            highs.append(effect + stats.t_quantile(contradict_level, df) * se)
        else:
            lows.append(effect if se == 0 else math.nan)
            highs.append(effect if se == 0 else math.nan)
        supports.append(stats.detectable(e, family))
        contradicts.append(stats.detectable(e, contradict_level))
        bounds.append(max((abs(mean) + (stats.t_quantile(alpha / max(tests, 1), dof) * err if err > 0 else 0.0)
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
            tables = {metric: (stats.level_table(by_dataset, reference["case"], metric),
                               {lv: stats.level_table(by_dataset, case, metric)
                                for lv, case in zip(outside["level"], outside["case"])})
                      for metric in stats.METRICS}
            yield dataset, variant, factor, reference, tables


def _judged(sweeps: list, claims: dict[str, str], alpha: float, primary: str, margins: dict[str, float]) -> pd.DataFrame:
    rows = []
    for dataset, variant, factor, reference, tables in sweeps:
        for metric, (table, outside) in tables.items():
            rows.append({"claim": claims[factor], "factor": factor, "dataset": dataset, "variant": variant,
                         "metric": metric, "role": "primary" if metric == primary else "secondary",
                         "scale": stats.SCALES[metric], "margin": margins[metric],
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
    levels: the ablations' levels (sincvae.plan.ablations.Level as dicts); claims: factor -> its text;
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
    table["fragile"] = stats.fragile(same, resamples)
    return table.reindex(columns=VERDICT_COLUMNS)


def level_summary(scores: pd.DataFrame, levels: list[dict]) -> pd.DataFrame:
    """Mean and unadjusted 95% interval (over seeds and rows, on each metric's scale and back:
    its logarithm's for a log-scale metric, taken back) of each metric at each level of each sweep: a
    description of the levels for the figures, not a decision."""
    rows = []
    for dataset, by_dataset in scores.groupby("dataset", sort=False):
        for row in levels:
            for metric in stats.METRICS:
                mean, low, high = stats.case_mean(stats.level_table(by_dataset, row["case"], metric), metric)
                rows.append({"dataset": dataset, **row, "metric": metric, "mean": mean, "ci_low": low,
                             "ci_high": high})
    return pd.DataFrame(rows)
