"""The self-contained HTML report, rendered from the study's files (words in
templates/report.html.j2): its tables, figures and provenance. The numbers it shows are
computed upstream (sincvae.score.summary, sincvae.decide.findings)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import yaml

from sincvae.decide.findings import key_metrics
from sincvae.show.render import number, templates
from sincvae.learn import registry
from sincvae.plan.planning import STAGES
from sincvae.score.summary import column_kind, hyperparameters


def benchmark_summary(paths: list[str], plan: pd.DataFrame, reference_epoch_s: float) -> pd.DataFrame:
    """Snakemake benchmark TSVs (benchmarks/<rule>/...) -> one row per rule: jobs, CPU seconds,
    job seconds measured beside those planned (results/plan.csv: reference epochs over the
    job's threads × the reference epoch measured when planning), wall time, peak memory; largest CPU share first,
    and a `total` row over the rules measured."""
    frame = pd.concat([pd.read_csv(p, sep="\t").assign(rule=Path(p).parts[1].removesuffix(".tsv")) for p in paths])
    summary = frame.groupby("rule").agg(jobs=("s", "size"), cpu_s=("cpu_time", "sum"), total_s=("s", "sum"),
                                        mean_s=("s", "mean"), max_s=("s", "max"), peak_rss_mb=("max_rss", "max"))
    planned = (plan["ref"] / plan["threads"]).groupby(plan["rule"]).sum() * reference_epoch_s
    summary["planned_s"] = planned.reindex(summary.index)
    summary = summary.sort_values("cpu_s", ascending=False)
    summary["cpu_share"] = summary["cpu_s"] / summary["cpu_s"].sum()
    summary["measured_over_planned"] = summary["total_s"] / summary["planned_s"]
    total = pd.DataFrame([{"jobs": summary["jobs"].sum(), "cpu_s": summary["cpu_s"].sum(),
                           "total_s": summary["total_s"].sum(), "planned_s": summary["planned_s"].sum(),
                           "mean_s": frame["s"].mean(), "max_s": frame["s"].max(),
                           "peak_rss_mb": summary["peak_rss_mb"].max(), "cpu_share": 1.0}], index=["total"])
    total["measured_over_planned"] = total["total_s"] / total["planned_s"]
    return pd.concat([summary, total]).rename_axis("rule").reset_index()


def provenance(config: dict, source: str | Path) -> dict:
    """What produced the report: config hash, git commit of the workflow, package versions."""
    try:
        commit = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown (not a git checkout)"
    packages = ("torch", "numpy", "pandas", "scipy", "snakemake", "seaborn", "matplotlib")
    return {
        "config sha256": hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16],
        "git commit": commit,
        "python": platform.python_version(),
        **{p: version(p) for p in packages},
    }


def image(path: str | Path) -> str:
    """A PNG as a data URI, so the report is one file that fetches nothing."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def power_views(power: pd.DataFrame) -> dict:
    """results/power.csv as the report's two tables: the claims' detectable effects and the
    ranking's detectable gaps, each with the seeds it assumes."""
    columns = {"dataset": "dataset", "stage": "stage", "metric": "metric", "case": "case", "against": "against",
               "seeds_case": "seeds", "seeds_against": "its seeds", "df": "df", "detectable": "detectable ratio"}
    return {kind: table_view(part[list(columns)].rename(columns=columns).reset_index(drop=True))
            for kind, part in power.groupby("kind")}


def spread(mean: float, low: float, high: float, kind: str) -> str | None:
    """A cell's 95% interval in few characters: "×÷ f" for a size (its interval is mean ÷ f to
    mean × f, mean_interval), else "± h", the larger of its two half-widths (a share's interval
    may be cut at 0 or 1); None without an interval."""
    if pd.isna(low) or pd.isna(high):
        return None
    if kind == "size" and mean > 0:
        excess = high / mean - 1
        if excess <= 1e-9:
            return "×÷ 1"  # round-off is no spread
        # two significant digits of the excess over 1: ×÷ 1.0040, 1.30, 2.3, 14
        decimals = max(0, 1 - math.floor(math.log10(excess)))
        return f"×÷ {1 + excess:.{decimals}f}"
    half = max(high - mean, mean - low)
    return "± 0" if abs(half) <= 1e-9 * max(1.0, abs(mean)) else f"± {half:.2g}"


def table_view(frame: pd.DataFrame, marked: set[tuple[int, str]] = frozenset(),
               spreads: pd.DataFrame | None = None) -> dict:
    """A table as the template draws it: headings and rows of {text, cls} cells. marked: the
    (row index, column) cells drawn as best; spreads holds each cell's interval as text (spread)."""

    def cell(i, column, value):
        text = number(value) if isinstance(value, float) else str(value)
        if spreads is not None and column in spreads and isinstance(spreads.at[i, column], str):
            text += " " + spreads.at[i, column]
        cls = " ".join(c for c in ("best" if (i, column) in marked else "", "text" if isinstance(value, str) else "") if c)
        return {"text": text, "cls": cls}

    return {"head": [str(c) for c in frame.columns],
            "rows": [[cell(i, c, v) for c, v in row.items()] for i, row in frame.iterrows()]}


def comparison_view(comparison: pd.DataFrame, ranking: pd.DataFrame) -> tuple[dict, dict]:
    """The report's tables from comparison.csv: one row per dataset × case with each key metric's
    raw and refined values side by side with their 95% intervals over seeds (spread), and the
    settings apart. Marked: the ranked metric's cells of the cases in the best set (ranking.ranking:
    multiple comparisons with the best), not merely the best mean."""
    ids = ["dataset", "case", "method", "knows", "seeds"]
    wide = comparison.reindex(columns=ids).drop_duplicates(["dataset", "case"]).set_index(["dataset", "case"])
    spreads = pd.DataFrame(index=wide.index, dtype=object)
    shown = key_metrics()
    columns = [*(f"{c}|{stage}" for c in shown for stage in STAGES), "ms_per_sample|raw",
               "ms_per_sample|refined", "train_s|raw", "lines_seen|raw"]
    headings = {**{f"{c}|{stage}": f"{shown[c]} {stage}" for c in shown for stage in STAGES},
                "ms_per_sample|raw": "ms per line raw", "ms_per_sample|refined": "ms per line refined",
                "train_s|raw": "training s", "lines_seen|raw": "training lines"}
    for key in columns:
        column, stage = key.split("|")
        part = comparison[comparison["stage"] == stage].set_index(["dataset", "case"])
        wide[headings[key]] = part[column] if column in part else float("nan")
        if f"{column}_ci_high" in part:
            kind = column_kind(column)
            spreads[headings[key]] = pd.Series([spread(m, lo, hi, kind) for m, lo, hi in zip(
                part[column], part[f"{column}_ci_low"], part[f"{column}_ci_high"])], index=part.index, dtype=object)
    wide, spreads = wide.reset_index(), spreads.reindex(wide.index).reset_index(drop=True)
    position = {(d, c): i for i, (d, c) in enumerate(zip(wide["dataset"], wide["case"]))}
    best = ranking[ranking["in_best_set"].astype(bool) & (ranking["scope"] == "all")]
    marked = {(position[(d, c)], f"{shown.get(f'scoring_{m}', m)} {stage}")
              for d, c, m, stage in zip(best["dataset"], best["case"], best["metric"], best["stage"])
              if (d, c) in position}
    own = comparison[(comparison["stage"] == "raw") & (comparison["method"] != "exact")]
    settings = own.reindex(columns=["case", *hyperparameters()]).drop_duplicates("case")
    return table_view(wide, marked, spreads), table_view(settings.dropna(axis=1, how="all"))


# The comparison's rows that are not registered methods
NOT_METHODS = {"exact": "The enumerator's exact solutions of each y: the limit.",
               "external": "Lines read from a samples file (README: Scoring your own samples)."}


def methods_view(comparison: pd.DataFrame) -> list[dict]:
    """What each method in the comparison is, in its table order, in the words of its module."""
    return [{"method": name,
             "about": registry.summary(name) if name in registry.METHODS else NOT_METHODS.get(name, "")}
            for name in comparison["method"].drop_duplicates()]


def render_report(**parts) -> str:
    """The whole report as one HTML string, from templates/report.html.j2; see
    workflow/scripts/report.py for the parts."""
    return templates().get_template("report.html.j2").render(**parts)


def run_facts(config: dict, origin: dict, verdicts: pd.DataFrame | None) -> dict:
    """The run's settings that the Findings' and the report's words quote."""
    ablations = config.get("ablations") or {}
    return {"config_sha256": origin["config sha256"], "commit": origin["git commit"][:12],
            "reference_case": config["reference_case"], "samples": config["evaluate"]["samples"],
            "match_tolerance": config["evaluate"]["match_tolerance"], "refine": config["evaluate"]["refine"],
            "scoring_rows": config["data"]["rows"]["scoring"], "train_rows": config["data"]["rows"]["train"],
            "epochs": config["train"]["epochs"], "ablation_seeds": ablations.get("seeds"),
            "alpha": ablations.get("alpha"), "tuning": config.get("tuning"),
            "tests": 0 if verdicts is None else int(verdicts.loc[verdicts["role"] == "primary", "p"].notna().sum()),
            "ranking": config["ranking"]}


def tuning_view(dataset: str, files: dict) -> dict:
    """One dataset's search: best setting against the original study's ranges, trial counts, figure, grid."""
    best = yaml.safe_load(Path(files["best"]).read_text())
    setting = pd.DataFrame([
        {"setting": k, "tuned": v,
         "in the original study's range": {True: "yes", False: "no", None: "—"}[best["in_original_ranges"].get(k)],
         "importance": best["importances"].get(k, float("nan"))} for k, v in best["setting"].items()])
    return {"dataset": dataset, "value": best["value"], "setting": table_view(setting),
            "trials": ", ".join(f"{n} {state.lower()}" for state, n in best["trials"].items()),
            "history": image(files["history"]), "grid": table_view(pd.read_csv(files["grid"]))}
