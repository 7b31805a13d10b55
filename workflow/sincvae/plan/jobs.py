"""The study as one table of steps and their jobs: a rule is one entry of STEPS, which says its
jobs' wildcards, threads, memory, priority, whether it runs where Snakemake runs (a cluster's
local rules), what one of its jobs costs and how a calibration measures it. The rules read their
log and benchmark paths, memory and priority from here, the plan prices its jobs (`job_table`:
results/plan.csv), calibration measures them (sincvae.plan.measured) and the report lists their
benchmarks; none of them names a rule.

Adding a rule takes its rule block, its script and its entry in STEPS (tests/test_jobs.py adds a
toy one). Torch-free: the Snakefile builds the table while parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sincvae.plan import measured
from sincvae.plan.cost import (PER_1000, Costs, estimated_rate, ranking_pairs, run_cost, score_cost, scored_rows,
                               train_rows, trial_cost)
from sincvae.paths import SPLITS
from sincvae.plan.planning import SCORE, Plan, family_of, search_processes

# Above every training chain: short jobs that the search (the longest chain) and scoring wait on,
# and every job that trains nothing, as soon as it is ready: a core left to wait on one at the
# end of the run idles (the training-free methods' jobs, figures, verdicts, the notebook).
FIRST = 10**6
# The train split's exact solutions, which only the cases that train towards them wait on: after
# the jobs above, before any training.
BEFORE_TRAINING = FIRST - 1
CASE_WILDCARDS = ("dataset", "case")  # a run or score job's
RUN_MB, ABLATION_MB, SCORE_MB, SEARCH_MB = 2500, 1500, 1000, 1500  # about twice each measured peak


@dataclass(frozen=True)
class Step:
    """A rule of the workflow: its jobs and what each asks and costs."""

    wildcards: tuple[str, ...]  # of its jobs: () one job for the study; ("dataset",) one per dataset; ...
    local: bool = False  # seconds of bookkeeping: on a cluster it runs where Snakemake runs, not queued
    # the part of the study it belongs to, without which it has no jobs (Part); None: always there
    part: str | None = None
    estimate: float = 5.0  # reference epochs per job until a calibration measures it (config/costs/)
    # Snakemake's, among the jobs ready at once: a number, or of (plan, config, case)
    priority: int | Callable[[Plan, dict, str | None], int] = 0
    threads: Callable[[Plan, dict, int | None], int] | None = None  # of (plan, config, cores); None: 1
    memory_mb: Callable[[int], int] | None = None  # of its threads; None: the profile's default
    # its jobs' wildcard values, of (plan, config); None: every dataset (and split) its wildcards name
    jobs: Callable[[Plan, dict], list[dict]] | None = None
    # reference epochs of a job, of (plan, config, costs, job), from the size of its work; None:
    # its rule's rate per job in the costs file, else `estimate`
    cost: Callable[[Plan, dict, Costs, dict], float] | None = None
    # whether that cost is an estimate, of (plan, costs, job); None: no rate per job measured it
    estimated: Callable[[Plan, Costs, dict], bool] | None = None
    # what a calibration measures of a finished job (sincvae.plan.measured): None: its seconds per job
    measure: Callable[[measured.Finished, dict], list[measured.Record]] = measured.per_job


def _runs_of(family: str | None) -> Callable[[Plan, dict], list[dict]]:
    """The jobs of a family of run rules, one per case and dataset; None: of every case (scoring)."""
    return lambda plan, config: [{"dataset": d, "case": c} for d in plan.datasets for c in plan.runs
                                 if family is None or plan.run_rule(c) == family]


def _configured_threads(plan: Plan, config: dict, cores: int | None) -> int:
    return config["threads"]


def _run_step(family: str, memory: int, priority) -> Step:
    """A family of run jobs (planning.Plan.run_rule): a case's seeds trained, then its lines drawn."""
    return Step(CASE_WILDCARDS, jobs=_runs_of(family), threads=_configured_threads,
                memory_mb=lambda threads: memory, priority=priority,
                cost=lambda plan, config, costs, job: costs.startup[job["rule"]] + run_cost(
                    plan.runs[job["case"]], costs, config["data"]["rows"], plan.epochs_done(job["case"])),
                estimated=_method_guessed, measure=measured.run_job)


def _method_guessed(plan: Plan, costs: Costs, job: dict) -> bool:
    return estimated_rate(plan.runs[job["case"]].case["method"], costs)


