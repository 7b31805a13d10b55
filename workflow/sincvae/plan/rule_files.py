"""What the rules read of the plan: a run and a score job's outputs, the wildcard patterns of
the ids, and the params of the notebook and the power job. Torch-free."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sincvae import paths

if TYPE_CHECKING:
    from sincvae.plan.planning import Plan


# Run outputs that the jobs after the run job delete once read (Snakemake's temp): models
# (3-5 MB each; `--notemp` keeps them, README "Disk") and training states.
TEMPORARY_OUTPUTS = ("models", "states")


def run_outputs(family: str) -> dict[str, str]:
    """What a run job of `family` (Plan.run_rule) writes for its batch of seeds, with
    {dataset}, {case} and {seeds} left as wildcards: its seeds' lines and timings; the loss
    history of a method that learns; the models of a case the notebooks and latent figures may
    read; and the training states a longer epochs level resumes. Each file has a `seed` column
    or key; the case's score job (score_outputs) scores every batch's lines."""
    names = [("lines", "lines.parquet"), ("timing", "timing.json")]
    if family in ("train", "train_grid_point"):
        names.append(("models", "models.pt"))
    if family != "generate":
        names.append(("histories", "history.csv"))
    if family == "ablation_continued":
        names.append(("states", "states.pt"))
    return {name: paths.batch_file(file) for name, file in names}


def score_outputs() -> dict[str, str]:
    """What a case's score job writes: its seeds' scores per line and per row (a `seed` column)
    and metrics (a list, in seed order), the case's metrics.json over its seeds, and the seconds
    its scoring took (calibration's)."""
    return {"scores": paths.CASE_SCORES, "rows": paths.CASE_ROWS, "seed_metrics": paths.SEED_METRICS,
            "summary": paths.CASE_METRICS, "timing": paths.SCORE_TIMING}


def notebook_config(config: dict, dataset: str) -> dict:
    """What the inspection notebook of `dataset` reads of the config. Only this is its params,
    so another case or dataset (an overlay config) leaves the notebook, and the temporary models
    of the cases it inspects, alone."""
    inspected = config["report"]["inspect_cases"]
    return {"train": config["train"], "cases": [row for row in config["cases"] if row["case"] in inspected],
            "datasets": {dataset: config["datasets"][dataset]}, "data": {"tolerance": config["data"]["tolerance"]}}


def id_pattern(ids) -> str:
    """A wildcard pattern for exactly these ids; none: a pattern nothing matches (an empty
    constraint would match anything)."""
    return "|".join(re.escape(i) for i in ids) or "(?!)"


def other_id_pattern(ids) -> str:
    """A wildcard pattern for any path segment except the given ids."""
    return f"(?!(?:{id_pattern(ids)})(?:/|$))[^/]+"


def power_settings(study: Plan, config: dict) -> dict:
    """What sincvae.decide.power.power reads of a plan: every compared case's planned seed count, the
    contenders of a ranking, the primary claim tests of the family and both alphas."""
    ablations = config.get("ablations") or {}
    return {"seeds": {case: len(study.seeds[case]) for case in [*study.contenders, *study.ablation]},
            "rows": config["data"]["rows"]["scoring"], "contenders": len(study.contenders), "ranking_alpha": config["ranking"]["alpha"],
            "claim_tests": len(study.claims) * len(config["datasets"]) * len(ablations.get("variants", [])),
            "claim_alpha": ablations.get("alpha", 0.05)}
