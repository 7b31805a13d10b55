import os
import re
import sys
from dataclasses import asdict

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from sincvae import registry
from sincvae.cost import Costs, job_table, time_limit_minutes, wall_ref
from sincvae.machine import describe_cpu
from sincvae.planning import (
    TUNED,
    evaluated_splits,
    plan,
    power_settings,
    without_removed,
)

validate(config, schema="../../config/schema.yaml")
config.update(without_removed(config))

# Every job that computes is CPU-bound: with --cores above the cores this process may use, jobs
# would share cores, each slower and none sooner (docs/cluster.md "Concurrency"). Those jobs
# declare the global resource `cpu` (their threads); run here, its limit is this machine's
# cores unless --resources cpu=N says otherwise. A cluster runs each job on its own cores, and
# queues what does not fit: there no limit is set, so Snakemake submits every job that is ready.
# While the Snakefile is read, Snakemake knows no executor yet (`workflow.local_exec` is True
# even under --executor slurm); a run elsewhere than here is one given --jobs (`workflow.nodes`).
MACHINE_CORES = len(os.sched_getaffinity(0))
if workflow.nodes is None and "cpu" not in workflow.global_resources:
    workflow.register_resource("cpu", MACHINE_CORES)
    print(
        f"at most {MACHINE_CORES} computing jobs at once: this machine's cores "
        f"(--resources cpu=N to change)",
        file=sys.stderr,
    )


def cpu_slots(wildcards, threads):
    """A computing job's share of the `cpu` resource: its threads."""
    return threads


def computing_cores():
    """How many computing jobs run at once here: --cores, capped by the `cpu` resource; the
    machine's cores when no --cores is given (snakemake --report)."""
    try:
        cores = workflow.cores
    except WorkflowError:
        cores = MACHINE_CORES
    resources = workflow.global_resources
    return min(cores, resources["cpu"].value if "cpu" in resources else MACHINE_CORES)


# The whole study as a table of cases (sincvae.planning, unit-tested without Snakemake): the
# comparison's cases, the search's grid points and `tuned` case, the ablations' levels.
PLAN = plan(config)
# Every job's cost in reference epochs, from the rates of this machine's file in config/costs/
# (sincvae.cost; the nearest machine's if it has none): results/plan.csv before anything
# trains, the time limits on a cluster.
MACHINE = describe_cpu()
COSTS = Costs.for_machine(os.path.join(workflow.basedir, "config", "costs"), MACHINE)
JOBS = job_table(
    PLAN, config, COSTS, None if workflow.nodes is not None else computing_cores()
)
LEARNED = registry.learned()
SPLITS = ["train", "validation", "scoring"]
DATASETS = list(config["datasets"])
CASES = PLAN.cases
CASE_IDS = PLAN.comparison
# Other people's samples (config `external`), scored into the comparison as method `external`.
EXTERNAL = PLAN.external
GRID_CASES = PLAN.grid_jobs
ABLATION_CASES = PLAN.ablation
ABLATIONS = config.get("ablations") or {}
CASE_SEEDS = PLAN.seeds
# The run jobs' rules (workflow/rules/train.smk): one per rule family and seed count.
RUN_GROUPS = PLAN.run_groups()
TUNING = config.get("tuning")
# What the search's jobs read of `tuning`: the grid has jobs of its own.
SEARCH = {k: v for k, v in (TUNING or {}).items() if k != "grid"}
LEARNED_CASES = [c for c in CASE_IDS if CASES[c]["method"] in LEARNED]
CONTENDERS = PLAN.contenders
REFERENCE_CASE = config["reference_case"]
# The rows every method's lines and the exact solutions are scored on.
SCORED_SPLITS = evaluated_splits(config["evaluate"]["validation_rows"])
GPUS_PER_JOB = 1 if config["device"] == "cuda" else 0
# The cases each dataset's notebook shows, and those with an encoder (latent-space figure).
INSPECT_CASES = config["report"]["inspect_cases"]
LATENT_CASES = [
    c for c in INSPECT_CASES if CASES[c]["method"] in registry.with_encoder()
]
NOTEBOOKS = expand("results/notebooks/{dataset}.html", dataset=DATASETS)
# A search's shared study (tuning.smk); not a declared output, so it outlives a killed job.
STUDY_JOURNAL = "results/tuning/{dataset}/study.journal"


