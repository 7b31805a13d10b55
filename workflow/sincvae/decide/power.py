"""What the planned seeds can decide, said before anything trains.

A finished study's per-row scores give the variance components (stats.Components) of every
comparison it decides: each case against its dataset × stage's leader (the ranking), and each
claim's recommended level against each level outside the claim (the ablations, paired by seed).
`python -m sincvae.decide.power store` keeps them in config/variance.csv, the way config/costs/ keeps
the rates. From them, `power` gives each comparison's error at the seeds the config plans and
the smallest effect the study's test detects with 80% power at its own level: for a claim, the
difference test's family level (claims.decide's mde_support); for the ranking, one side of the
MCB's interval over the other contenders (ranking._comparisons). Torch-free.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sincvae import paths as files
from sincvae.decide import stats
from sincvae.plan.planning import plan, without_removed

COMPONENT_COLUMNS = ["kind", "dataset", "stage", "metric", "case", "against", "paired", "rows", "row", "seed_case",
                     "interaction_case", "seed_against", "interaction_against", "seeds_case", "seeds_against"]
POWER_COLUMNS = ["kind", "dataset", "stage", "metric", "case", "against", "seeds_case", "seeds_against", "rows", "se",
                 "df", "level", "detectable", "units", "measured_seeds_case", "measured_seeds_against", "measured_rows"]


def _record(kind, dataset, stage, metric, case, against, paired, tables, seeds) -> dict:
    parts = stats.components(*tables)
    return {"kind": kind, "dataset": dataset, "stage": stage, "metric": metric, "case": case, "against": against,
            "paired": paired, "rows": parts.rows, "row": parts.row, "seed_case": parts.seed[0],
            "interaction_case": parts.interaction[0],
            "seed_against": parts.seed[1] if len(parts.seed) > 1 else 0.0,
            "interaction_against": parts.interaction[1] if len(parts.interaction) > 1 else 0.0,
            "seeds_case": seeds[0], "seeds_against": seeds[1]}


def measure(rows: pd.DataFrame, contenders: list[str], levels: list[dict], ranking_metric: str,
            primary: str) -> pd.DataFrame:
    """Components of every comparison a study decides, from its per-row scores on the scoring
    split (dataset, stage, case, seed, row and the metrics): per dataset × stage, each of the
    `contenders` against the one with the smallest mean `ranking_metric` (the leader); per dataset, each
    sweep's reference level against each level outside its claim on `primary`, raw stage, paired
    where the two share their seeds. On each metric's scale (stats.on_scale)."""
    records = []
    ranked = rows[rows["case"].isin(contenders)]
    for (dataset, stage), part in ranked.groupby(["dataset", "stage"], sort=False):
        tables = {case: stats.level_table(part, case, ranking_metric) for case in part["case"].unique()}
        tables = {case: table for case, table in tables.items()
                  if not np.isnan(table).any() and len(table) > 1}
        if not tables:
            continue
        means = {case: table.mean() for case, table in tables.items()}
        leader = min(means, key=means.get) if stats.LOWER_IS_BETTER[ranking_metric] else max(means, key=means.get)
        for case, table in tables.items():
            if case != leader:
                scaled, _ = stats.on_scale(table, tables[leader], ranking_metric)
                records.append(_record("ranking", dataset, stage, ranking_metric, case, leader, False, scaled,
                                       (len(table), len(tables[leader]))))
    raw = rows[rows["stage"] == "raw"]
    frame = pd.DataFrame(levels)
    for dataset, part in raw.groupby("dataset", sort=False):
        if frame.empty or not set(frame["case"]) <= set(part["case"]):
            continue
        for (variant, factor), sweep in frame.groupby(["variant", "factor"], sort=False):
            reference = sweep[sweep["reference"]].iloc[0]["case"]
            table = stats.level_table(part, reference, primary)
            for case in sweep[~sweep["in_claim"]]["case"]:
                other = stats.level_table(part, case, primary)
                paired = other.shape == table.shape
                scaled, _ = stats.on_scale(other, table, primary, paired)
                records.append(_record("claim", dataset, "raw", primary, case, reference, paired, scaled,
                                       (len(other), len(table))))
    return pd.DataFrame(records, columns=COMPONENT_COLUMNS)


