import math
import re

from snakemake.utils import validate

validate(config, schema="../../config/schema.yaml")

SPLITS = ["train", "validation", "scoring"]
DATASETS = list(config["datasets"])
CASE_IDS = [row["case"] for row in config["cases"]]
_duplicates = sorted({c for c in CASE_IDS if CASE_IDS.count(c) > 1})
if _duplicates:
    raise ValueError(
        f"config: case ids must be unique, repeated: {', '.join(_duplicates)}"
    )
# One row per case with the training defaults filled in: the table every rule reads.
CASES = {row["case"]: {**config["train"], **row} for row in config["cases"]}
_bad_rows = [
    r for r in config["report"]["rows"] if r >= config["data"]["rows"]["scoring"]
]
if _bad_rows:
    raise ValueError(
        f"config: report.rows {_bad_rows} do not exist: the scoring split has "
        f"{config['data']['rows']['scoring']} rows"
    )
SEEDS = list(range(config["seeds"]))
# The seed's recommended setting: the case the throughput benchmark trains.
FINAL_CASE = next((c for c in CASE_IDS if c.startswith("final")), CASE_IDS[0])
GPUS_PER_JOB = 1 if config["device"] == "cuda" else 0


def train_runtime(wildcards):
    """Minutes: 3× margin on the ~14,500 samples/s measured on 2 CPU cores, plus start-up."""
    case = CASES[wildcards.case]
    samples = config["data"]["rows"]["train"] * case["epochs"]
    return 5 + math.ceil(samples / 5000 / 60)


def one_of(ids):
    return "|".join(re.escape(i) for i in ids)


wildcard_constraints:
    dataset=one_of(DATASETS),
    case=one_of(CASE_IDS),
    split=one_of(SPLITS),
    seed=one_of(str(s) for s in SEEDS),


def case_params(wildcards):
    return {**CASES[wildcards.case], "seed": int(wildcards.seed)}


def dataset_params(wildcards):
    return config["datasets"][wildcards.dataset]


def per_case(pattern, dataset=None, **fixed):
    """Paths of `pattern` for every case of one dataset, or of every dataset."""
    datasets = DATASETS if dataset is None else [dataset]
    return expand(pattern, dataset=datasets, case=CASE_IDS, **fixed)


def per_seed(pattern):
    """Input function: `pattern` for every seed of the job's dataset and case."""
    return lambda w: expand(pattern, dataset=w.dataset, case=w.case, seed=SEEDS)


def not_one_of(ids):
    """A wildcard pattern for any path segment except the given ids."""
    return f"(?!(?:{one_of(ids)})(?:/|$))[^/]+"


def reject_unknown_ids(wildcards):
    """Input function of unknown_id: fail while planning, naming the valid ids."""
    raise ValueError(
        f"unknown target results/{wildcards.dataset}/{wildcards.case}/metrics.json: "
        f"datasets are {', '.join(DATASETS)}; cases are {', '.join(CASE_IDS)}"
    )


def dataset_figure(name):
    """A per-dataset figure, in Snakemake's --report under its dataset with its caption."""
    return report(
        f"results/{{dataset}}/figures/{name}.png",
        caption=f"../report/{name}.rst",
        category="{dataset}",
        subcategory=name.replace("_", " "),
    )
