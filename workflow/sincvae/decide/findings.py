"""What the run found, as numbers and outcomes; the words are in templates/findings.j2.

Every finding is computed from this run's comparison.csv and verdicts.csv: nothing here or in
the templates states a result of its own.
"""

from __future__ import annotations

import math

import pandas as pd

from sincvae.learn import registry
from sincvae.score.metric_table import shown
from sincvae.decide.ranking import RANK_WORDS

def key_metrics() -> dict[str, str]:
    """comparison.csv columns of the findings and the report's table -> their headings: the
    metrics metric_table.METRICS shows in the Findings, on the scoring split."""
    return {f"scoring_{name}": heading for name, heading in shown("findings").items()}


def _interval(row: pd.Series, column: str) -> dict:
    return {"mean": row[column], "low": row.get(f"{column}_ci_low", math.nan),
            "high": row.get(f"{column}_ci_high", math.nan)}


def reference_lines(comparison: pd.DataFrame, reference_case: str) -> list[dict]:
    """Per dataset: does the original study's CVAE at its recommended setting generate solutions? Its own
    (raw) lines' scores (key_metrics)."""
    rows = []
    for dataset, table in comparison.groupby("dataset", sort=False):
        own = table[(table["case"] == reference_case) & (table["stage"] == "raw")]
        if own.empty:
            continue
        own = own.iloc[0]
        rows.append({"dataset": dataset, "case": reference_case, "seeds": int(own["seeds"]),
                     **{heading: _interval(own, c) for c, heading in key_metrics().items()}})
    return rows


OUTCOMES = ("holds", "fails", "equivalent", "differs by dataset", "inconclusive", "undecided")
PLURAL = {"holds": "hold", "fails": "fail", "differs by dataset": "differ by dataset"}


def claim_outcome(decisions: list[str]) -> str:
    """A claim across the datasets and variants it was tested on, from its primary metric's
    decisions: holds, fails or equivalent only where every tested one agrees; inconclusive
    where none decided; undecided where none could be tested; else it differs by dataset (the
    Findings then give each dataset's decision)."""
    tested = [d for d in decisions if d != "undecided"]
    if not tested:
        return "undecided"
    for decision, outcome in (("supported", "holds"), ("contradicted", "fails"), ("equivalent", "equivalent"),
                              ("inconclusive", "inconclusive")):
        if all(d == decision for d in tested):
            return outcome
    return "differs by dataset"


def _test(row: pd.Series) -> dict:
    """One test as the Findings say it: on a log scale its effect, interval, bound and MDEs as
    ratios (the outside level's mean over the recommended level's)."""
    back = math.exp if row["scale"] == "log" else (lambda v: v)
    return {"dataset": row["dataset"], "variant": row["variant"], "metric": row["metric"], "ratio": row["scale"] == "log",
            "decision": row["decision"], "effect": back(row["effect"]), "low": back(row["ci_low"]),
            "high": back(row["ci_high"]), "bound": back(row["bound"]), "margin": row["margin"],
            "p_adjusted": row["p_adjusted"], "mde_support": back(row["mde_support"]),
            "mde_contradict": back(row["mde_contradict"]), "best_outside": row["best_outside"],
            "reference_level": row["reference_level"], "reason": row["reason"],
            "stability": row["stability"], "fragile": bool(row["fragile"])}


def claim_lines(verdicts: pd.DataFrame) -> list[dict]:
    """One line per claim: its outcome from the primary metric's decisions, each of them per
    dataset × variant with effect, family interval and MDEs, and the secondary metrics' decided
    tests, reported beside it."""
    claims = []
    for claim, table in verdicts.groupby("claim", sort=False):
        primary = table[table["role"] == "primary"]
        beside = table[(table["role"] == "secondary") & table["decision"].isin(["supported", "contradicted"])]
        claims.append({
            "claim": claim, "factor": table["factor"].iloc[0], "metric": primary["metric"].iloc[0],
            "outcome": claim_outcome(primary["decision"].tolist()),
            "primary": [_test(r) for _, r in primary.iterrows()],
            "beside": [_test(r) for _, r in beside.iterrows()],
            "secondary_tests": int((table["role"] == "secondary").sum()),
        })
    return claims


