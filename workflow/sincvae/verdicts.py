"""The seed's claims ("Results" section) tested against the comparison table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd


@dataclass(frozen=True)
class Claim:
    name: str
    text: str
    holds: Callable[[pd.Series], bool]  # does a case satisfy the claim's condition?
    deciding_run: str  # what run would settle it where ours cannot


CLAIMS = (
    Claim("latent", "latent_dim > 100 is best", lambda c: c["latent_dim"] > 100,
          "the final setting with latent_dim 60, 85, 110 and 150 and nothing else changed"),
    Claim("beta", "beta > 1 is best", lambda c: c["beta"] > 1,
          "the final setting with beta 0.5, 0.8, 1.1 and 1.5 and nothing else changed"),
    Claim("wx", "0.5 < wx < 0.7 is best", lambda c: 0.5 < c["wx"] < 0.7,
          "the final setting with wx 0.3, 0.5, 0.6, 0.8 and 1 and nothing else changed"),
    Claim("wy", "0.5 < wy < 0.65 is best", lambda c: 0.5 < c["wy"] < 0.65,
          "the final setting with wy 0, 0.3, 0.6, 0.8 and 1 and nothing else changed"),
    Claim("epochs", "at least 25 epochs are needed", lambda c: c["epochs"] >= 25,
          "the final setting at 10, 25 and 50 epochs (config/paper.yaml trains 25)"),
    Claim("loss", "L1-mean is the best loss (the seed's final choice)", lambda c: c["loss"] == "l1_mean",
          "the final setting with each of the three losses and nothing else changed"),
)


def judge(table: pd.DataFrame, claim: Claim, metric: str, lower_is_better: bool = True) -> dict:
    """Best case meeting the claim's condition against the best case outside it, on one metric.

    supported / contradicted when the two best cases' 95% intervals do not overlap;
    inconclusive when they overlap or one side has no case.
    """
    cases = table[table["method"] == "cvae"]
    inside = cases[cases.apply(claim.holds, axis=1)]
    outside = cases[~cases.index.isin(inside.index)]
    result = {"claim": claim.text, "metric": metric, "dataset": table["dataset"].iloc[0]}
    if "variant" in cases:
        result["variant"] = ", ".join(sorted(cases["variant"].unique()))
    if inside.empty or outside.empty:
        side = "meets" if outside.empty else "fails"
        return {**result, "verdict": "inconclusive",
                "evidence": f"every case {side} the condition", "deciding_run": claim.deciding_run}
    pick = (lambda f: f.loc[f[metric].idxmin()]) if lower_is_better else (lambda f: f.loc[f[metric].idxmax()])
    best_in, best_out = pick(inside), pick(outside)
    overlap = (best_in[f"{metric}_ci_low"] <= best_out[f"{metric}_ci_high"]
               and best_out[f"{metric}_ci_low"] <= best_in[f"{metric}_ci_high"])
    in_better = (best_in[metric] < best_out[metric]) == lower_is_better
    verdict = "inconclusive" if overlap else ("supported" if in_better else "contradicted")
    evidence = (f"best meeting it: {best_in['case']} {_interval(best_in, metric)}; "
                f"best otherwise: {best_out['case']} {_interval(best_out, metric)}")
    return {**result, "verdict": verdict, "evidence": evidence,
            "deciding_run": claim.deciding_run if verdict == "inconclusive" else ""}


def _interval(row: pd.Series, metric: str) -> str:
    return f"{row[metric]:.3g} [{row[f'{metric}_ci_low']:.3g}, {row[f'{metric}_ci_high']:.3g}]"


def verdicts(comparison: pd.DataFrame, metric: str = "scoring_residual_l1_mean") -> pd.DataFrame:
    """One row per claim, dataset and model variant: a claim about settings is judged among
    cases of one variant, so the variant's own effect cannot decide it."""
    cases = comparison[comparison["method"] == "cvae"]
    return pd.DataFrame([judge(group.reset_index(drop=True), claim, metric)
                         for _, group in cases.groupby(["dataset", "variant"]) for claim in CLAIMS])


def contrasts(comparison: pd.DataFrame, column: str, metrics: tuple[str, ...], settings: tuple[str, ...]) -> pd.DataFrame:
    """Pairs of cases of one dataset that differ in `column` and in no other of `settings`.

    One row per pair and metric: both cases, their values of `column`, and each metric's mean
    and 95% interval, with whether the intervals overlap.
    """
    cases = comparison[comparison["method"] == "cvae"]
    others = [s for s in settings if s != column]
    rows = []
    for _, group in cases.groupby(["dataset", *others], dropna=False):
        group = group.sort_values(column)
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                a, b = group.iloc[i], group.iloc[j]
                for metric in metrics:
                    overlap = a[f"{metric}_ci_low"] <= b[f"{metric}_ci_high"] and b[f"{metric}_ci_low"] <= a[f"{metric}_ci_high"]
                    rows.append({"dataset": a["dataset"], "metric": metric,
                                 "case A": a["case"], f"{column} A": a[column], "A": _interval(a, metric),
                                 "case B": b["case"], f"{column} B": b[column], "B": _interval(b, metric),
                                 "intervals overlap": bool(overlap)})
    return pd.DataFrame(rows)
