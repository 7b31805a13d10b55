from dataclasses import asdict

from snakemake.utils import validate

from sincvae import paths
from sincvae.learn import registry
from sincvae.paths import SPLITS
from sincvae.plan.jobs import STEPS, benchmark_file, log_file
from sincvae.plan.planning import SCORE, evaluated_splits, plan, without_removed
from sincvae.plan.rule_files import (
    TEMPORARY_OUTPUTS,
    id_pattern as one_of,
    other_id_pattern as not_one_of,
    notebook_config,
    power_settings,
    run_outputs,
    score_outputs,
)
from sincvae.score.metric_table import margins as claim_margins

validate(config, schema="../../config/schema.yaml")
config.update(without_removed(config))

# The whole study as a table of cases (sincvae.plan.planning, unit-tested without Snakemake): the
# comparison's cases, the search's grid points and `tuned` case, the ablations' levels.
PLAN = plan(config)
LEARNED = registry.learned()
DATASETS = list(config["datasets"])
CASES = PLAN.cases
CASE_IDS = PLAN.comparison
ABLATIONS = config.get("ablations") or {}
TUNING = config.get("tuning")
LEARNED_CASES = PLAN.learned_comparison
# The rows every method's lines and the exact solutions are scored on.
SCORED_SPLITS = evaluated_splits(config["evaluate"]["validation_rows"])
# The cases each dataset's notebook shows, and those with an encoder (latent-space figure).
INSPECT_CASES = config["report"]["inspect_cases"]
LATENT_CASES = PLAN.with_encoder(INSPECT_CASES)


wildcard_constraints:
    dataset=one_of(DATASETS),
    case=one_of([*CASES, *PLAN.external]),
    split=one_of(SPLITS),
    seeds=paths.BATCH_PATTERN,


def runs_here(rule):
    """Whether a rule's jobs run where Snakemake runs, not queued on a cluster: seconds of
    bookkeeping (its entry in the table of jobs, sincvae.plan.jobs.Step.local)."""
    return STEPS[rule].local


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


def per_batch(name, dataset=None, cases=CASE_IDS):
    """A run job's file `name` (paths.batch_file) of every batch of seeds of every case (or the
    given ones), of one dataset or of every dataset."""
    return [
        path
        for case in cases
        for batch in PLAN.batches(case)
        for path in per_case(paths.batch_file(name, batch), dataset, [case])
    ]


def cases_of(family):
    """A run rule's {case} pattern: the cases of its family (planning.Plan.run_rule)."""
    return one_of(case for case in PLAN.runs if PLAN.run_rule(case) == family)


def get_run_inputs(wildcards):
    """Input function: what a case's run job reads (planning.Plan.run_inputs)."""
    return PLAN.run_inputs(wildcards.case, wildcards.dataset, wildcards.seeds)


def get_score_inputs(wildcards):
    """Input function: what a case's score job reads (planning.Plan.score_inputs)."""
    return PLAN.score_inputs(wildcards.case, wildcards.dataset)


def get_run_outputs(family):
    """A run rule's outputs (rule_files.run_outputs), models and states temporary."""
    return {
        name: temp(path) if name in TEMPORARY_OUTPUTS else path
        for name, path in run_outputs(family).items()
    }


def first_batch(name, dataset, cases):
    """A run job's file `name` for the first batch of seeds (the first seed's) of each of `cases`."""
    return [paths.batch_file(name, PLAN.batches(c)[0], dataset, c) for c in cases]


def first_seed_models(cases):
    """Input function: the models of the first batch (holding the first seed's) of each of
    `cases` that trains, for the job's dataset."""
    return lambda w: first_batch(
        "models.pt", w.dataset, [c for c in cases if CASES[c]["method"] in LEARNED]
    )


def dataset_figure(name):
    """A per-dataset figure, in Snakemake's --report under its dataset with its caption."""
    return report(
        paths.fill(paths.DATASET_FIGURE, name=name),
        caption=f"../report/{name}.rst",
        category="{dataset}",
        subcategory=name.replace("_", " "),
    )


def external_submission(wildcards):
    return PLAN.external_file(wildcards.case, wildcards.dataset)


def reject_unknown_ids(wildcards):
    """Input function of unknown_case and unknown_dataset: fail while planning, naming the ids."""
    raise PLAN.unknown_target(wildcards.dataset, wildcards.case)