def best_methods(comparison: pd.DataFrame, ranking: pd.DataFrame, labels: dict[str, str] | None = None) -> list[dict]:
    """Per dataset, stage and scope (all cases, or the cases of one class of what they know of
    the map), from multiple comparisons with the best (ranking.ranking): the leader (best mean)
    with its coverage, precision, distance and cost, the best set (the cases that may be the
    best) and the cases of each word, by their short labels (cases.case_labels; else ids)."""
    label = (labels or {}).get
    rows = []
    for (dataset, stage, scope), ranked in ranking.groupby(["dataset", "stage", "scope"], sort=False):
        if ranked["gap"].isna().all():
            continue  # every case undecided: no leader to name
        leader = ranked.loc[ranked["gap"].idxmin()]
        found = comparison[(comparison["dataset"] == dataset) & (comparison["stage"] == stage)
                           & (comparison["case"] == leader["case"])]
        if found.empty:
            continue
        best = found.iloc[0]
        best_set = ranked[ranked["in_best_set"].astype(bool)]
        words = {word: [label(c, c) for c in ranked.loc[ranked["word"] == word, "case"]] for word in RANK_WORDS}
        separated = ranked.loc[ranked["word"] == "not separated", "gap_high"]
        rows.append({"dataset": dataset, "stage": stage, "scope": scope, "case": leader["case"],
                     "label": label(leader["case"], leader["case"]), "method": best["method"],
                     "leader_fragile": bool(leader["fragile"]), "leader_stability": leader["stability"],
                     "seeds": int(best["seeds"]),
                     "train_s": best.get("train_s", math.nan), "ms_per_sample": best.get("ms_per_sample", math.nan),
                     "metric": ranked["metric"].iloc[0], "margin": ranked["margin"].iloc[0],
                     "best_set": [label(c, c) for c in best_set["case"]], "words": words,
                     "widest_gap": separated.max() if len(separated) else math.nan,
                     "fragile": [label(c, c) for c in ranked.loc[ranked["fragile"].astype(bool), "case"]],
                     "comparisons": int(ranked["comparisons"].iloc[0]),
                     **{heading: _interval(best, c) for c, heading in key_metrics().items()}})
    return rows


def method_lines(comparison: pd.DataFrame, reference_case: str) -> list[dict]:
    """Per dataset: each method's own (raw) lines, one row per case of a method other than the
    original study's CVAE and the original study's CVAE at its recommended setting, with their costs; the exact row
    last, as the bound."""
    rows = []
    for dataset, table in comparison.groupby("dataset", sort=False):
        raw = table[(table["stage"] == "raw") & ((table["method"] != "cvae") | (table["case"] == reference_case))]
        order = raw["method"].eq("exact").to_numpy().argsort(kind="stable")
        for _, row in raw.iloc[order].iterrows():
            rows.append({"dataset": dataset, "case": row["case"], "method": row["method"],
                         "seeds": row["seeds"], "train_s": row.get("train_s", math.nan),  # exact: NaN
                         "lines_seen": row.get("lines_seen", math.nan),
                         "ms_per_sample": row.get("ms_per_sample", math.nan),
                         **{heading: _interval(row, c) for c, heading in key_metrics().items()}})
    return rows


def calibration_lines(comparison: pd.DataFrame, reference_case: str, labels: dict[str, str] | None = None) -> list[dict]:
    """Per dataset, from the raw lines' calibration against the exact posterior (scoring split,
    metric_table `coverage_gap` and `calibration`): the learned case of the lowest mean coverage
    gap among those with two seeds or more, a description and no test; and the original study's
    CVAE called overconfident only where its calibration's interval over seeds lies below 0,
    underconfident only where it lies above."""
    if "scoring_coverage_gap" not in comparison:
        return []
    label = (labels or {}).get
    learned = comparison["method"].isin(registry.learned())
    rows = []
    for dataset, table in comparison[learned & (comparison["stage"] == "raw")].groupby("dataset", sort=False):
        candidates = table[(table["seeds"] >= 2) & table["scoring_coverage_gap"].notna()]
        if candidates.empty:
            continue
        best = candidates.loc[candidates["scoring_coverage_gap"].idxmin()]
        own = table[table["case"] == reference_case]
        word = None
        if not own.empty and "scoring_calibration_ci_high" in own:
            low, high = own.iloc[0]["scoring_calibration_ci_low"], own.iloc[0]["scoring_calibration_ci_high"]
            word = "overconfident" if high < 0 else "underconfident" if low > 0 else "neither shown over- nor underconfident"
        rows.append({"dataset": dataset, "case": best["case"], "label": label(best["case"], best["case"]),
                     "gap": best["scoring_coverage_gap"], "seeds": int(best["seeds"]), "reference": word})
    return rows


def findings(comparison: pd.DataFrame, verdicts: pd.DataFrame | None, ranking: pd.DataFrame, reference_case: str,
             original_y_loss: float | None, labels: dict[str, str] | None = None) -> dict:
    """Everything the Findings section says, as data for the templates; cases named by
    `labels` (cases.case_labels) in sentences."""
    claims = [] if verdicts is None else claim_lines(verdicts)
    outcomes = {o: sum(c["outcome"] == o for c in claims) for o in OUTCOMES}
    tested = {} if verdicts is None else {key: sorted(verdicts[key].unique()) for key in ("dataset", "variant")}
    per_dataset = {} if verdicts is None else {
        dataset: {"decisions": [f"{n} {d}" for d, n in part["decision"].value_counts().items()],
                  "fragile": int(part["fragile"].astype(bool).sum())}
        for dataset, part in verdicts[verdicts["role"] == "primary"].groupby("dataset", sort=False)}
    return {"reference": reference_lines(comparison, reference_case), "claims": claims, "claims_over": tested,
            "claims_per_dataset": per_dataset,
            "outcomes": [f"{n} {o if n == 1 else PLURAL.get(o, o)}" for o, n in outcomes.items() if n],
            "best": best_methods(comparison, ranking, labels),
            "methods": method_lines(comparison, reference_case),
            "calibration": calibration_lines(comparison, reference_case, labels),
            "shown": list(key_metrics().values()), "original_y_loss": original_y_loss}
