"""The study as one table of jobs: every job of every rule with its wildcards, its log and
benchmark files, its threads and whether it runs where Snakemake runs (a cluster's local rules);
sincvae.cost adds what each costs. The rules read their log and benchmark paths from here
(`log_file`, `benchmark_file`), the report its list of benchmarks, calibration the benchmarks it
measures, and `results/plan.csv` is this table priced.

A rule is a run family or `score` (one job per case and dataset: sincvae.planning), or a step of
STEPS. Adding a rule takes its rule block, its script and its entry in STEPS
(tests/test_jobs.py adds a toy one). Torch-free: the Snakefile builds the table while parsing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .paths import SPLITS
from .planning import RUN_FAMILIES, SCORE, Plan, search_processes


# Above every training chain: short jobs that the search (the longest chain) and scoring wait on,
# and every job that trains nothing, as soon as it is ready: a core left to wait on one at the
# end of the run idles (the training-free methods' jobs, figures, verdicts, the notebook).
FIRST = 10**6
# The train split's exact solutions, which only the cases that train towards them wait on: after
# the jobs above, before any training.
BEFORE_TRAINING = FIRST - 1


@dataclass(frozen=True)
class Step:
    """A rule other than the run and score jobs."""

    wildcards: tuple[str, ...]  # of its jobs: () one job for the study; ("dataset",) one per dataset; ...
    local: bool = False  # seconds of bookkeeping: on a cluster it runs where Snakemake runs, not queued
    # the part of the study it belongs to, without which it has no jobs (Part); None: always there
    part: str | None = None
    estimate: float = 5.0  # reference epochs per job until a calibration measures it (config/costs/)
    priority: int = 0  # Snakemake's, among the jobs ready at once (the search's: `priority`)


STEPS: dict[str, Step] = {
    "generate_data": Step(("dataset", "split"), priority=FIRST),
    "validate_data": Step(("dataset",), priority=FIRST),
    "solve_exact": Step(("dataset",), priority=FIRST),
    "solve_train": Step(("dataset",), part="solutions", priority=BEFORE_TRAINING),
    "score_exact": Step(("dataset",), priority=FIRST),
    "score_external": Step(("dataset", "case"), part="external"),
    "tune": Step(("dataset",), part="tuning"),
    "grid": Step(("dataset",), local=True, part="tuning", priority=FIRST),
    "best_setting": Step(("dataset",), local=True, part="tuning", priority=FIRST),
    "plot_dataset": Step(("dataset",), priority=FIRST),
    "notebook": Step(("dataset",), priority=FIRST),
    "plot_latent": Step(("dataset",), part="latent", priority=FIRST),
    "plan": Step((), local=True, priority=FIRST),  # it times the reference epoch: before a core is busy
    "power": Step((), local=True, priority=FIRST),
    "compare": Step((), local=True),
    "rank_methods": Step((), local=True),
    "plot_comparison": Step((), local=True),
    "verdicts": Step((), local=True, part="ablations", priority=FIRST),
    "plot_claims": Step((), local=True, part="ablations", priority=FIRST),
    "findings": Step((), local=True),
    "report": Step((), local=True),
    "throughput": Step((), part="asked"),
}
CASE_WILDCARDS = ("dataset", "case")  # a run or score job's


def wildcards_of(rule: str) -> tuple[str, ...]:
    """The wildcards of a rule's jobs: a run family's or `score`'s, else its step's."""
    return CASE_WILDCARDS if rule in (*RUN_FAMILIES, SCORE) else STEPS[rule].wildcards


def _job_file(kind: str, extension: str, rule: str, values: dict[str, str] | None) -> str:
    names = wildcards_of(rule)
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
    """A job's priority: a training job's its chain's seed-epochs (Plan.training_chain: the
    longest chains start first, so fewer cores idle at the end); the search's its trials' and
    the tuned case's (the longest chain); a job that trains nothing, a score job among them, first."""
    if rule in RUN_FAMILIES:
        return FIRST if rule == "generate" else plan.training_chain(case)
    if rule == SCORE:
        return FIRST
    if rule == "tune":
        return plan.search_priority(config["tuning"]["trials"])
    return STEPS[rule].priority


def memory_mb(rule: str, threads: int = 1) -> int | None:
    """A job's memory request in MB, about twice its measured peak (tests/test_pipeline.py holds
    the margin): a run job 1.0 GB with refinement, an ablation level 0.5 GB, a score job 0.3 GB,
    the search 0.65 GB per process. None: the profile's default."""
    if rule in RUN_FAMILIES:
        return 1500 if rule.startswith("ablation") else 2500
    if rule in (SCORE, "score_external"):
        return 1000
    if rule == "tune":
        return 1500 * threads
    return None


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


def study_jobs(plan: Plan, config: dict, cores: int | None = None) -> list[dict]:
    """Every job of the study: rule, dataset, case, split (None where its rule has no such
    wildcard), threads, memory (mem_mb), priority, local, log and benchmark. `cores`: the
    computing jobs' cores of the machine it runs on (None: a cluster), which set the search
    job's threads."""
    present = parts(plan, config)
    jobs = []

    def add(rule: str, threads: int = 1, **values: str) -> None:
        local = rule in STEPS and STEPS[rule].local
        jobs.append({"rule": rule, "dataset": values.get("dataset"), "case": values.get("case"),
                     "split": values.get("split"), "threads": threads, "mem_mb": memory_mb(rule, threads),
                     "priority": priority(plan, config, rule, values.get("case")), "local": local,
                     "log": log_file(rule, values), "benchmark": benchmark_file(rule, values)})

    for dataset in plan.datasets:
        for case in plan.runs:
            add(plan.run_rule(case), config["threads"], dataset=dataset, case=case)
            add(SCORE, dataset=dataset, case=case)
    for rule, step in STEPS.items():
        if step.part is not None and step.part not in present:
            continue
        if rule == "tune":
            threads = search_processes(config["tuning"]["workers"], cores)
            for dataset in plan.datasets:
                add(rule, threads, dataset=dataset)
        elif rule == "score_external":
            for name, spec in plan.external.items():
                add(rule, dataset=spec["dataset"], case=name)
        elif step.wildcards == ("dataset", "split"):
            for dataset in plan.datasets:
                for split in SPLITS:
                    add(rule, dataset=dataset, split=split)
        elif step.wildcards == ("dataset",):
            for dataset in plan.datasets:
                add(rule, dataset=dataset)
        else:
            add(rule)
    return jobs