def power(components: pd.DataFrame, seeds: dict[str, int], rows: int, contenders: int, ranking_alpha: float,
          claim_tests: int, claim_alpha: float) -> pd.DataFrame:
    """Each stored comparison of a case still in the plan (`seeds`: case -> its planned seed
    count): its error and df at the planned seeds and scoring `rows`, and the smallest effect detected with 80%
    power at its test's level (one-sided). Ranking: alpha / (2 · (contenders - 1)), one side of
    the MCB's interval for one comparison; claims: alpha / (2 · claim_tests), the difference test's family level. In
    config's units: a ratio of means on a log-scale metric, a difference otherwise."""
    out = []
    for record in components.to_dict("records"):
        if record["case"] not in seeds or record["against"] not in seeds:
            continue
        planned = (seeds[record["case"]], seeds[record["against"]])
        if record["paired"] and planned[0] != planned[1]:
            continue  # a sweep's levels share their seeds: planned with one count
        tables = 1 if record["paired"] else 2  # a paired contrast is of one table, the differences
        parts = stats.Components(int(record["rows"]), record["row"],
                                 (record["seed_case"], record["seed_against"])[:tables],
                                 (record["interaction_case"], record["interaction_against"])[:tables])
        estimate = parts.estimate(planned[:tables], rows=rows)
        level = ranking_alpha / (2 * max(contenders - 1, 1)) if record["kind"] == "ranking" \
            else claim_alpha / (2 * max(claim_tests, 1))
        effect = stats.detectable(estimate, level)
        log = stats.SCALES[record["metric"]] == "log"
        out.append({**{k: record[k] for k in ("kind", "dataset", "stage", "metric", "case", "against")},
                    "seeds_case": planned[0], "seeds_against": planned[1], "rows": rows, "se": estimate.se,
                    "df": estimate.df,
                    "level": level, "detectable": math.exp(effect) if log else effect,
                    "units": "ratio of means" if log else "difference of means",
                    "measured_seeds_case": record["seeds_case"], "measured_seeds_against": record["seeds_against"],
                    "measured_rows": record["rows"]})
    return pd.DataFrame(out, columns=POWER_COLUMNS)


def _study_rows(results: Path, config: dict) -> tuple[pd.DataFrame, list[str], list[dict]]:
    """A finished study's per-row scores on the scoring split, its contenders and its ablation levels."""
    study = plan(without_removed(config))
    paths = [results / Path(files.fill(files.CASE_ROWS, dataset=dataset, case=case)).relative_to("results")
             for dataset in config["datasets"] for case in [*study.contenders, *study.ablation]]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"{missing[0]}: not a finished study of this config "
                                f"({len(missing)} score files missing); run it first")
    rows = pd.concat(pd.read_parquet(p) for p in paths)
    return rows[rows["split"] == "scoring"], study.contenders, [vars(level) for level in study.levels]


def decided_rows(rows: pd.DataFrame, contenders: list[str], levels: list[dict], ranking_metric: str,
                 primary: str) -> pd.DataFrame:
    """The per-row scores a study's decisions read, and no more: the contenders' `ranking_metric`
    per dataset × stage, and each ablation level's `primary` metric (raw stage) with its sweep
    (variant, factor, level, in_claim, reference). The level simulations (tests/test_levels.py)
    resample these."""
    keep = ["dataset", "stage", "case", "seed", "row"]
    ranked = rows[rows["case"].isin(contenders)][keep + [ranking_metric]].rename(columns={ranking_metric: "value"})
    ranked = ranked.assign(kind="ranking", metric=ranking_metric)
    sweeps = pd.DataFrame(levels)
    claimed = pd.DataFrame()
    if not sweeps.empty:
        raw = rows[(rows["stage"] == "raw") & rows["case"].isin(sweeps["case"])]
        claimed = raw[keep + [primary]].rename(columns={primary: "value"}).merge(
            sweeps[["case", "variant", "factor", "level", "in_claim", "reference"]], on="case")
        claimed = claimed.assign(kind="claim", metric=primary, level=claimed["level"].astype(str))
    table = pd.concat([ranked, claimed], ignore_index=True)
    return table.assign(**{flag: table[flag].eq(True) for flag in ("in_claim", "reference") if flag in table})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sincvae.decide.power", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["store", "rows"],
                        help="store: a finished study's variance components into --out (config/variance.csv); "
                             "rows: the per-row scores its decisions read into --out (a parquet file)")
    parser.add_argument("--config", default="config/config.yaml", help="the finished study's config")
    parser.add_argument("--results", default="results", help="its results folder")
    parser.add_argument("--out", default="config/variance.csv")
    args = parser.parse_args(argv)
    with open(args.config) as f:
        config = yaml.safe_load(f)
    try:
        rows, contenders, levels = _study_rows(Path(args.results), config)
    except FileNotFoundError as err:
        sys.exit(f"sincvae.decide.power: {err}")
    metric, primary = config["ranking"]["metric"], (config.get("ablations") or {}).get("primary", "distance")
    if args.command == "rows":
        table = decided_rows(rows, contenders, levels, metric, primary)
        table.to_parquet(args.out, index=False, compression="zstd")
        print(f"{args.out}: {len(table)} per-row scores from {args.results}", file=sys.stderr)
        return
    table = measure(rows, contenders, levels, metric, primary)
    table.to_csv(args.out, index=False)
    print(f"{args.out}: {len(table)} comparisons from {args.results}", file=sys.stderr)


if __name__ == "__main__":
    main()
