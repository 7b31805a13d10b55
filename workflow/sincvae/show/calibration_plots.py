"""The calibration figures (score/diagnostics.py): each method's best case's expected coverage
against the credibility level, its end points' rank histograms, R_T against the budget T, and
accuracy against time. A method's best case is its raw case of the lowest mean distance on the
scoring split (best_cases); the ideal sampler (`posterior`) is drawn in black."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from sincvae.score.diagnostics import BUDGETS, END_POINTS, LEVELS, RANK_BINS, coverage_curve  # noqa: E402

IDEAL = "posterior"


def best_cases(comparison: pd.DataFrame) -> dict[str, dict[str, str]]:
    """dataset -> method -> its raw case of the lowest mean scoring distance (the exact row and
    samples read from files left out)."""
    raw = comparison[(comparison["stage"] == "raw") & ~comparison["method"].isin(["exact", "external"])]
    raw = raw.dropna(subset=["scoring_distance"])
    return {dataset: {method: part.sort_values("scoring_distance", kind="stable").iloc[0]["case"]
                      for method, part in table.groupby("method", sort=True)}
            for dataset, table in raw.groupby("dataset", sort=False)}


def _colours(methods) -> dict[str, tuple]:
    others = [m for m in methods if m != IDEAL]
    palette = "colorblind" if len(others) <= 10 else "tab20"  # a colour of its own for each method
    return {**dict(zip(others, sns.color_palette(palette, len(others)))), IDEAL: (0.0, 0.0, 0.0)}


def _scored(rows: pd.DataFrame, dataset: str, case: str) -> pd.DataFrame:
    return rows[(rows["dataset"] == dataset) & (rows["case"] == case) & (rows["split"] == "scoring")
                & (rows["stage"] == "raw")]


def _row(comparison: pd.DataFrame, dataset: str, case: str, stage: str) -> pd.Series | None:
    """A case's comparison row of one stage, or None where it has none (a method without refinement)."""
    found = comparison[(comparison["dataset"] == dataset) & (comparison["case"] == case) & (comparison["stage"] == stage)]
    return None if found.empty else found.iloc[0]


def coverage_curves(rows: pd.DataFrame, cases: dict[str, dict[str, str]]):
    """Per dataset: each method's best case's share of scoring rows whose true solution lies in
    its credible set at each level, over its seeds' rows; on the diagonal a calibrated method,
    below it an overconfident one."""
    fig, axes = plt.subplots(1, len(cases), figsize=(5.2 * len(cases), 4.6), squeeze=False)
    colours = _colours(sorted({m for by in cases.values() for m in by}))
    for ax, (dataset, by_method) in zip(axes[0], cases.items()):
        ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=0.8)
        for method, case in by_method.items():
            curve = coverage_curve(_scored(rows, dataset, case)["pit"])
            ax.plot(LEVELS, curve, marker=".", color=colours[method], lw=2.2 if method == IDEAL else 1.2, label=method)
        ax.set(title=dataset, xlabel="credibility level", ylabel="expected coverage (scoring rows)", xlim=(0, 1),
               ylim=(0, 1))
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), title="method (best case, raw)", fontsize=8)
    fig.tight_layout()
    return fig


def rank_histograms(rows: pd.DataFrame, cases: dict[str, dict[str, str]]):
    """Per method (rows) and dataset (columns): the histograms of the true end points' ranks
    among the best case's lines, one step line per coordinate, against the uniform count."""
    methods = sorted({m for by in cases.values() for m in by})
    fig, axes = plt.subplots(len(methods), len(cases), figsize=(3.4 * len(cases), 1.6 * len(methods)),
                             squeeze=False, sharex=True)
    edges = np.linspace(0, 1, RANK_BINS + 1)
    for j, (dataset, by_method) in enumerate(cases.items()):
        for i, method in enumerate(methods):
            ax = axes[i, j]
            scored = _scored(rows, dataset, by_method[method]) if method in by_method else pd.DataFrame()
            for name in END_POINTS:
                if f"rank_{name}" in scored:
                    ax.stairs(np.histogram(scored[f"rank_{name}"].dropna(), bins=edges)[0], edges, label=name)
            if len(scored):
                ax.axhline(len(scored) / RANK_BINS, color="grey", ls="--", lw=0.8)
            ax.set_ylabel(method, fontsize=8)
            ax.tick_params(labelsize=7)
        axes[0, j].set_title(dataset)
        axes[-1, j].set_xlabel("rank of the true end point (0: below every line)")
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=7)
    fig.tight_layout()
    return fig


