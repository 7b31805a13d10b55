"""Every metric in one table: how it is computed, what it is called, which way is better, how it
is compared, its default margin, and where it is shown. Scoring (metrics.summarise), the tables
(summary.column_kind), the statistics (stats), the figures, the Findings, the report, the
command line and the config check all read METRICS; adding a metric is one entry here.

A metric is either a row score, computed for each scored y from its K lines (`row`, from a
RowLines; the split's number is its mean over the rows, and the claims and the ranking can test
it), or a split's number (`split`, from a Split's tables). A metric with neither is measured by
the run job (seconds, lines seen, the refinement's share of converged lines). Torch-, numpy- and
pandas-free: the Snakefile checks the config's metric names against it while parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

SHARE, SIZE, COUNT, VALUE = "share", "size", "count", "value"


@dataclass(frozen=True)
class RowLines:
    """One scored y: its K lines against its S exact solutions (numpy arrays)."""

    samples: Any  # (K, 2, L) the lines
    weights: Any  # (K,) each line's weight: 1/K, or the posterior's for the exact solutions as samples
    lines: dict  # column -> (K,) the per-line scores of metrics.sample_scores (valid, residual_l1, ...)
    solutions: Any  # (S, 2, L)
    posterior: Any  # (S,) the solutions' posterior weights
    distances: Any  # (K, S) largest point-wise distance of each line to each solution
    matched: Any  # (K, S) distances below the match distance
    match_tolerance: float
    truth: Any = None  # (2, L) the line y was made from, None where it is not known
    seed: int = 0  # of the study (data.seed): the row's random draws
    row: int = 0  # its index in its split

    def draws(self, name: str, count: int):
        """`count` uniforms of this row's own stream for metric `name`: the same for the same
        seed, row and metric, whatever other metrics draw."""
        import zlib

        import numpy as np

        return np.random.default_rng([self.seed, self.row, zlib.crc32(name.encode())]).random(count)


@dataclass(frozen=True)
class Split:
    """One split's scores: per line (metrics.sample_scores, with `row`) and per row (truth_table)."""

    lines: Any  # pandas DataFrame
    rows: Any  # pandas DataFrame: `row`, `solutions` and every row score
    match_tolerance: float


@dataclass(frozen=True)
class Metric:
    heading: str  # its short name: table headings, the command line, the Findings
    # SHARE in [0, 1], compared as a difference; SIZE above zero, compared as a ratio (log scale);
    # COUNT; VALUE any other number
    kind: str
    better: str | None = None  # "lower" or "higher"; None: descriptive, never ranked
    row: Callable[[RowLines], float] | None = None  # a row score
    split: Callable[[Split], float] | None = None  # a split's number (default: a row score's mean)
    label: str = ""  # a sentence's or a figure's name of it
    margin: float | None = None  # equivalence margin a claim states when the config names none (a ratio for a SIZE)
    claims: bool = False  # the claims test it (their primary metric is one of these)
    findings: bool = False  # a column of the Findings' and the report's tables
    cli: bool = False  # printed by `sincvae score`
    summary: bool = True  # a row score's mean is a number of the split (False: the row score feeds split metrics only)


def _mean(column: str) -> Callable[[Split], float]:
    return lambda s: float(s.lines[column].mean())  # pandas skips NaN: over the lines with finite points


def _best_of_k(s: Split):
    return s.lines.groupby("row")["true_distance"].min()


