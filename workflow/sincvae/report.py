"""The comparison table and the self-contained HTML report."""

from __future__ import annotations

import base64
import html
import json
import platform
from importlib.metadata import version
from pathlib import Path

import pandas as pd

HYPERPARAMETERS = ("loss", "beta", "wx", "wy", "latent_dim", "lr", "batch_size", "epochs", "variant")
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
    ("final_val_loss", "final validation loss (reconstruction)", True),
    ("train_seconds", "training s", True),
)


def comparison_row(metrics: dict, case: dict | None = None, history: pd.DataFrame | None = None) -> dict:
    """One row of comparison.csv: ids, hyperparameters and final losses of a trained case
    (none for the exact enumerator), and every numeric metric per split."""
    row = {"dataset": metrics["dataset"], "case": metrics["case"], "method": "cvae" if case else "exact"}
    if case:
        row.update({k: case[k] for k in HYPERPARAMETERS})
        last = history.iloc[-1]
        row.update({f"final_{k}": last[k] for k in history.columns if k.startswith(("train_", "val_"))})
        row["train_seconds"] = history["seconds"].sum()
    for split, summary in metrics["splits"].items():
        row.update({f"{split}_{k}": v for k, v in summary.items() if not isinstance(v, dict)})
    return row


def _image(path: str | Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return html.escape(str(value))


def _table(frame: pd.DataFrame, sortable: bool = False, best: dict[str, bool] | None = None) -> str:
    """HTML table; `best` maps a column to lower-is-better and marks each dataset's best cell."""
    marked = set()
    if best:
        for column, lower in best.items():
            for _, group in frame.groupby("dataset"):
                values = pd.to_numeric(group[column], errors="coerce")
                if values.nunique() > 1:
                    marked.add((values.idxmin() if lower else values.idxmax(), column))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="{"best" if (i, c) in marked else ""}">{_format(v)}</td>' for c, v in row.items()
        ) + "</tr>"
        for i, row in frame.iterrows()
    )
    css = ' class="sortable"' if sortable else ""
    return f'<div class="scroll"><table{css}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1400px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
td { white-space: nowrap; }
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


def render_report(comparison: pd.DataFrame, validations: list[dict], datasets: dict, figures: dict,
                  config: dict) -> str:
    """The whole report as one HTML string; figures[dataset][name] are PNG paths, embedded."""
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
    table = comparison[["dataset", "case", "method", *HYPERPARAMETERS, *(c for c, _, _ in TABLE_COLUMNS)]].rename(
        columns={c: h for c, h, _ in TABLE_COLUMNS})
    best = {h: lower for _, h, lower in TABLE_COLUMNS}
    sections.append(
        "<h2>3. Comparison</h2><p>Scores on the scoring split unless the heading says validation; "
        f"{config['evaluate']['samples']} generated lines per y. The best value per dataset is marked. "
        "Click a heading to sort. Every column is in <code>results/comparison.csv</code>.</p>"
        + _table(table, sortable=True, best=best)
    )
    for number, d in enumerate(datasets, start=4):
        sections.append(
            f"<h2>{number}. {html.escape(d)}</h2>"
            "<h3>Training losses per case</h3>" + _image(figures[d]["loss_curves"], f"{d} loss curves")
            + "<h3>Forward residuals of generated lines</h3>" + _image(figures[d]["residuals"], f"{d} residuals")
            + "<h3>Generated lines against the truth, in x</h3>" + _image(figures[d]["samples_x"], f"{d} x")
            + "<h3>Their images f(x̂) against the target y</h3>" + _image(figures[d]["samples_y"], f"{d} y")
        )
    versions = {p: version(p) for p in ("torch", "numpy", "pandas", "snakemake", "seaborn", "matplotlib")}
    sections.append(
        "<h2>Provenance</h2><p>Python " + html.escape(platform.python_version()) + "; "
        + ", ".join(f"{p} {v}" for p, v in versions.items())
        + "</p><h3>Configuration</h3><pre>" + html.escape(json.dumps(config, indent=2)) + "</pre>"
    )
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>sincvae report</title>"
        f"<style>{STYLE}</style></head><body>{''.join(sections)}<script>{SORT_SCRIPT}</script></body></html>"
    )
