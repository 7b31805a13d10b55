"""A case's numbers over its seeds, and the comparison's rows: each seed's metrics and timings
as rows (seed_rows, timing_rows), aggregated with intervals that keep to what each column can
be (aggregate_seeds, case_summary: a case's metrics.json), and a case's row of comparison.csv.
The score jobs write with it, the compare job reads with it; the report only renders."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sincvae.learn import registry
from sincvae.score.metric_table import SHARE, SIZE, kind_of
from sincvae.plan.cases import applicable
from sincvae.decide.stats import Estimate, interval, log_interval


def hyperparameters() -> list[str]:
    """The table's setting columns: every registered method's own settings, then the training's."""
    own = [k for name in registry.METHODS for k in registry.settings_of(name)]
    return list(dict.fromkeys([*own, *registry.TRAINING]))


def _flat_metrics(splits: dict) -> dict:
    """{split: {metric: value}} -> {"split_metric": value} for the numeric metrics."""
    return {f"{split}_{k}": v for split, summary in splits.items()
            for k, v in summary.items() if not isinstance(v, dict)}


def seed_rows(metrics: dict, case: dict, history: pd.DataFrame | None) -> list[dict]:
    """One evaluated seed -> a row per stage: ids, hyperparameters, final losses (learned
    methods only) and every metric."""
    final = {} if history is None else {
        f"final_{k}": float(history.iloc[-1][k]) for k in history.columns if k.startswith(("train_", "val_"))}
    if history is not None and "lines_seen" in history:  # distinct training lines (train.online)
        final["lines_seen"] = int(history.iloc[-1]["lines_seen"])
    own = applicable(case["method"]) if case["method"] in registry.METHODS else ()  # none: external samples
    return [{"dataset": metrics["dataset"], "case": metrics["case"], "method": metrics["method"],
             "stage": stage, "seed": case["seed"],
             **{k: case[k] if k in own else None for k in hyperparameters()},
             **final, **_flat_metrics(splits)}
            for stage, splits in metrics["stages"].items()]


def timing_rows(timing: dict) -> list[dict]:
    """One evaluated seed's timing.json -> a row per stage: training seconds and the wall time
    per returned line (ms), over both evaluated splits. A refined line's time includes drawing
    and refining all its oversampled candidates; the refined row also has each split's share of
    converged candidates."""
    splits = [v for v in timing.values() if isinstance(v, dict)]
    generate_s = sum(s["generate_s"] for s in splits)
    candidates = sum(s["rows"] * s["candidates"] for s in splits)
    lines = sum(s["rows"] * s["samples"] for s in splits)
    ids = {"dataset": timing["dataset"], "case": timing["case"], "seed": timing["seed"], "train_s": timing["train_s"]}
    rows = [{**ids, "stage": "raw", "ms_per_sample": 1000 * generate_s / candidates}]
    if any(s["refine_s"] for s in splits):
        refine_s = sum(s["refine_s"] for s in splits)
        converged = {f"{split}_converged_share": s["converged_share"] for split, s in timing.items()
                     if isinstance(s, dict)}
        rows.append({**ids, "stage": "refined", "ms_per_sample": 1000 * (generate_s + refine_s) / lines, **converged})
    return rows


def knows(method: str) -> str:
    """What a row's method knows of the map (methods/contract.py KNOWS): the exact enumerator
    solves its equations; samples read from a file say nothing of how they were made."""
    if method in registry.METHODS:
        return registry.method(method).knows
    return {"exact": "formula"}.get(method, "unknown")


def exact_row(metrics: dict) -> dict:
    return {"dataset": metrics["dataset"], "case": "exact", "method": "exact", "stage": "raw",
            **_flat_metrics(metrics["stages"]["raw"])}


def column_kind(column: str) -> str:
    """What a comparison column holds: "share" (in [0, 1]), "size" (above zero, compared as a
    ratio) or "value" (anything else: counts, losses, settings), from its metric's kind
    (metric_table.kind_of)."""
    kind = kind_of(column)
    return kind if kind in (SHARE, SIZE) else "value"


def mean_interval(values, kind: str = "value") -> tuple[float, float, float]:
    """Mean and 95% Student-t interval over seeds, kept inside what the column can be
    (column_kind): a size's on the log scale (stats.log_interval), a share's cut to [0, 1].
    The interval is NaN for a single seed."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    e = Estimate(mean, float(values.std(ddof=1) / np.sqrt(len(values))), len(values) - 1)
    if kind == "size":
        return mean, *log_interval(e)
    low, high = interval(e)
    return (mean, max(low, 0.0), min(high, 1.0)) if kind == "share" else (mean, low, high)


def aggregate_seeds(rows: list[dict]) -> dict:
    """Seed rows of one case -> mean and 95% interval of every numeric column that varies by seed."""
    frame = pd.DataFrame(rows)
    ids = {k: rows[0].get(k) for k in ("dataset", "case", "method", "stage", *hyperparameters())}
    numeric = [c for c in frame.select_dtypes("number").columns if c not in (*hyperparameters(), "seed")]
    summary = {}
    for column in numeric:
        mean, low, high = mean_interval(frame[column], column_kind(column))
        summary[column] = {"mean": mean, "ci_low": low, "ci_high": high}
    return {**ids, "seeds": frame["seed"].tolist(), "summary": summary, "per_seed": rows}


def case_summary(case: dict, seeds: list[int], seed_metrics: list[dict],
                 histories: list[pd.DataFrame | None]) -> dict:
    """A case's metrics.json: each seed's metrics.json dict and training history (None for
    training-free methods), in the order of `seeds` -> every stage aggregated over seeds."""
    stages: dict[str, list[dict]] = {}
    for seed, metrics, history in zip(seeds, seed_metrics, histories, strict=True):
        for row in seed_rows(metrics, {**case, "seed": seed}, history):
            stages.setdefault(row["stage"], []).append(row)
    first = seed_metrics[0]
    return {"dataset": first["dataset"], "case": first["case"], "method": first["method"],
            "stages": {stage: aggregate_seeds(rows) for stage, rows in stages.items()}}


def comparison_row(aggregated: dict) -> dict:
    """A case's row of comparison.csv: each metric's mean, then its interval as _ci_low/_ci_high."""
    row = {k: v for k, v in aggregated.items() if k not in ("summary", "per_seed", "seeds")}
    row["seeds"] = len(aggregated["seeds"])
    for column, values in aggregated["summary"].items():
        row[column] = values["mean"]
        row[f"{column}_ci_low"] = values["ci_low"]
        row[f"{column}_ci_high"] = values["ci_high"]
    return row
