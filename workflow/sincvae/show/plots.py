"""Figures, one seaborn style throughout. Functions take data frames/arrays and return figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from sincvae.score.metric_table import METRICS  # noqa: E402

sns.set_theme(style="whitegrid", context="notebook")
LOSS_PARTS = ("loss", "kl", "x_loss", "y_loss", "nll")  # the CVAE's parts, then the flow's


def save_figure(fig, path) -> None:
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def loss_curves(history: pd.DataFrame, hue: str = "case"):
    """history: training histories with a `hue` column (case or seed) -> one panel per loss part,
    a colour per `hue` value, solid for train and dashed for validation.

    CVAE parts on a log scale; a flow's loss is a negative log-likelihood, which goes below 0,
    so the scale is linear whenever one is shown. Plain matplotlib, not seaborn's relplot, which
    is slow per figure, and the study draws one per learned case and dataset."""
    parts = [p for p in LOSS_PARTS if f"train_{p}" in history and history[f"train_{p}"].notna().any()]
    log_scale = "nll" not in parts
    groups = list(history.groupby(hue, sort=True))
    # seaborn's own choice: its 10 distinct colours, or as many evenly spaced hues beyond 10
    colours = sns.color_palette(n_colors=len(groups)) if len(groups) <= 10 else sns.color_palette("husl", len(groups))
    fig, axes = plt.subplots(1, len(parts), figsize=(3.3 * len(parts), 3), squeeze=False)
    for ax, part in zip(axes[0], parts):
        for colour, (name, rows) in zip(colours, groups):
            for split, style in (("train", "-"), ("val", "--")):
                column = f"{split}_{part}"
                if column in rows and rows[column].notna().any():
                    shown = rows.dropna(subset=[column])  # a long run's validation losses skip epochs
                    values = shown[column].clip(lower=1e-8) if log_scale else shown[column]  # a collapsed KL is ~1e-6
                    ax.plot(shown["epoch"], values, style, color=colour)
        ax.set(title=f"part = {part}", xlabel="epoch", yscale="log" if log_scale else "linear")
    axes[0][0].set_ylabel("loss (per batch, mean over epoch)")
    keys = [plt.Line2D([], [], color=colour, label=str(name)) for colour, (name, _) in zip(colours, groups)]
    keys += [plt.Line2D([], [], color="grey", linestyle=style, label=split)
             for split, style in (("train", "-"), ("validation", "--"))]
    fig.legend(handles=keys, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    fig.tight_layout()
    return fig


RESIDUAL_FLOOR = 1e-12  # refined lines reach float64 round-off; drawn at this floor on the log scale


def residual_distributions(scores: pd.DataFrame):
    """scores: per-sample scores with `case` and `stage` -> residual_l1 box plots per case, over
    the lines with finite points (the others have no residual; comparison.csv counts them)."""
    fig, ax = plt.subplots(figsize=(9, 0.45 * scores["case"].nunique() + 1.5))
    shown = scores.dropna(subset=["residual_l1"]).reset_index(drop=True)
    shown = shown.assign(residual_l1=shown["residual_l1"].clip(lower=RESIDUAL_FLOOR))
    sns.boxplot(data=shown, y="case", x="residual_l1", hue="stage", ax=ax, fliersize=1, log_scale=True)
    ax.set_xlabel(f"forward residual mean|f(x̂) − y| per generated line (log scale, floor {RESIDUAL_FLOOR:g})")
    ax.set_ylabel("")
    return fig


def _panel_grid(cases: list[str], rows: list[int], draw, xlabel: str, ylabel: str, title: str):
    """One row per case, one column per scoring row; draw(ax, case_index, row_index) fills a panel."""
    fig, axes = plt.subplots(len(cases), len(rows), figsize=(2.6 * len(rows), 2.4 * len(cases)),
                             squeeze=False, sharex=True, sharey=True)
    for i, case in enumerate(cases):
        for j, row in enumerate(rows):
            ax = axes[i, j]
            draw(ax, i, j)
            if i == 0:
                ax.set_title(f"scoring row {row}")
            if j == 0:
                ax.set_ylabel(f"{case}\n{ylabel}", fontsize=8)
            if i == len(cases) - 1:
                ax.set_xlabel(xlabel)
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    return fig


def line_panels(solutions: list[np.ndarray], generated: dict[str, np.ndarray], rows: list[int]):
    """Generated lines in the x-plane against every exact solution.

    solutions[j]: (S, 2, L) for the j-th shown row; generated[case]: (R, K, 2, L).
    """
    cases = list(generated)

    def draw(ax, i, j):
        for line in generated[cases[i]][j]:
            ax.plot(line[0], line[1], color="tab:blue", alpha=0.25, lw=0.8)
        for line in solutions[j]:
            ax.plot(line[0], line[1], color="black", lw=2)
        ax.add_patch(plt.Rectangle((0.1, 0.1), 0.9, 0.9, fill=False, ls=":", color="grey"))
        ax.set(xlim=(0, 1.1), ylim=(0, 1.1))

    return _panel_grid(cases, rows, draw, "x0", "x1",
                       "generated lines (blue) and every exact solution (black); dotted: the box [0.1, 1]²")


OFFSET = 1.25  # y1 drawn above, y2 below, so both fit one panel


def image_panels(true: np.ndarray, images: dict[str, np.ndarray], rows: list[int]):
    """f(x̂) against the target y along the line. true: (R, 2, L); images[case]: (R, K, 2, L)."""
    cases = list(images)
    points = np.arange(true.shape[-1])

    def draw(ax, i, j):
        for image in images[cases[i]][j]:
            ax.plot(points, image[0] + OFFSET, color="tab:blue", alpha=0.25, lw=0.8)
            ax.plot(points, image[1] - OFFSET, color="tab:orange", alpha=0.25, lw=0.8)
        ax.plot(points, true[j, 0] + OFFSET, color="black", lw=1.5)
        ax.plot(points, true[j, 1] - OFFSET, color="black", lw=1.5)
        ax.set(ylim=(-1.1 - OFFSET, 1.1 + OFFSET))

    return _panel_grid(cases, rows, draw, "point along the line", f"y2 − {OFFSET:g} | y1 + {OFFSET:g}",
                       "f(x̂) of generated lines (blue: y1, orange: y2) and the target y (black)")


def data_overview(x: np.ndarray, y: np.ndarray, rows: int = 12):
    """x, y: (N, 2, L) -> the first lines in the x-plane and their images in the y-plane."""
    fig, (ax_x, ax_y) = plt.subplots(1, 2, figsize=(9, 4))
    colours = sns.color_palette("husl", rows)
    for k in range(min(rows, len(x))):
        ax_x.plot(x[k, 0], x[k, 1], color=colours[k], lw=1.5)
        ax_y.plot(y[k, 0], y[k, 1], color=colours[k], lw=1.0)
    ax_x.set(xlabel="x0", ylabel="x1", title="input lines x (x0 falls, x1 rises)", xlim=(0.05, 1.05), ylim=(0.05, 1.05))
    ax_y.set(xlabel="y1", ylabel="y2", title="their images y = f(x)", xlim=(-1.1, 1.1), ylim=(-1.1, 1.1))
    fig.tight_layout()
    return fig


def coverage_vs_compute(table: pd.DataFrame, samples: int):
    """comparison.csv rows -> per dataset, scoring coverage against the wall time to answer one y
    (K lines, refinement included), one point per case and stage, with 95% intervals."""
    rows = table[table["method"] != "exact"].assign(ms_per_y=lambda t: t["ms_per_sample"] * samples)
    datasets = list(rows["dataset"].unique())
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4.8), squeeze=False, sharey=True)
    methods = sorted(rows["method"].unique())
    colours = dict(zip(methods, sns.color_palette("colorblind", len(methods))))
    markers = {"raw": "o", "refined": "s"}
    for ax, dataset in zip(axes[0], datasets):
        for _, row in rows[rows["dataset"] == dataset].iterrows():
            error = [[row["scoring_coverage"] - row["scoring_coverage_ci_low"]],
                     [row["scoring_coverage_ci_high"] - row["scoring_coverage"]]]
            ax.errorbar(row["ms_per_y"], row["scoring_coverage"], yerr=np.nan_to_num(error), fmt=markers[row["stage"]],
                        color=colours[row["method"]], alpha=0.8, capsize=2, ms=6)
        ax.set(xscale="log", title=dataset, xlabel=f"wall time per y, {samples} lines (ms, log scale)",
               ylabel="coverage of the exact solutions (scoring split)", ylim=(-0.03, 1.03))
    handles = [plt.Line2D([], [], color=c, marker="o", ls="", label=m) for m, c in colours.items()]
    handles += [plt.Line2D([], [], color="grey", marker=mk, ls="", label=st) for st, mk in markers.items()]
    axes[0, -1].legend(handles=handles, loc="center left", bbox_to_anchor=(1.02, 0.5), title="method / stage")
    fig.tight_layout()
    return fig


def latent_projections(points: dict[str, np.ndarray], shares: dict[str, np.ndarray], colour: np.ndarray,
                       colour_label: str):
    """One panel per case: encoder means on their first two principal axes, coloured by a line parameter."""
    cases = list(points)
    fig, axes = plt.subplots(1, len(cases), figsize=(4.8 * len(cases), 4), squeeze=False, layout="constrained")
    for ax, case in zip(axes[0], cases):
        shown = ax.scatter(points[case][:, 0], points[case][:, 1], c=colour, cmap="viridis", s=8)
        share = shares[case]
        ax.set(title=case, xlabel=f"principal axis 1 ({share[0]:.0%} of variance)",
               ylabel=f"principal axis 2 ({share[1]:.0%})")
        ax.title.set_fontsize(8)
    fig.colorbar(shown, ax=axes[0].tolist(), label=colour_label)
    return fig


def latent_traversal(lines: np.ndarray, solutions: np.ndarray, dims: list[int], values: np.ndarray, title: str):
    """lines (D, V, 2, L) decoded along latent dimensions dims at values, against the exact solutions (S, 2, L)."""
    fig, axes = plt.subplots(1, len(dims), figsize=(3.2 * len(dims), 3.2), squeeze=False, sharey=True)
    colours = sns.color_palette("coolwarm", len(values))
    for ax, dim, row in zip(axes[0], dims, lines):
        for line in solutions:
            ax.plot(line[0], line[1], color="black", lw=2.5)
        for colour, line in zip(colours, row):
            ax.plot(line[0], line[1], color=colour, lw=1.2)
        ax.set(title=f"z[{dim}] from {values[0]:g} to {values[-1]:g}", xlabel="x0", xlim=(0, 1.1), ylim=(0, 1.1))
    axes[0, 0].set_ylabel("x1")
    fig.suptitle(f"{title}: blue to red as z[d] grows, others 0; black: exact solutions", fontsize=9)
    fig.tight_layout()
    return fig


def tuning_history(trials: pd.DataFrame, importances: dict[str, float], objective: str):
    """Left: each trial's objective (pruned trials marked at the axis floor) and the best so far;
    right: parameter importances."""
    fig, (ax, bars) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [2, 1]})
    complete = trials[trials["state"] == "COMPLETE"]
    ax.scatter(complete["trial"], complete[objective], s=18, label="completed trial")
    pruned = trials[trials["state"] == "PRUNED"]
    if len(pruned):
        floor = complete[objective].min() if len(complete) else 0
        ax.scatter(pruned["trial"], [floor] * len(pruned), marker="x", color="grey", label="pruned (shown at the best value)")
    ax.step(trials["trial"], trials["best_so_far"], where="post", color="black", label="best so far")
    ax.set(xlabel="trial", ylabel=f"{objective} (lower is better)", title="search history")
    ax.legend(fontsize=8)
    if importances:
        sns.barplot(x=list(importances.values()), y=list(importances), ax=bars, color="tab:blue")
    bars.set(xlabel="importance (fANOVA, sums to 1)", title="parameter importances")
    fig.tight_layout()
    return fig


DECISION_COLOURS = {"supported": "#2a9d3f", "contradicted": "#c0392b", "equivalent": "#2f6db5",
                    "inconclusive": "#7f7f7f", "undecided": "#d4a017"}
METRIC_LABELS = {name: m.label for name, m in METRICS.items()}


def claim_effects(verdicts: pd.DataFrame):
    """The headline: each claim's effect on its primary metric (advantage of the original study's
    recommended level over the binding level outside its range, family interval), coloured by
    the Holm-corrected decision; one row per claim × dataset × variant."""
    metrics = list(dict.fromkeys(verdicts.loc[verdicts["role"] == "primary", "metric"]))
    shown = verdicts.assign(label=verdicts["claim"] + "  " + verdicts["dataset"] + " " + verdicts["variant"])
    labels = list(dict.fromkeys(shown["label"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics) + 2.4, 0.2 * len(labels) + 1.4),
                             sharey=True, squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        part = shown[shown["metric"] == metric].set_index("label").reindex(labels)
        y = np.arange(len(labels))
        for decision, colour in DECISION_COLOURS.items():
            mask = (part["decision"] == decision).to_numpy()
            ax.errorbar(part["effect"][mask], y[mask],
                        xerr=[(part["effect"] - part["ci_low"])[mask], (part["ci_high"] - part["effect"])[mask]],
                        fmt="o", ms=3, color=colour, label=decision, elinewidth=1)
        ax.axvline(0, color="black", lw=0.8)
        scale, margin = part["scale"].dropna().iloc[0], part["margin"].dropna().iloc[0]
        delta = np.log(margin) if scale == "log" else margin
        ax.axvspan(-delta, delta, color="#2f6db5", alpha=0.08, lw=0)  # the equivalence margin
        ax.set_title(METRIC_LABELS[metric], fontsize=10)
        ax.set_xlabel("advantage of the claimed level" + (" (log ratio)" if scale == "log" else ""), fontsize=9)
        ax.tick_params(labelsize=8)
    axes[0, 0].set_yticks(np.arange(len(labels)), labels)
    axes[0, 0].invert_yaxis()
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(names), fontsize=7, frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def claim_levels(levels: pd.DataFrame, claim_text: str, inside: dict):
    """One claim: each metric against the factor's levels (mean and 95% band over seeds and
    scoring rows), a line per variant, a panel per dataset × metric; the claimed levels shaded.
    inside: level (as text, in the order to draw) -> whether the claim holds there. A metric at
    one value at every level and dataset gets no panel, only a line of the title."""
    present = [m for m in METRIC_LABELS if m in set(levels["metric"])]
    values = {m: pd.unique(levels.loc[levels["metric"] == m, ["mean", "ci_low", "ci_high"]].to_numpy().ravel())
              for m in present}
    flat = {m: v[0] for m, v in values.items() if len(v) == 1}
    metrics = [m for m in present if m not in flat] or present[:1]
    datasets = list(dict.fromkeys(levels["dataset"]))
    order = list(inside)
    position = {v: i for i, v in enumerate(order)}
    fig, axes = plt.subplots(len(datasets), len(metrics), figsize=(3.4 * len(metrics), 2.4 * len(datasets) + 0.5),
                             squeeze=False)
    for i, dataset in enumerate(datasets):
        for j, metric in enumerate(metrics):
            ax = axes[i, j]
            for k, level in enumerate(order):
                if inside[level]:
                    ax.axvspan(k - 0.4, k + 0.4, color="#2a9d3f", alpha=0.12, lw=0)
            part = levels[(levels["dataset"] == dataset) & (levels["metric"] == metric)]
            for variant, line in part.groupby("variant", sort=False):
                x = line["level"].astype(str).map(position).to_numpy()
                idx = np.argsort(x)
                ax.plot(x[idx], line["mean"].to_numpy()[idx], "o-", ms=4, label=variant)
                ax.fill_between(x[idx], line["ci_low"].to_numpy()[idx], line["ci_high"].to_numpy()[idx], alpha=0.2)
            ax.set_xticks(range(len(order)), order)
            ax.set_title(f"{dataset}: {METRIC_LABELS[metric]}", fontsize=9)
            ax.tick_params(labelsize=8)
    axes[0, 0].legend(fontsize=8, title="variant", title_fontsize=8)
    same = "; ".join(f"{METRIC_LABELS[m]}: {v:g} at every level" for m, v in flat.items() if m not in metrics)
    fig.suptitle(f"{claim_text} (shaded: the claimed range)" + (f"\n{same}" if same else ""), fontsize=10)
    fig.tight_layout()
    return fig


def _interval_rows(ax, part: pd.DataFrame, order: list[str], colour_of, marker: str, offset: float, size: float):
    """A ranking's rows (`part`, indexed like `order`) on the rows of `order`: each mean with its
    interval, filled where it is in the best set; a row `part` lacks is left empty."""
    for y, key in enumerate(order):
        if key not in part.index:
            continue
        row, colour = part.loc[key], colour_of(key)
        ax.errorbar(row["mean"], y + offset, xerr=[[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]],
                    fmt=marker, ms=size, color=colour, mfc=colour if row["in_best_set"] else "white", elinewidth=1)


def best_methods(ranking: pd.DataFrame, classes: dict[str, str], methods: dict[str, str]):
    """The comparison at a glance, sized for the report's first screen, one panel per dataset:
    each method's best case there (its lowest mean distance among its cases, per stage), raw and
    refined on the method's row, with its 95% interval over seeds and scoring rows (log scale);
    filled: in the best set; coloured by what the method knows of the map (`classes`, by case;
    `methods`: each case's method). Every case apart: best_cases."""
    shown = ranking[ranking["scope"] == "all"].assign(method=lambda t: t["case"].map(methods))
    best = shown.loc[shown.groupby(["dataset", "stage", "method"])["mean"].idxmin()]
    datasets = list(dict.fromkeys(shown["dataset"]))
    first = best[(best["dataset"] == datasets[0]) & (best["stage"] == "raw")]
    order = list(first.sort_values("mean")["method"]) + sorted(set(best["method"]) - set(first["method"]))
    cases = shown.groupby("method")["case"].nunique()
    knows = {methods[case]: known for case, known in classes.items() if case in methods}
    colours = dict(zip(dict.fromkeys(knows[m] for m in order), sns.color_palette("colorblind", len(set(knows.values())))))
    stages = {"raw": ("o", -0.17), "refined": ("s", 0.17)}
    fig, axes = plt.subplots(1, len(datasets), figsize=(2.6 * len(datasets) + 1.4, 0.24 * len(order) + 1.5),
                             squeeze=False, sharey=True, sharex=True, layout="constrained")
    for ax, dataset in zip(axes[0], datasets):
        for stage, (marker, offset) in stages.items():
            part = best[(best["dataset"] == dataset) & (best["stage"] == stage)].set_index("method")
            _interval_rows(ax, part, order, lambda method: colours[knows[method]], marker, offset, 4.5)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # decades only: legible when small
        ax.set_title(dataset, fontsize=9)
        ax.tick_params(labelsize=7.5)
        ax.grid(axis="x", alpha=0.3)
    fig.supxlabel("distance to the exact posterior (log scale): each method's best case", fontsize=8)
    names = [f"{m} (best of {cases[m]})" if cases[m] > 1 else m for m in order]
    axes[0, 0].set_yticks(range(len(order)), names, fontsize=8)
    axes[0, 0].invert_yaxis()
    handles = [plt.Line2D([], [], color=c, marker="o", ls="", label=f"knows {k}") for k, c in colours.items()]
    handles += [plt.Line2D([], [], color="grey", marker=m, ls="", label=s) for s, (m, _) in stages.items()]
    handles += [plt.Line2D([], [], color="grey", marker="o", mfc="white", ls="", label="outside the best set")]
    fig.legend(handles=handles, loc="outside upper center", ncol=4, fontsize=7, frameon=False, handletextpad=0.2,
               columnspacing=0.8)
    return fig


def best_cases(ranking: pd.DataFrame, classes: dict[str, str], labels: dict[str, str] | None = None):
    """The comparison at a glance, one panel per dataset: every contender's mean distance
    (over its seeds and the scoring rows, 95% interval, log scale), raw and refined on one
    row, coloured by what its method knows of the map; filled: in the best set; the dashed line
    each stage's leader × the equivalence margin. Rows named by `labels` (else the ids)."""
    shown = ranking[ranking["scope"] == "all"]
    datasets = list(dict.fromkeys(shown["dataset"]))
    first = shown[(shown["dataset"] == datasets[0]) & (shown["stage"] == "raw")]
    order = list(first.sort_values("mean")["case"]) + sorted(set(shown["case"]) - set(first["case"]))
    knows = list(dict.fromkeys(classes[c] for c in order))
    colours = dict(zip(knows, sns.color_palette("colorblind", len(knows))))
    stages = {"raw": ("o", -0.18), "refined": ("s", 0.18)}
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.2 * len(datasets) + 3.2, 0.3 * len(order) + 1.8),
                             squeeze=False, sharey=True)
    for ax, dataset in zip(axes[0], datasets):
        for stage, (marker, offset) in stages.items():
            part = shown[(shown["dataset"] == dataset) & (shown["stage"] == stage)].set_index("case")
            if part.empty:
                continue
            _interval_rows(ax, part, order, lambda case: colours[classes[case]], marker, offset, 5)
            leader = part.loc[part["gap"].idxmin()]
            ax.axvline(leader["mean"] * leader["margin"], color="black", lw=0.8, ls="--" if stage == "raw" else ":")
        ax.set(xscale="log", title=dataset, xlabel="distance to the exact posterior (log scale)")
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].set_yticks(range(len(order)), [(labels or {}).get(case, case) for case in order], fontsize=7)
    axes[0, 0].invert_yaxis()
    handles = [plt.Line2D([], [], color=c, marker="o", ls="", label=f"knows {k}") for k, c in colours.items()]
    handles += [plt.Line2D([], [], color="grey", marker=m, ls="", label=s) for s, (m, _) in stages.items()]
    handles += [plt.Line2D([], [], color="grey", marker="o", mfc="white", ls="", label="outside the best set"),
                plt.Line2D([], [], color="black", ls="--", label="raw leader × margin"),
                plt.Line2D([], [], color="black", ls=":", label="refined leader × margin")]
    axes[0, -1].legend(handles=handles, loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    fig.tight_layout()
    return fig