METRICS: dict[str, Metric] = {
    "distance": Metric("distance", SIZE, "lower", label="distance to the exact posterior",
                       row=lambda r: _wasserstein(r), margin=1.25, claims=True, findings=True, cli=True),
    "precision": Metric("precision", SHARE, "higher", label="precision (valid lines)",
                        row=lambda r: float(r.weights @ r.lines["valid"]), margin=0.05, claims=True,
                        findings=True, cli=True),
    "coverage": Metric("coverage", SHARE, "higher", label="coverage",
                       row=lambda r: float((r.matched & r.lines["valid"][:, None]).any(0).mean()),
                       margin=0.05, claims=True, findings=True, cli=True),
    "near": Metric("near", SHARE, "higher", label="share of lines within the match distance of a solution",
                   row=lambda r: float(r.weights @ r.matched.any(1)), findings=True, cli=True),
    "near_coverage": Metric("near coverage", SHARE, "higher", label="share of solutions with a line that near",
                            row=lambda r: float(r.matched.any(0).mean())),
    "mmd": Metric("MMD", SIZE, "lower", label="kernel MMD to the exact posterior", row=lambda r: _mmd(r),
                  margin=1.25),
    "residual_l1": Metric("residual", SIZE, "lower", label="mean forward residual",
                          row=lambda r: float(_nanmean(r.lines["residual_l1"])), margin=1.25, claims=True),
    "gate_all": Metric("gate", SHARE, "higher", label="share passing the challenge's own test",
                       split=_mean("gate_all"), findings=True, cli=True),
    "residual_l1_mean": Metric("mean residual", SIZE, "lower", label="mean forward residual over the lines",
                               split=_mean("residual_l1"), findings=True, cli=True),
    "solutions_mean": Metric("solutions per y", SIZE, split=lambda s: float(s.rows["solutions"].mean())),
    "rows": Metric("rows", COUNT, split=lambda s: int(s.lines["row"].nunique()), cli=True),
    "samples_per_row": Metric("lines per y", COUNT, split=lambda s: int(s.lines.groupby("row").size().iloc[0]),
                              cli=True),
    "finite_share": Metric("finite", SHARE, "higher", split=_mean("finite")),
    "residual_l1_median": Metric("median residual", SIZE, "lower",
                                 split=lambda s: float(s.lines["residual_l1"].median())),
    "residual_rmse_mean": Metric("RMSE", SIZE, "lower", split=_mean("residual_rmse")),
    "straightness_mean": Metric("straightness", SIZE, "lower", split=_mean("straightness")),
    "gate_direction": Metric("gate direction", SHARE, "higher", split=_mean("gate_direction")),
    "gate_straight": Metric("gate straight", SHARE, "higher", split=_mean("gate_straight")),
    "gate_rmse": Metric("gate RMSE", SHARE, "higher", split=_mean("gate_rmse")),
    "in_domain_share": Metric("in the box", SHARE, "higher", split=_mean("in_domain")),
    "best_of_k_distance_median": Metric("best of K distance", SIZE, "lower",
                                        split=lambda s: float(_best_of_k(s).median())),
    "true_line_recovered": Metric("true line recovered", SHARE, "higher",
                                  split=lambda s: float((_best_of_k(s) < s.match_tolerance).mean())),
    # calibration against the exact posterior (score/diagnostics.py): per row, the coverage PIT
    # and the end points' ranks; per split, the coverage curve's gaps, the ranks' test and R_T
    "pit": Metric("coverage PIT", SHARE, row=lambda r: _diagnostics().row_pit(r), summary=False),
    **{f"rank_{name}": Metric(f"rank {name}", SHARE, row=lambda r, name=name: _diagnostics().row_rank(r, name),
                              summary=False) for name in ("x0_start", "x1_start", "x0_end", "x1_end")},
    "calibration": Metric("calibration", VALUE, label="expected coverage less the level, mean over levels "
                          "(below 0: overconfident)", split=lambda s: _diagnostics().calibration(s.rows["pit"]),
                          cli=True),
    "coverage_gap": Metric("coverage gap", SHARE, "lower", label="largest gap of expected coverage to the level",
                           split=lambda s: _diagnostics().coverage_gap(s.rows["pit"]), cli=True),
    "sbc_p": Metric("SBC p", VALUE, label="Holm-adjusted p of the end points' rank uniformity",
                    split=lambda s: _diagnostics().sbc_p(s.rows), cli=True),
    **{f"r_at_{t}": Metric(f"R_{t}", SIZE, "lower", label=f"best forward RMSE among the first {t} lines",
                           split=lambda s, t=t: _diagnostics().best_of(s.lines, t), cli=t in (1, 10))
       for t in (1, 2, 5, 10, 30)},
    # measured by the run job
    "converged_share": Metric("converged", SHARE, "higher"),
    "train_s": Metric("training s", SIZE),
    "ms_per_sample": Metric("ms per line", SIZE, "lower"),
    "lines_seen": Metric("training lines", SIZE),
}