def first_seed_models(cases):
    """Input function: the first seed's model of each of `cases` that trains, for the job's dataset."""
    return lambda w: expand(
        "results/{dataset}/{case}/seed{seed}/model.pt",
        dataset=w.dataset,
        case=[c for c in cases if CASES[c]["method"] in LEARNED],
        seed=0,
    )


def notebook_config(dataset):
    """What the inspection notebook reads of the config. Only this is its params, so another
    case or dataset (an overlay config) leaves the notebook, and the temporary models of the
    cases it inspects, alone."""
    return {
        "train": config["train"],
        "cases": [row for row in config["cases"] if row["case"] in INSPECT_CASES],
        "datasets": {dataset: config["datasets"][dataset]},
        "data": {"tolerance": config["data"]["tolerance"]},
    }


def run_inputs(wildcards):
    """What a case's job (its planning.Run) reads: the data of each split it generates for,
    the train split (and the validation split, for the validation losses) if its method learns
    or searches the train split (nearest neighbours), the train split's exact solutions if it
    trains towards them, the search's best setting for `tuned`, and the states an epochs level
    continues from."""
    run = PLAN.runs[wildcards.case]
    method = registry.method(run.case["method"])
    splits = [split for split, _ in run.splits]
    if method.learns or "train" in method.needs:
        splits.append("train")
    if method.learns and run.validation_loss:
        splits.append("validation")
    return {
        **{
            split: f"data/{wildcards.dataset}/{split}_dataset.pt"
            for split in dict.fromkeys(splits)
        },
        **(
            {
                "train_solutions": f"results/{wildcards.dataset}/exact/train_solutions.parquet"
            }
            if run.trains_on_solutions
            else {}
        ),
        **tuned_setting(wildcards),
        **continued_states(wildcards),
    }


def tuned_setting(wildcards):
    """The search's best setting, read by every job of the `tuned` case."""
    if wildcards.case == TUNED:
        return {"best": f"results/tuning/{wildcards.dataset}/best.yaml"}
    return {}


def continued_states(wildcards):
    """An epochs level of the ablations resumes each seed from the end of the next shorter level's run."""
    shorter = PLAN.continued_from.get(wildcards.case)
    if shorter is None:
        return {}
    return {
        "starts": expand(
            "results/{dataset}/{case}/seed{seed}/state.pt",
            dataset=wildcards.dataset,
            case=shorter,
            seed=CASE_SEEDS[shorter],
        )
    }


def seeds_of(pattern, seeds):
    """A per-case job's per-seed outputs: `pattern` for each of `seeds`."""
    return expand(pattern, seed=seeds, allow_missing=True)


def run_outputs(family, seeds):
    """What a run job of `family` (planning.RunGroup) writes for each of `seeds`: its lines,
    their scores per line and per row, its metrics and timings; the loss history of a method
    that learns; the model of a case the notebooks and latent figures may read (temp: 3-5 MB
    each; `--notemp` keeps them, README "Disk"); the training state a longer epochs level
    resumes; and the case's metrics.json (a grid point's are per seed)."""
    per_seed = "results/{{dataset}}/{{case}}/seed{{seed}}/{}"
    files = [
        "lines.parquet",
        "scores.parquet",
        "rows.parquet",
        "metrics.json",
        "timing.json",
    ]
    outputs = {f.split(".")[0]: seeds_of(per_seed.format(f), seeds) for f in files}
    if family in ("train", "train_grid_point"):
        outputs["models"] = temp(seeds_of(per_seed.format("model.pt"), seeds))
    if family != "generate":
        outputs["histories"] = seeds_of(per_seed.format("history.csv"), seeds)
    if family != "train_grid_point":
        outputs["summary"] = "results/{dataset}/{case}/metrics.json"
    if family == "ablation_continued":
        outputs["states"] = temp(seeds_of(per_seed.format("state.pt"), seeds))
    return outputs


# Above every training chain: short jobs that the search (the longest chain) and scoring wait on,
# and every job that trains nothing, as soon as it is ready: a core left to wait on one at the
# end of the run idles (the training-free methods' jobs, figures, verdicts, the notebook).
FIRST = 10**6
# The train split's exact solutions, which only the cases that train towards them wait on: after
# the jobs above, before any training.
BEFORE_TRAINING = FIRST - 1