def best_of_budget(comparison: pd.DataFrame, cases: dict[str, dict[str, str]]):
    """Per dataset: R_T, the mean best forward RMSE among each y's first T lines, against T, for
    each method's best case, raw (solid) and refined (dashed), with its 95% interval over seeds."""
    fig, axes = plt.subplots(1, len(cases), figsize=(5.2 * len(cases), 4.6), squeeze=False)
    colours = _colours(sorted({m for by in cases.values() for m in by}))
    for ax, (dataset, by_method) in zip(axes[0], cases.items()):
        for method, case in by_method.items():
            for stage, style in (("raw", "-"), ("refined", "--")):
                row = _row(comparison, dataset, case, stage)
                if row is None:
                    continue
                mean = np.array([row.get(f"scoring_r_at_{t}", np.nan) for t in BUDGETS], dtype=float)
                low = np.array([row.get(f"scoring_r_at_{t}_ci_low", np.nan) for t in BUDGETS], dtype=float)
                high = np.array([row.get(f"scoring_r_at_{t}_ci_high", np.nan) for t in BUDGETS], dtype=float)
                # a size's interval is the log scale's around the mean (summary.mean_interval); kept to its side
                error = np.clip(np.nan_to_num([mean - low, high - mean]), 0, None)
                ax.errorbar(BUDGETS, mean, yerr=error, ls=style, marker=".",
                            color=colours[method], capsize=2, label=method if stage == "raw" else None)
        ax.set(xscale="log", yscale="log", title=dataset, xlabel="lines drawn per y, T (log scale)",
               ylabel="R_T: best forward RMSE among T lines")
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), title="raw —, refined --", fontsize=8)
    fig.tight_layout()
    return fig


def accuracy_for_time(comparison: pd.DataFrame, ranking: pd.DataFrame, cases: dict[str, dict[str, str]]):
    """Per dataset: each method's best case at its mean distance against the milliseconds per
    line, raw (circle) and refined (square); filled where the case is in its stage's best set
    (ranking.csv, all cases), hollow where it is not."""
    fig, axes = plt.subplots(1, len(cases), figsize=(5.2 * len(cases), 4.6), squeeze=False)
    colours = _colours(sorted({m for by in cases.values() for m in by}))
    best = ranking[(ranking["scope"] == "all") & ranking["in_best_set"].astype(bool)]
    in_best = set(zip(best["dataset"], best["case"], best["stage"]))
    for ax, (dataset, by_method) in zip(axes[0], cases.items()):
        for method, case in by_method.items():
            for stage, marker in (("raw", "o"), ("refined", "s")):
                row = _row(comparison, dataset, case, stage)
                if row is None or not np.isfinite(row.get("ms_per_sample", np.nan)):
                    continue
                filled = (dataset, case, stage) in in_best
                ax.plot(row["ms_per_sample"], row["scoring_distance"], marker=marker, ls="", ms=7,
                        color=colours[method], mfc=colours[method] if filled else "none",
                        label=method if stage == "raw" else None)
        ax.set(xscale="log", yscale="log", title=dataset, xlabel="ms per line, refinement included (log scale)",
               ylabel="distance to the exact posterior (log scale)")
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5),
                       title="o raw, □ refined; filled: best set", fontsize=8)
    fig.tight_layout()
    return fig
