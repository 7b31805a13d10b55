"""The comparison table and the self-contained HTML report."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from .methods import SETTINGS
from .verdicts import contrasts, verdicts

VERDICT_METRICS = ("scoring_residual_l1_mean", "scoring_mmd")
HYPERPARAMETERS = ("loss", "beta", "wx", "wy", "latent_dim", "lr", "batch_size", "epochs", "variant",
                   "free_bits", "transforms", "hidden")
# Columns of the report's table: (comparison.csv column, heading, lower is better?)
TABLE_COLUMNS = (
    ("scoring_coverage", "coverage", False),
    ("scoring_precision", "precision", False),
    ("scoring_mmd", "MMD", True),
    ("scoring_residual_l1_median", "median residual L1", True),
    ("scoring_residual_l1_mean", "mean residual L1", True),
    ("scoring_straightness_mean", "straightness RMS", True),
    ("scoring_slope_valid_share", "slope signs valid", False),
    ("scoring_in_domain_share", "points in domain", False),
    ("scoring_best_of_k_distance_median", "best-of-K distance to truth", True),
    ("scoring_true_line_recovered", "true line recovered", False),
    ("validation_coverage", "validation coverage", False),
    ("validation_residual_l1_median", "validation median residual L1", True),
    ("final_val_loss", "final validation loss", True),
    ("train_s", "training time (s)", True),
    ("ms_per_sample", "time per line (ms)", True),
)


def _flat_metrics(splits: dict) -> dict:
    """{split: {metric: value}} -> {"split_metric": value} for the numeric metrics."""
    return {f"{split}_{k}": v for split, summary in splits.items()
            for k, v in summary.items() if not isinstance(v, dict)}


def seed_rows(metrics: dict, case: dict, history: pd.DataFrame | None) -> list[dict]:
    """One evaluated seed -> a row per stage: ids, hyperparameters, final losses (learned
    methods only) and every metric."""
    final = {} if history is None else {
        f"final_{k}": float(history.iloc[-1][k]) for k in history.columns if k.startswith(("train_", "val_"))}
    return [{"dataset": metrics["dataset"], "case": metrics["case"], "method": metrics["method"],
             "stage": stage, "seed": case["seed"],
             **{k: case[k] if k in SETTINGS[case["method"]] else None for k in HYPERPARAMETERS},
             **final, **_flat_metrics(splits)}
            for stage, splits in metrics["stages"].items()]


def timing_rows(timing: dict) -> list[dict]:
    """One evaluated seed's timing.json -> a row per stage: training seconds and the wall time
    per returned line (ms), over both evaluated splits. A refined line's time includes drawing
    and refining all its oversampled candidates."""
    splits = [v for v in timing.values() if isinstance(v, dict)]
    generate_s = sum(s["generate_s"] for s in splits)
    candidates = sum(s["rows"] * s["candidates"] for s in splits)
    lines = sum(s["rows"] * s["samples"] for s in splits)
    ids = {"dataset": timing["dataset"], "case": timing["case"], "seed": timing["seed"], "train_s": timing["train_s"]}
    rows = [{**ids, "stage": "raw", "ms_per_sample": 1000 * generate_s / candidates}]
    if any(s["refine_s"] for s in splits):
        refine_s = sum(s["refine_s"] for s in splits)
        rows.append({**ids, "stage": "refined", "ms_per_sample": 1000 * (generate_s + refine_s) / lines})
    return rows


def exact_row(metrics: dict) -> dict:
    return {"dataset": metrics["dataset"], "case": "exact", "method": "exact", "stage": "raw",
            **_flat_metrics(metrics["splits"])}


def mean_interval(values) -> tuple[float, float, float]:
    """Mean and 95% Student-t interval over seeds (the interval is NaN for a single seed)."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return mean, mean - half, mean + half


def aggregate_seeds(rows: list[dict]) -> dict:
    """Seed rows of one case -> mean and 95% interval of every numeric column that varies by seed."""
    frame = pd.DataFrame(rows)
    ids = {k: rows[0][k] for k in ("dataset", "case", "method", "stage", *HYPERPARAMETERS)}
    numeric = [c for c in frame.select_dtypes("number").columns if c not in (*HYPERPARAMETERS, "seed")]
    summary = {}
    for column in numeric:
        mean, low, high = mean_interval(frame[column])
        summary[column] = {"mean": mean, "ci_low": low, "ci_high": high}
    return {**ids, "seeds": frame["seed"].tolist(), "summary": summary, "per_seed": rows}