def training_priority(wildcards):
    """Longest training chains start first, so fewer cores idle at the end (Plan.training_chain)."""
    return PLAN.training_chain(wildcards.case)


def search_priority():
    """Seed-epochs of the search's trials and of the tuned case trained after it."""
    return TUNING["trials"] * CASES[TUNING["base_case"]][
        "epochs"
    ] + PLAN.training_chain(TUNED)


def study_cost_line():
    """The plan in one line: jobs, reference epochs, and minutes at the calibrating machine's
    reference epoch on the cores the computing jobs get."""
    cores = computing_cores()
    wall = wall_ref(JOBS, cores)
    return (
        f"planned: {len(JOBS)} jobs, {sum(job['ref'] for job in JOBS):,.0f} reference epochs of CPU, "
        f"{wall:,.0f} of wall time on {cores} cores: about {wall * COSTS.reference_epoch_s / 60:.0f} min "
        f"at {COSTS.reference_epoch_s:.2f} s per reference epoch (rates of {COSTS.cpu}"
        f"{'' if COSTS.cpu == MACHINE else f'; this machine: {MACHINE}, which `python -m sincvae.calibration probe` times'}); "
        f"`snakemake results/plan.csv` measures this machine's"
    )


def job_minutes(case):
    """A run job's time limit on a cluster (cost.time_limit_minutes)."""
    ref = max(job["ref"] for job in JOBS if job["case"] == case)
    return time_limit_minutes(ref, COSTS.reference_epoch_s)


def search_threads():
    """The search job's threads, as the plan has them: its workers on a cluster node (a run
    given --jobs), fewer than the computing cores here (planning.search_processes)."""
    return next(job["threads"] for job in JOBS if job["rule"] == "tune")


def tune_minutes():
    """The search's time limit on a cluster (cost.time_limit_minutes): its CPU over its threads."""
    ref = max(job["ref"] / job["threads"] for job in JOBS if job["rule"] == "tune")
    return time_limit_minutes(ref, COSTS.reference_epoch_s)


def one_of(ids):
    """A wildcard pattern for exactly these ids; none: a pattern nothing matches (an empty
    constraint would match anything)."""
    return "|".join(re.escape(i) for i in ids) or "(?!)"


wildcard_constraints:
    dataset=one_of(DATASETS),
    case=one_of([*CASES, *EXTERNAL]),
    split=one_of(SPLITS),
    seed=one_of(str(s) for s in PLAN.all_seeds),


def dataset_params(wildcards):
    return config["datasets"][wildcards.dataset]


def enumerator_tolerance(wildcards):
    """data.tolerance for a case whose method runs the exact enumerator (registry.Method.needs),
    else None: the other cases do not read it, so changing it leaves them alone."""
    method = registry.method(PLAN.runs[wildcards.case].case["method"])
    return config["data"]["tolerance"] if "tolerance" in method.needs else None


def per_case(pattern, dataset=None, cases=CASE_IDS, **fixed):
    """Paths of `pattern` for every case (or the given ones) of one dataset, or of every dataset."""
    datasets = DATASETS if dataset is None else [dataset]
    return expand(pattern, dataset=datasets, case=cases, **fixed)


def per_case_seed(pattern, dataset=None, cases=CASE_IDS):
    """Paths of `pattern` for every seed of every case (or the given ones), each case its own
    seeds, of one dataset or of every dataset."""
    return [
        path
        for case in cases
        for path in per_case(pattern, dataset, [case], seed=CASE_SEEDS[case])
    ]


def per_seed(pattern, learned_only=False):
    """Input function: `pattern` for every seed of the job's dataset and case (none for a
    training-free case when learned_only)."""

    def paths(w):
        if learned_only and CASES[w.case]["method"] not in LEARNED:
            return []
        return expand(pattern, dataset=w.dataset, case=w.case, seed=CASE_SEEDS[w.case])

    return paths


def external_submission(wildcards):
    """The file of an external sample set, scored on the dataset its config entry names."""
    spec = EXTERNAL[wildcards.case]
    if wildcards.dataset != spec["dataset"]:
        raise ValueError(
            f"external {wildcards.case!r} answers {spec['dataset']}'s scoring split: "
            f"ask for results/{spec['dataset']}/{wildcards.case}/metrics.json"
        )
    return spec["path"]


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