def _training_chain(plan: Plan, config: dict, case: str | None) -> int:
    return plan.training_chain(case)


def _train_split_solver(plan: Plan, config: dict, costs: Costs, job: dict) -> float:
    """The solver's job on the scored rows, and the train split's rows past those."""
    extra = train_rows(config) - scored_rows(config)
    return per_job_cost("solve_exact", costs) + extra / PER_1000 * costs.solve


def _search(plan: Plan, config: dict, costs: Costs, job: dict) -> float:
    """The search's start-up and its trials, pruned ones stopping early (`trial_share`)."""
    trials = config["tuning"]["trials"] * costs.trial_share * trial_cost(plan.search, costs, config["data"]["rows"])
    return costs.startup["train"] + trials


def _sized(plan: Plan, costs: Costs, job: dict) -> bool:
    """Never an estimate: priced from its size by rates that every calibration fits."""
    return False


STEPS: dict[str, Step] = {
    "generate_data": Step(("dataset", "split"), priority=FIRST, measure=measured.if_generated),
    "validate_data": Step(("dataset",), priority=FIRST),
    "solve_exact": Step(("dataset",), priority=FIRST, measure=measured.scored_rows_solver_job),
    "solve_train": Step(("dataset",), part="solutions", priority=BEFORE_TRAINING, cost=_train_split_solver,
                        estimated=_sized, measure=measured.solver_job(train_rows)),
    "score_exact": Step(("dataset",), priority=FIRST),
    # the run jobs' families (planning.Plan.run_rule); a training job by its chain's seed-epochs
    "train": _run_step("train", RUN_MB, _training_chain),
    "train_grid_point": _run_step("train_grid_point", RUN_MB, _training_chain),
    "generate": _run_step("generate", RUN_MB, FIRST),
    "ablation": _run_step("ablation", ABLATION_MB, _training_chain),
    "ablation_continued": _run_step("ablation_continued", ABLATION_MB, _training_chain),
    SCORE: Step(CASE_WILDCARDS, jobs=_runs_of(None), priority=FIRST, memory_mb=lambda threads: SCORE_MB,
                cost=lambda plan, config, costs, job: score_cost(plan.runs[job["case"]], costs, config["data"]["rows"]),
                estimated=_method_guessed, measure=measured.score_job),
    "score_external": Step(CASE_WILDCARDS, part="external", memory_mb=lambda threads: SCORE_MB,
                           jobs=lambda plan, config: [{"dataset": spec["dataset"], "case": name}
                                                      for name, spec in plan.external.items()],
                           cost=lambda plan, config, costs, job: costs.score_external, estimated=_sized,
                           measure=lambda study, job: []),
    # the search: its trials at once in processes of their own, the longest chain of the study
    "tune": Step(("dataset",), part="tuning", memory_mb=lambda threads: SEARCH_MB * threads,
                 threads=lambda plan, config, cores: search_processes(config["tuning"]["workers"], cores),
                 priority=lambda plan, config, case: plan.search_priority(config["tuning"]["trials"]),
                 cost=_search, estimated=_sized, measure=measured.search_job),
    "grid": Step(("dataset",), local=True, part="tuning", priority=FIRST),
    "best_setting": Step(("dataset",), local=True, part="tuning", priority=FIRST),
    "plot_dataset": Step(("dataset",), priority=FIRST),
    "notebook": Step(("dataset",), priority=FIRST),
    "plot_latent": Step(("dataset",), part="latent", priority=FIRST),
    "plan": Step((), local=True, priority=FIRST),  # it times the reference epoch: before a core is busy
    "power": Step((), local=True, priority=FIRST),
    "compare": Step((), local=True),
    "rank_methods": Step((), local=True, estimated=_sized, measure=measured.ranking_job,
                         cost=lambda plan, config, costs, job: ranking_pairs(plan, config) / PER_1000 * costs.rank),
    "plot_comparison": Step((), local=True),
    "verdicts": Step((), local=True, part="ablations", priority=FIRST),
    "plot_claims": Step((), local=True, part="ablations", priority=FIRST),
    "findings": Step((), local=True),
    "report": Step((), local=True),
    "throughput": Step((), part="asked", threads=_configured_threads),
}


def step_of(rule: str) -> Step:
    """A rule's entry; a run or score rule for another seed count (train_8_seeds) is its family's."""
    return STEPS[family_of(rule)]