def comparison_row(aggregated: dict) -> dict:
    """A case's row of comparison.csv: each metric's mean, then its interval as _ci_low/_ci_high."""
    row = {k: v for k, v in aggregated.items() if k not in ("summary", "per_seed", "seeds")}
    row["seeds"] = len(aggregated["seeds"])
    for column, values in aggregated["summary"].items():
        row[column] = values["mean"]
        row[f"{column}_ci_low"] = values["ci_low"]
        row[f"{column}_ci_high"] = values["ci_high"]
    return row


def benchmark_summary(paths: list[str]) -> pd.DataFrame:
    """Snakemake benchmark TSVs (benchmarks/<rule>/...) -> one row per rule: jobs, wall time, peak memory."""
    frame = pd.concat([pd.read_csv(p, sep="\t").assign(rule=Path(p).parts[1].removesuffix(".tsv")) for p in paths])
    summary = frame.groupby("rule").agg(jobs=("s", "size"), total_s=("s", "sum"), mean_s=("s", "mean"),
                                        max_s=("s", "max"), peak_rss_mb=("max_rss", "max"))
    return summary.sort_values("total_s", ascending=False).reset_index()


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


def _image(path: str | Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _format(value) -> str:
    if isinstance(value, float):
        return "—" if np.isnan(value) else f"{value:.3g}"
    return html.escape(str(value))


def _table(frame: pd.DataFrame, sortable: bool = False, best: dict[str, bool] | None = None,
           intervals: pd.DataFrame | None = None) -> str:
    """HTML table. best maps a column to lower-is-better and marks each dataset's best mean;
    intervals holds a 95% half-width per cell (NaN: none) shown as "mean ± half". The exact
    reference row is the limit, not a contender: it is never marked."""
    marked = set()
    contenders = frame[frame["method"] != "exact"] if "method" in frame else frame
    for column, lower in (best or {}).items():
        for _, group in contenders.groupby("dataset"):
            values = pd.to_numeric(group[column], errors="coerce")
            if values.nunique() > 1:
                marked.add((values.idxmin() if lower else values.idxmax(), column))

    def cell(i, column, value):
        text = _format(value)
        if intervals is not None and column in intervals and pd.notna(intervals.at[i, column]):
            text += f" ± {intervals.at[i, column]:.2g}"
        classes = " ".join(c for c in ("best" if (i, column) in marked else "", "text" if isinstance(value, str) else "") if c)
        return f'<td class="{classes}">{text}</td>'

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(cell(i, c, v) for c, v in row.items()) + "</tr>" for i, row in frame.iterrows())
    css = ' class="sortable"' if sortable else ""
    return f'<div class="scroll"><table{css}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1400px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
