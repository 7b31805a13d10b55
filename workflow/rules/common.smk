import itertools
import math
import re

import pandas as pd
from snakemake.utils import Paramspace

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
# Hyperparameter search (tuning.smk): each grid point is a case of its own, trained and
# evaluated by the usual rules (first seed only, not in the comparison); `tuned` is the
# search's best setting, a case of the comparison whose settings come from best.yaml.
TUNING = config.get("tuning")
GRID_CASES = {}
if TUNING:
    if TUNING["base_case"] not in CASES:
        raise ValueError(
            f"config: tuning.base_case {TUNING['base_case']!r} is not a case; cases are {', '.join(CASE_IDS)}"
        )
    _grid = pd.DataFrame(
        list(itertools.product(*TUNING["grid"].values())), columns=list(TUNING["grid"])
    )
    _space = Paramspace(_grid, filename_params="*")
    for _pattern, (_, _point) in zip(_space.instance_patterns, _grid.iterrows()):
        GRID_CASES[f"grid_{_pattern}"] = _point.to_dict()
        CASES[f"grid_{_pattern}"] = {
            **CASES[TUNING["base_case"]],
            **_point.to_dict(),
            "case": f"grid_{_pattern}",
        }
    if "tuned" in CASES:
        raise ValueError(
            "config: the case id 'tuned' is the search's best setting; rename that case"
        )
    CASES["tuned"] = {**CASES[TUNING["base_case"]], "case": "tuned", "tuned": True}
    CASE_IDS = [*CASE_IDS, "tuned"]
_bad_rows = [
    r for r in config["report"]["rows"] if r >= config["data"]["rows"]["scoring"]
]
if _bad_rows:
    raise ValueError(
        f"config: report.rows {_bad_rows} do not exist: the scoring split has "
        f"{config['data']['rows']['scoring']} rows"
    )
_unknown_inspect = [c for c in config["report"]["inspect_cases"] if c not in CASES]
if _unknown_inspect:
    raise ValueError(
        f"config: report.inspect_cases {_unknown_inspect} are not cases; cases are {', '.join(CASE_IDS)}"
    )
SEEDS = list(range(config["seeds"]))
# The methods that train a model (a train job, history.csv and loss curves): sincvae.methods.LEARNED,
# spelled out so that planning does not import torch (tests/test_methods.py checks they agree).
LEARNED_METHODS = ["cvae", "line_cvae", "flow"]
ENCODER_METHODS = ["cvae", "line_cvae"]  # a latent space to draw
LEARNED_CASES = [c for c in CASE_IDS if CASES[c]["method"] in LEARNED_METHODS]
if TUNING and CASES[TUNING["base_case"]]["method"] not in LEARNED_METHODS:
    raise ValueError(
        f"config: tuning.base_case {TUNING['base_case']!r} must be a case of a method that trains: {', '.join(LEARNED_METHODS)}"
    )
# The seed's recommended setting: the case the throughput benchmark trains.
FINAL_CASE = next(
    (c for c in LEARNED_CASES if c.startswith("final")), (LEARNED_CASES or CASE_IDS)[0]
)
GPUS_PER_JOB = 1 if config["device"] == "cuda" else 0


# The cases each dataset's notebook shows, and those with an encoder (latent-space figure).
INSPECT_CASES = config["report"]["inspect_cases"]
LATENT_CASES = [c for c in INSPECT_CASES if CASES[c]["method"] in ENCODER_METHODS]
NOTEBOOKS = expand("results/notebooks/{dataset}.html", dataset=DATASETS)
# A search's shared study (tuning.smk); not a declared output, so it outlives a killed job.
STUDY_JOURNAL = "results/tuning/{dataset}/study.journal"


def first_seed_models(cases):
    """Input function: the first seed's model of each of `cases` that trains, for the job's dataset."""
    return lambda w: expand(
        "results/{dataset}/{case}/seed{seed}/model.pt",
        dataset=w.dataset,
        case=[c for c in cases if c in LEARNED_CASES],
        seed=SEEDS[0],
    )


def method_inputs(wildcards):
    """What a case's evaluation reads besides the data: its trained model, or for nearest
    neighbours the training split it searches."""
    method = CASES[wildcards.case]["method"]
    if method in LEARNED_METHODS:
        run = f"results/{wildcards.dataset}/{wildcards.case}/seed{wildcards.seed}"
        return {
            "model": f"{run}/model.pt",
            "history": f"{run}/history.csv",
            **tuned_setting(wildcards),
        }
    if method == "nearest":
        return {"train": f"data/{wildcards.dataset}/train_dataset.pt"}
    return {}


def tuned_setting(wildcards):
    """The search's best setting, read by every job of the `tuned` case."""
    if wildcards.case == "tuned":
        return {"best": f"results/tuning/{wildcards.dataset}/best.yaml"}
    return {}


def train_runtime(wildcards):
    """Minutes: 3× margin on the ~14,500 samples/s measured on 2 CPU cores, plus start-up."""
    case = CASES[wildcards.case]
    samples = config["data"]["rows"]["train"] * case["epochs"]
    return 5 + math.ceil(samples / 5000 / 60)


def one_of(ids):
    return "|".join(re.escape(i) for i in ids)


wildcard_constraints:
    dataset=one_of(DATASETS),
    case=one_of([*CASE_IDS, *GRID_CASES]),
    split=one_of(SPLITS),
    seed=one_of(str(s) for s in SEEDS),


def case_params(wildcards):
    return {**CASES[wildcards.case], "seed": int(wildcards.seed)}


def dataset_params(wildcards):
    return config["datasets"][wildcards.dataset]


def per_case(pattern, dataset=None, cases=CASE_IDS, **fixed):
    """Paths of `pattern` for every case (or the given ones) of one dataset, or of every dataset."""
    datasets = DATASETS if dataset is None else [dataset]
    return expand(pattern, dataset=datasets, case=cases, **fixed)


def per_seed(pattern, learned_only=False):
    """Input function: `pattern` for every seed of the job's dataset and case (none for a
    training-free case when learned_only)."""

    def paths(w):
        if learned_only and w.case not in LEARNED_CASES:
            return []
        return expand(pattern, dataset=w.dataset, case=w.case, seed=SEEDS)

    return paths


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
