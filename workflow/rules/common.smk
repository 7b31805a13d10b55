import os
from dataclasses import asdict

from snakemake.utils import validate

from sincvae import registry
from sincvae.cost import Costs, job_table, plan_line, time_limits
from sincvae.jobs import (
    STEPS,
    benchmark_file,
    log_file,
    memory_mb,
    priority as job_priority,
)
from sincvae.machine import describe_cpu
from sincvae.planning import (
    SCORE,
    SPLITS,
    TEMPORARY_OUTPUTS,
    evaluated_splits,
    id_pattern as one_of,
    other_id_pattern as not_one_of,
    notebook_config,
    plan,
    power_settings,
    run_outputs,
    score_outputs,
    without_removed,
)

validate(config, schema="../../config/schema.yaml")
config.update(without_removed(config))

# The whole study as a table of cases (sincvae.planning, unit-tested without Snakemake): the
# comparison's cases, the search's grid points and `tuned` case, the ablations' levels.
PLAN = plan(config)
# Every job's cost in reference epochs, from the rates of this machine's file in config/costs/
# (sincvae.cost; the nearest machine's if it has none): results/plan.csv before anything
# trains, the time limits on a cluster.
MACHINE = describe_cpu()
COSTS = Costs.for_machine(os.path.join(workflow.basedir, "config", "costs"), MACHINE)
JOBS = job_table(PLAN, config, COSTS, cores_here())
# Each job's time limit on a cluster, by rule and case (cost.time_limits).
TIME_LIMITS = time_limits(JOBS, COSTS.reference_epoch_s)
LEARNED = registry.learned()
DATASETS = list(config["datasets"])
CASES = PLAN.cases
CASE_IDS = PLAN.comparison
ABLATIONS = config.get("ablations") or {}
TUNING = config.get("tuning")
# What the search's jobs read of `tuning`: the grid has jobs of its own.
SEARCH = {k: v for k, v in (TUNING or {}).items() if k != "grid"}
LEARNED_CASES = [c for c in CASE_IDS if CASES[c]["method"] in LEARNED]
# The rows every method's lines and the exact solutions are scored on.
SCORED_SPLITS = evaluated_splits(config["evaluate"]["validation_rows"])
GPUS_PER_JOB = 1 if config["device"] == "cuda" else 0
# The cases each dataset's notebook shows, and those with an encoder (latent-space figure).
INSPECT_CASES = config["report"]["inspect_cases"]
LATENT_CASES = PLAN.with_encoder(INSPECT_CASES)
NOTEBOOKS = expand("results/notebooks/{dataset}.html", dataset=DATASETS)
# A search's shared study (tuning.smk); not a declared output, so it outlives a killed job.
STUDY_JOURNAL = "results/tuning/{dataset}/study.journal"


wildcard_constraints:
    dataset=one_of(DATASETS),
    case=one_of([*CASES, *PLAN.external]),
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
        for path in per_case(pattern, dataset, [case], seed=PLAN.seeds[case])
    ]


def get_run_inputs(wildcards):
    """Input function: what a case's run job reads (planning.Plan.run_inputs)."""
    return PLAN.run_inputs(wildcards.case, wildcards.dataset)


def get_score_inputs(wildcards):
    """Input function: what a case's score job reads (planning.Plan.score_inputs)."""
    return PLAN.score_inputs(wildcards.case, wildcards.dataset)


def get_run_outputs(group):
    """A run rule's outputs (planning.run_outputs), models and states temporary."""
    return {
        name: temp(paths) if name in TEMPORARY_OUTPUTS else paths
        for name, paths in run_outputs(group.family, group.seeds).items()
    }


def time_limit(rule):
    """A job's runtime on a cluster: its rule's (a run rule's family) limit for its case."""
    return lambda wildcards: TIME_LIMITS[rule, wildcards.get("case")]


def memory_of(rule):
    """A rule's jobs' memory request, as the table of jobs has it (sincvae.jobs.memory_mb)."""
    return lambda wildcards, threads: memory_mb(rule, threads)


def priority_of(rule):
    """A rule's jobs' priority, as the table of jobs has it (sincvae.jobs.priority)."""
    return lambda wildcards: job_priority(PLAN, config, rule, wildcards.get("case"))


def first_seed_models(cases):
    """Input function: the first seed's model of each of `cases` that trains, for the job's dataset."""
    return lambda w: expand(
        "results/{dataset}/{case}/seed{seed}/model.pt",
        dataset=w.dataset,
        case=[c for c in cases if CASES[c]["method"] in LEARNED],
        seed=0,
    )


def dataset_figure(name):
    """A per-dataset figure, in Snakemake's --report under its dataset with its caption."""
    return report(
        f"results/{{dataset}}/figures/{name}.png",
        caption=f"../report/{name}.rst",
        category="{dataset}",
        subcategory=name.replace("_", " "),
    )


def search_threads():
    """The search job's threads, as the plan has them (planning.search_processes)."""
    return next(job["threads"] for job in JOBS if job["rule"] == "tune")


def external_submission(wildcards):
    return PLAN.external_file(wildcards.case, wildcards.dataset)


def reject_unknown_ids(wildcards):
    """Input function of unknown_case and unknown_dataset: fail while planning, naming the ids."""
    raise PLAN.unknown_target(wildcards.dataset, wildcards.case)