td { white-space: nowrap; }
td.text { text-align: left; }
div.scroll { overflow-x: auto; }
th { background: #eee; position: sticky; top: 0; }
table.sortable th { cursor: pointer; }
td.best { font-weight: bold; background: #e6f4e6; }
img { max-width: 100%; display: block; margin: 0.5em 0 1.5em; }
code, pre { background: #f5f5f5; }
pre { padding: 0.5em; overflow-x: auto; font-size: 0.8em; }
"""

# Click a heading to sort by it (numbers numerically); click again to reverse.
SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach((th, col) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0];
  const asc = th.dataset.order !== "asc";
  th.dataset.order = asc ? "asc" : "desc";
  const key = r => { const t = r.cells[col].textContent; const n = parseFloat(t); return isNaN(n) ? t : n; };
  [...body.rows].sort((a, b) => { const x = key(a), y = key(b); return (x > y ? 1 : x < y ? -1 : 0) * (asc ? 1 : -1); })
    .forEach(r => body.appendChild(r));
}));
"""


def _tuning_section(tuning: dict, settings: dict) -> str:
    """The search's best setting per dataset against the seed's ranges, its history and the grid."""
    parts = [
        "<h2>Hyperparameter search</h2><p>Around the base case <code>" + html.escape(settings["base_case"])
        + f"</code>, on the validation split only: a grid ({' × '.join(settings['grid'])}) and "
        f"{settings['trials']} Optuna TPE trials over {', '.join(settings['space'])} in "
        f"{settings['workers']} parallel workers sharing one study, bad trials pruned by the median rule "
        "on the generated lines' residual after each epoch. The objective is the validation MMD to the "
        "exact posterior (lower is better): coverage is 0 for every setting of the seed's CVAE, and the "
        "residual alone rewards collapsing onto one line. The best setting is the <code>tuned</code> "
        "case of the comparison, trained with every seed and scored on the scoring split.</p>"
    ]
    for dataset, files in tuning.items():
        best = yaml.safe_load(Path(files["best"]).read_text())
        rows = [{"setting": k, "tuned": v, "in the seed's range": {True: "yes", False: "no", None: "—"}[
                 best["in_seed_ranges"].get(k)], "importance": best["importances"].get(k, float("nan"))}
                for k, v in best["setting"].items()]
        parts.append(
            f"<h3>{html.escape(dataset)}</h3><p>Best validation MMD {best['value']:.3g}; trials: "
            + html.escape(", ".join(f"{n} {state.lower()}" for state, n in best["trials"].items())) + ".</p>"
            + _table(pd.DataFrame(rows)) + _image(files["history"], f"{dataset} search history")
            + "<h4>Grid</h4>" + _table(pd.read_csv(files["grid"]))
        )
    return "".join(parts)


def render_report(comparison: pd.DataFrame, validations: list[dict], datasets: dict, figures: dict,
                  notebooks: dict, tuning: dict, compute_figure: str, config: dict, origin: dict,
                  benchmarks: pd.DataFrame) -> str:
    """The whole report as one HTML string; figures[dataset][name] and compute_figure are PNG paths,
    embedded; notebooks[dataset] is the executed notebook's HTML, linked relative to the report;
    tuning[dataset] holds the search's grid.csv, best.yaml and history.png (empty: no search)."""
    sections = ["<h1>sincvae: inverting sinusoidal maps of straight lines with a conditional VAE</h1>"]
    sections.append(
        "<h2>1. The problem</h2><p>A sample is a 50-point straight line x = (x0, x1) in [0.1, 1]², x0 falling "
        "and x1 rising; y = f(x) point by point. Given y, the model must generate lines x with f(x) = y. "
        "Generated lines are drawn from the prior z ~ N(0, I) through the decoder (generation, not "
        "reconstruction) and scored by their forward residual mean|f(x̂) − y|.</p><ul>"
        + "".join(f"<li><b>{html.escape(name)}</b>: {html.escape(v['equations'])}</li>"
                  for name, v in zip(datasets, validations))
        + "</ul>"
        + "".join(f"<h3>{html.escape(d)}</h3>" + _image(figures[d]["data"], f"{d} data") for d in datasets)
    )
    rows = [{"dataset": v["dataset"], "split": split, "rows": s["rows"], "checks passed": len(s["checks_passed"]),
             "max |Y − f(X)|": s["max_abs_y_error"], "max line error": s["max_line_error"]}
            for v in validations for split, s in v["splits"].items()]
    sections.append("<h2>2. Data validation</h2><p>Every file is checked before training: shape, dtype, finite "
                    "values, domain, x0 falling, x1 rising, straight evenly spaced lines, and Y = f(X).</p>"
                    + _table(pd.DataFrame(rows)))
    refine = config["evaluate"]["refine"]
    columns = [c for c, _, _ in TABLE_COLUMNS]
    headings = {c: h for c, h, _ in TABLE_COLUMNS}
    table = comparison[["dataset", "case", "method", "stage", "seeds", *HYPERPARAMETERS, *columns]].rename(columns=headings)
    half = pd.DataFrame({headings[c]: (comparison[f"{c}_ci_high"] - comparison[f"{c}_ci_low"]) / 2
                         for c in columns if f"{c}_ci_high" in comparison})
    sections.append(
        "<h2>3. Comparison</h2><p>Scores on the scoring split unless the heading says validation; "
        f"{config['evaluate']['samples']} generated lines per y; mean over seeds ± the half-width of its "
        "95% Student-t interval. A generated line matches an exact solution when every point is within "
        f"{config['evaluate']['match_tolerance']}: <b>coverage</b> is the share of exact solutions some "
        "sample matches, <b>precision</b> the share of samples that match one, <b>MMD</b> the kernel "
        "distance between the samples and the exact solutions weighted by the posterior. The "
        "<b>exact</b> row is the enumerator itself, the limit for every method. The best value per "
        "dataset is marked; click a heading to sort. Every column is in <code>results/comparison.csv</code>, "
        "every seed in <code>results/comparison_seeds.csv</code>.</p>"
        "<p><b>Methods.</b> <code>cvae</code>: the seed's conditional VAE. <code>line_cvae</code>: our CVAE "
        "over the line's 4 end-point coordinates, with a small latent and free bits. <code>flow</code>: a conditional "
        "normalizing flow (neural spline flow) over the line's 4 end-point coordinates given y. "
        "<code>nearest</code>: the training lines whose y are nearest. <code>prior</code>: lines drawn from "
        "the data's prior, ignoring y. <b>Stages.</b> <code>raw</code>: the method's own lines. "
        f"<code>refined</code>: {refine['oversample']} × {config['evaluate']['samples']} lines per y, each "
        f"given {refine['steps']} Levenberg–Marquardt steps on its end points inside the box, then the first "
        f"{config['evaluate']['samples']} that converged (max |f(x) − y| ≤ {refine['converged']:g}, slopes "
        "valid), topped up with the closest others; <code>prior</code> refined is multi-start least "
        "squares. <b>Time per line</b> is wall time on this run's machine, including the oversampled "
        "candidates and their refinement; training time is the sum over epochs.</p>"
        + _table(table, sortable=True, best={h: lower for _, h, lower in TABLE_COLUMNS}, intervals=half)
        + "<h3>Coverage against compute</h3>" + _image(compute_figure, "coverage against wall time per y")
    )
    for number, d in enumerate(datasets, start=4):
        sections.append(
            f"<h2>{number}. {html.escape(d)}</h2>"
            "<h3>Training losses per case</h3>" + _image(figures[d]["loss_curves"], f"{d} loss curves")
            + "<h3>Forward residuals of generated lines</h3>" + _image(figures[d]["residuals"], f"{d} residuals")
            + "<h3>Generated lines against the truth, in x</h3>" + _image(figures[d]["samples_x"], f"{d} x")
            + "<h3>Their images f(x̂) against the target y</h3>" + _image(figures[d]["samples_y"], f"{d} y")
            + ("<h3>Latent space of the CVAEs</h3>" + _image(figures[d]["latent"], f"{d} latent space")
               if "latent" in figures[d] else "")
            + f'<p>More by eye, with latent traversals: <a href="{html.escape(notebooks[d])}">the executed '
            f"inspection notebook for {html.escape(d)}</a>.</p>"
        )
    own_lines = comparison[comparison["stage"] == "raw"]  # the seed's claims are about the CVAE's own lines
    judged = pd.concat([verdicts(own_lines, metric) for metric in VERDICT_METRICS], ignore_index=True)
    sections.append(
        f"<h2>{len(datasets) + 4}. Verdicts on the seed's claims</h2><p>The seed's \"Results\" section, tested "
        "case by case within each model variant: for each claim, the best case meeting its condition "
        "against the best case outside it, on the mean forward residual and on the MMD to the exact posterior (scoring split, mean over "
        "seeds with 95% intervals). <b>supported</b> / <b>contradicted</b>: the two intervals do not overlap; "
        "<b>inconclusive</b>: they overlap, or no case separates the condition; the last column names the "
        "run that would decide. The seed's cases change several settings at once, so even a clear verdict "
        "here is about these cases, not about one setting alone.</p>" + _table(judged)
    )
    variant = contrasts(own_lines, "variant", VERDICT_METRICS, HYPERPARAMETERS)
    wy = contrasts(own_lines, "wy", VERDICT_METRICS, HYPERPARAMETERS)
    sections.append(
        f"<h2>{len(datasets) + 5}. The seed's code against the fixed model</h2><p>Case pairs that differ "
        "only in <code>variant</code>: <code>seed_code</code> (encoder sees x only, y-loss without "
        "gradient, PyTorch default initialisation) against <code>fixed</code> (encoder sees x and y, "
        "differentiable y-loss, He initialisation).</p>"
        + (_table(variant) if len(variant) else "<p>No such pair in this configuration.</p>")
        + "<h3>Does wy matter once its gradient flows?</h3><p>Case pairs that differ only in wy, "
        "within each variant. Under <code>seed_code</code> wy only scales a loss that has no gradient, "
        "so the pair trains identical models (same seeds): identical numbers are the expected sign of "
        "the seed's bug.</p>"
        + (_table(wy) if len(wy) else "<p>No such pair in this configuration.</p>")
    )
    if tuning:
        sections.append(_tuning_section(tuning, config["tuning"]))
    sections.append(
        "<h2>Provenance</h2>" + _table(pd.DataFrame([origin]))
        + "<h3>Time and peak memory per rule</h3><p>From the <code>benchmark:</code> files of every job "
        "(seconds of wall time; peak resident memory in MB).</p>" + _table(benchmarks)
        + "<h3>Configuration</h3><pre>" + html.escape(json.dumps(config, indent=2)) + "</pre>"
    )
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>sincvae report</title>"
        f"<style>{STYLE}</style></head><body>{''.join(sections)}<script>{SORT_SCRIPT}</script></body></html>"
    )