def _diagnostics():
    from sincvae.score import diagnostics  # numpy and scipy: imported by the scoring jobs only

    return diagnostics


def _wasserstein(r: RowLines) -> float:
    from sincvae.score.distances import wasserstein  # numpy and POT: imported by the scoring jobs only

    return wasserstein(r.distances, r.weights, r.posterior)


def _mmd(r: RowLines) -> float:
    from sincvae.score.distances import kernel_mmd

    return kernel_mmd(r.samples, r.weights, r.solutions, r.posterior)


def _nanmean(values) -> float:
    finite = values[values == values]
    return float(finite.mean()) if len(finite) else float("nan")


def row_scores() -> list[str]:
    """The metrics scored per row: what the claims and the ranking can compare."""
    return [name for name, m in METRICS.items() if m.row is not None]


def ranked() -> list[str]:
    """The row scores with a direction: a ranking's metric is one of these."""
    return [name for name in row_scores() if METRICS[name].better is not None]


def tested() -> list[str]:
    """The metrics a claim is tested on."""
    return [name for name, m in METRICS.items() if m.claims]


def lower_is_better(name: str) -> bool:
    return METRICS[name].better == "lower"


def scale(name: str) -> str:
    """log: a size, compared as ratios of the means (a difference of their logarithms), its
    margin a ratio; identity: a share, compared as differences of the means."""
    return "log" if METRICS[name].kind == SIZE else "identity"


def kind_of(column: str) -> str | None:
    """The kind of a comparison column (a metric, or a split's: scoring_<metric>), or None for a
    column that is no metric (a loss, a setting)."""
    name = column.split("_", 1)[1] if column.startswith(("scoring_", "validation_")) else column
    return METRICS[name].kind if name in METRICS else None


def shown(where: str) -> dict[str, str]:
    """metric -> heading of the metrics shown `where` ("findings" or "cli"), in table order."""
    return {name: m.heading for name, m in METRICS.items() if getattr(m, where)}


def margins(stated: dict[str, float] | None) -> dict[str, float]:
    """Each tested metric's equivalence margin: the config's where it states one (in its order),
    else the table's."""
    stated = stated or {}
    return {**{name: stated[name] for name in stated if name in tested()},
            **{name: METRICS[name].margin for name in tested() if name not in stated}}


def config_problem(config: dict) -> str | None:
    """Why the config's metric names or margins do not fit the table, or None: the ranking's
    metric a row score with a direction, the claims' primary metric a tested one, each stated
    margin a ratio above 1 for a size and a difference in (0, 1] for a share."""
    metric = config["ranking"]["metric"]
    if metric not in ranked():
        return f"ranking.metric {metric!r} is not one of {', '.join(ranked())}"
    ablations = config.get("ablations") or {}
    if ablations and ablations["primary"] not in tested():
        return f"ablations.primary {ablations['primary']!r} is not one of {', '.join(tested())}"
    stated = [("ranking.margin", metric, config["ranking"]["margin"]),
              *((f"ablations.margin.{name}", name, value) for name, value in (ablations.get("margin") or {}).items())]
    for key, name, value in stated:
        if key.startswith("ablations") and name not in tested():
            return f"{key} names no tested metric; they are {', '.join(tested())}"
        if METRICS[name].kind == SIZE and not value > 1:
            return f"{key} = {value}: {name} is compared as a ratio of means, so its margin is a ratio above 1"
        if METRICS[name].kind == SHARE and not 0 < value <= 1:
            return f"{key} = {value}: {name} is a share, so its margin is a difference in (0, 1]"
    return None
