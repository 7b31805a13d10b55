"""What the run found, as numbers and outcomes; the words are in templates/findings.j2.

Every finding is computed from this run's comparison.csv and verdicts.csv: nothing here or in
the templates states a result of its own.
"""

from __future__ import annotations

import math

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .registry import references

STAGES = ("raw", "refined")
PRIMARY = "mmd"  # the claims' headline metric: distance of the generated lines to the exact posterior
# comparison.csv columns of the findings and the report's table: column -> (heading, lower is better)
KEY_METRICS = {
    "scoring_coverage": ("coverage", False),
    "scoring_precision": ("precision", False),
    "scoring_mmd": ("MMD", True),
    "scoring_residual_l1_mean": ("mean residual", True),
}


def _interval(row: pd.Series, column: str) -> dict:
    return {"mean": row[column], "low": row.get(f"{column}_ci_low", math.nan),
            "high": row.get(f"{column}_ci_high", math.nan)}


def reference_lines(comparison: pd.DataFrame, reference_case: str) -> list[dict]:
    """Per dataset: does the seed's CVAE at its recommended setting generate solutions? Its own
    (raw) lines' coverage, precision, MMD and mean residual, with the exact enumerator's MMD."""
    rows = []
    for dataset, table in comparison.groupby("dataset", sort=False):
        own = table[(table["case"] == reference_case) & (table["stage"] == "raw")]
        if own.empty:
            continue
        own = own.iloc[0]
        rows.append({"dataset": dataset, "case": reference_case, "seeds": int(own["seeds"]),
                     **{KEY_METRICS[c][0]: _interval(own, c) for c in KEY_METRICS}})
    return rows


OUTCOMES = ("holds", "fails", "mixed", "not shown", "undecided")


def claim_outcome(decisions: list[str]) -> str:
    """A claim across datasets, variants and metrics: holds, fails, mixed, not shown or undecided."""
    supported, contradicted = "supported" in decisions, "contradicted" in decisions
    if supported and contradicted:
        return "mixed"
    if supported:
        return "holds"
    if contradicted:
        return "fails"
    return "undecided" if all(d == "undecided" for d in decisions) else "not shown"


def claim_lines(verdicts: pd.DataFrame) -> list[dict]:
    """One line per claim: its outcome over every test, the primary metric's decision per
    dataset × variant with effect and interval, and the count of each decision."""
    claims = []
    for claim, table in verdicts.groupby("claim", sort=False):
        primary = table[table["metric"] == PRIMARY]
        decided = table[table["decision"].isin(["supported", "contradicted"])]
        claims.append({
            "decided": [{"dataset": r["dataset"], "variant": r["variant"], "metric": r["metric"],
                         "decision": r["decision"], "effect": r["effect"], "low": r["ci_low"], "high": r["ci_high"],
                         "p_adjusted": r["p_adjusted"]} for _, r in decided.iterrows()],
            "claim": claim, "factor": table["factor"].iloc[0], "outcome": claim_outcome(table["decision"].tolist()),
            "tests": len(table), "counts": table["decision"].value_counts().to_dict(),
            "primary": [{"dataset": r["dataset"], "variant": r["variant"], "decision": r["decision"],
                         "effect": r["effect"], "low": r["ci_low"], "high": r["ci_high"], "mde": r["mde"],
                         "best_outside": r["best_outside"], "reference_level": r["reference_level"],
                         "reason": r["reason"]}
                        for _, r in primary.iterrows()],
        })
    return claims


def best_methods(comparison: pd.DataFrame) -> list[dict]:
    """Per dataset and stage: the case with the lowest MMD to the exact posterior, with its
    coverage, precision and cost (training seconds, milliseconds per returned line)."""
    rows = []
    for dataset, table in comparison.groupby("dataset", sort=False):
        for stage in STAGES:
            contenders = table[(table["stage"] == stage) & ~table["method"].isin(references())].dropna(
                subset=["scoring_mmd"])
            if contenders.empty:
                continue
            best = contenders.loc[contenders["scoring_mmd"].idxmin()]
            rows.append({"dataset": dataset, "stage": stage, "case": best["case"], "method": best["method"],
                         "seeds": int(best["seeds"]), "train_s": best.get("train_s", math.nan),
                         "ms_per_sample": best.get("ms_per_sample", math.nan),
                         **{KEY_METRICS[c][0]: _interval(best, c) for c in KEY_METRICS}})
    return rows


def method_lines(comparison: pd.DataFrame, reference_case: str) -> list[dict]:
    """Per dataset: each method's own (raw) lines, one row per case of a method other than the
    seed's CVAE and the seed's CVAE at its recommended setting, with their costs; the exact row
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
                         **{KEY_METRICS[c][0]: _interval(row, c) for c in KEY_METRICS}})
    return rows


def findings(comparison: pd.DataFrame, verdicts: pd.DataFrame | None, reference_case: str,
             seed_y_loss: float | None) -> dict:
    """Everything the Findings section says, as data for the templates."""
    claims = [] if verdicts is None else claim_lines(verdicts)
    outcomes = {o: sum(c["outcome"] == o for c in claims) for o in OUTCOMES}
    return {"reference": reference_lines(comparison, reference_case), "claims": claims,
            "outcomes": {o: n for o, n in outcomes.items() if n}, "best": best_methods(comparison),
            "methods": method_lines(comparison, reference_case),
            "seed_y_loss": seed_y_loss}


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value, digits: int = 3) -> str:
    """A number as the report writes it: `digits` significant digits, a dash for NaN; large
    values in full (303 s of training, not 3e+02)."""
    if _missing(value):
        return "—"
    if isinstance(value, str):
        return value
    text = f"{value:.{digits}g}"
    return f"{float(text):,.0f}" if "e+" in text else text


def count(value) -> str:
    """A whole number with thousands separators (10,000), a dash for NaN."""
    if _missing(value):
        return "—"
    return f"{value:,.0f}"


def with_interval(values: dict) -> str:
    """mean [low, high], or the mean alone when there is no interval."""
    if math.isnan(values["low"]):
        return number(values["mean"])
    return f"{number(values['mean'])} [{number(values['low'])}, {number(values['high'])}]"


def templates() -> Environment:
    """The report's templates (sincvae/templates), HTML autoescaped, with the number filters."""
    env = Environment(loader=PackageLoader("sincvae", "templates"), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html.j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = number
    env.filters["ci"] = with_interval
    env.filters["count"] = count
    return env


def render_markdown(found: dict, run: dict) -> str:
    """results/findings.md: the Findings section as Markdown, for the README to quote.
    run: what produced it (config hash, commit, seeds)."""
    return templates().get_template("findings.md.j2").render(found=found, run=run)