def _job_file(kind: str, extension: str, rule: str, values: dict[str, str] | None) -> str:
    names = step_of(rule).wildcards
    parts = [values[name] if values is not None else f"{{{name}}}" for name in names]
    return "/".join([kind, rule, *parts]) + extension


def log_file(rule: str, values: dict[str, str] | None = None) -> str:
    """A job's log: logs/<rule>/<wildcards...>.log, with the job's values, or as a rule's pattern."""
    return _job_file("logs", ".log", rule, values)


def benchmark_file(rule: str, values: dict[str, str] | None = None) -> str:
    """A job's benchmark: benchmarks/<rule>/<wildcards...>.tsv, with the job's values, or as a
    rule's pattern."""
    return _job_file("benchmarks", ".tsv", rule, values)


def priority(plan: Plan, config: dict, rule: str, case: str | None = None) -> int:
    """A job's priority (Step.priority): a training job's its chain's seed-epochs
    (Plan.training_chain: the longest chains start first, so fewer cores idle at the end); the
    search's its trials' and the tuned case's; a job that trains nothing first."""
    value = step_of(rule).priority
    return value(plan, config, case) if callable(value) else value


def memory_mb(rule: str, threads: int = 1) -> int | None:
    """A job's memory request in MB (Step.memory_mb), about twice its measured peak
    (tests/test_pipeline.py holds the margin); None: the profile's default."""
    memory = step_of(rule).memory_mb
    return None if memory is None else memory(threads)


def parts(plan: Plan, config: dict) -> set[str]:
    """The parts of the study this config has (Step.part)."""
    present = {
        "solutions": any(run.trains_on_solutions for run in plan.runs.values()),
        "external": bool(plan.external),
        "tuning": plan.search is not None,
        "latent": bool(plan.with_encoder(config["report"]["inspect_cases"])),
        "ablations": bool(plan.claims),
    }
    return {part for part, there in present.items() if there}


def _values(step: Step, plan: Plan, config: dict) -> list[dict]:
    """A step's jobs' wildcard values: its own, else every dataset (and split) its wildcards name."""
    if step.jobs is not None:
        return step.jobs(plan, config)
    if not step.wildcards:
        return [{}]
    splits = SPLITS if "split" in step.wildcards else (None,)
    return [{"dataset": d, **({"split": s} if s else {})} for d in plan.datasets for s in splits]


def study_jobs(plan: Plan, config: dict, cores: int | None = None) -> list[dict]:
    """Every job of the study: rule, dataset, case, split (None where its rule has no such
    wildcard), threads, memory (mem_mb), priority, local, log and benchmark. `cores`: the
    computing jobs' cores of the machine it runs on (None: a cluster), which set the search
    job's threads."""
    present = parts(plan, config)
    jobs = []
    for rule, step in STEPS.items():
        if step.part is not None and step.part not in present:
            continue
        threads = 1 if step.threads is None else step.threads(plan, config, cores)
        for values in _values(step, plan, config):
            jobs.append({"rule": rule, "dataset": values.get("dataset"), "case": values.get("case"),
                         "split": values.get("split"), "threads": threads, "mem_mb": memory_mb(rule, threads),
                         "priority": priority(plan, config, rule, values.get("case")), "local": step.local,
                         "log": log_file(rule, values), "benchmark": benchmark_file(rule, values)})
    return jobs


def per_job_cost(rule: str, costs: Costs) -> float:
    """A step priced per job: its rule's rate in the costs file, else its step's estimate."""
    return costs.rules.get(rule, STEPS[rule].estimate)


def job_table(plan: Plan, config: dict, costs: Costs, cores: int | None = None) -> list[dict]:
    """The study's table of jobs (study_jobs), each priced: `ref`, its estimate in reference
    epochs of CPU (Step.cost, else its rule's rate per job, else the step's estimate), and
    `estimated`: whether no calibration measured its rate (a new method's or a new rule's)."""

    def priced(job: dict) -> dict:
        step = STEPS[job["rule"]]
        if step.cost is not None:
            ref = step.cost(plan, config, costs, job)
        else:
            ref = per_job_cost(job["rule"], costs)
        guessed = (step.estimated(plan, costs, job) if step.estimated is not None
                   else job["rule"] not in costs.rules)
        return {**job, "ref": ref, "estimated": guessed}

    return [priced(job) for job in study_jobs(plan, config, cores)]
