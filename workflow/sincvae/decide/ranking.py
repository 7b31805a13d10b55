"""Which case is best per dataset, stage and scope: multiple comparisons with the best on a
per-row metric, each pair's interval calibrated by a studentized bootstrap of the study, and the
word each case earns against the best set and the margin (RANK_WORDS). Each comparison is
stats.difference; docs/statistics.md derives the words."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sincvae.decide import stats
from sincvae.decide.bootstrap import critical_values

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
    compared = {(i, j): stats.difference(tables[i], tables[j], metric) for n, i in enumerate(cases) for j in cases[n + 1:]}
    dfs = np.array([e.df for e in compared.values()], dtype=float)
    student = stats.t_quantile(level, dfs)
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
            and (stats.SCALES[metric] != "log" or table.mean() > 0)]


def _words(tables: dict[str, np.ndarray], metric: str, alpha: float, margin: float,
           critical: dict[str, float] | None = None) -> tuple[dict, list[str]]:
    """_gaps of the cases that can be ranked (a lone case: the best), and each case's word: its
    rank_word, or undecided (RANK_WORDS)."""
    chosen = _ranked(tables, metric)
    ranked = {case: tables[case] for case in chosen}
    gaps = _gaps(ranked, metric, alpha, critical) if len(ranked) > 1 else {c: (0.0, -math.inf, 0.0, math.nan, True)
                                                                             for c in ranked}
    delta = stats.margin_on_scale(margin, metric)
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
    log = stats.SCALES[metric] == "log"
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
    back = np.exp if stats.SCALES[metric] == "log" else (lambda v: v)
    rows = []
    gaps, words = _words(tables, metric, alpha, margin, critical)
    for (case, table), word in zip(tables.items(), words):
        mean, low, high = stats.case_mean(table, metric)
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
    ranked["fragile"] = stats.fragile(same, resamples)
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
        tables = {case: stats.level_table(part, case, metric) for case in part["case"].unique()}
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
