"""The study as one table of steps and their jobs: a rule is one entry of STEPS, which says its
jobs' wildcards, threads, memory, whether it runs where Snakemake runs (a cluster's local
rules), what one of its jobs costs, which jobs it waits on and how a calibration measures it.
The rules read their log and benchmark paths and memory from here, the plan prices its jobs (`job_table`:
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
from sincvae.paths import SPLITS, batch_label
from sincvae.plan.planning import SCORE, TUNED, Plan, search_processes

CASE_WILDCARDS = ("dataset", "case")  # a score job's
BATCH_WILDCARDS = ("dataset", "case", "seeds")  # a run job's: a batch of a case's seeds
RUN_MB, ABLATION_MB, SCORE_MB, SEARCH_MB = 2500, 1500, 1000, 1500  # about twice each measured peak


Wait = dict[str, str]  # the values a job waited on has: its rule and some of its wildcards


def _on(*rules: str, by_dataset: bool = True) -> Callable[[Plan, dict, dict], list[Wait]]:
    """Waits on the jobs of `rules` of the job's own dataset (by_dataset) or of every one."""
    return lambda plan, config, job: [{"rule": rule, **({"dataset": job["dataset"]} if by_dataset else {})}
                                      for rule in rules]


def _cases(rule_of: Callable[[Plan, str], str], cases: Callable[[Plan, dict], list[str]], by_dataset: bool = True
           ) -> Callable[[Plan, dict, dict], list[Wait]]:
    """Waits on each of `cases`' jobs of the rule `rule_of` gives, of the job's dataset or of every one."""
    return lambda plan, config, job: [{"rule": rule_of(plan, case), "case": case,
                                       **({"dataset": job["dataset"]} if by_dataset else {})}
                                      for case in cases(plan, config)]


def _first_batches(cases: Callable[[Plan, dict], list[str]]) -> Callable[[Plan, dict, dict], list[Wait]]:
    """Waits on the first run job (the first seed's) of each of `cases`, of the job's dataset."""
    return lambda plan, config, job: [{"rule": plan.run_rule(case), "case": case, "dataset": job["dataset"],
                                       "seeds": batch_label(plan.batches(case)[0])} for case in cases(plan, config)]


def _both(*waits: Callable[[Plan, dict, dict], list[Wait]]) -> Callable[[Plan, dict, dict], list[Wait]]:
    return lambda plan, config, job: [wait for after in waits for wait in after(plan, config, job)]


def _run_waits(plan: Plan, config: dict, job: dict) -> list[Wait]:
    """A run job's: the checked data, the train split's solutions, the search's best setting, and
    the batches of the shorter level whose final states its seeds continue (Plan.run_inputs)."""
    case, dataset = job["case"], job["dataset"]
    waits = [{"rule": "validate_data", "dataset": dataset}]
    if plan.runs[case].trains_on_solutions:
        waits.append({"rule": "solve_train", "dataset": dataset})
    if case == TUNED:
        waits.append({"rule": "best_setting", "dataset": dataset})
    shorter = plan.continued_from.get(case)
    waits += [{"rule": plan.run_rule(shorter), "dataset": dataset, "case": shorter, "seeds": batch_label(batch)}
              for batch in plan.resumed_batches(case, job["seeds"])]
    return waits


def _score_waits(plan: Plan, config: dict, job: dict) -> list[Wait]:
    """A score job's: its case's run jobs, the exact solutions, and the best setting for `tuned`."""
    waits = [{"rule": plan.run_rule(job["case"]), "dataset": job["dataset"], "case": job["case"]},
             {"rule": "solve_exact", "dataset": job["dataset"]}]
    return waits + ([{"rule": "best_setting", "dataset": job["dataset"]}] if job["case"] == TUNED else [])


def _score_rule(plan: Plan, case: str) -> str:
    return SCORE


def _inspected(plan: Plan, config: dict) -> list[str]:
    return config["report"]["inspect_cases"]


def _inspected_learned(plan: Plan, config: dict) -> list[str]:
    return [case for case in config["report"]["inspect_cases"] if case in plan.learned]


def _everything(plan: Plan, config: dict, job: dict) -> list[Wait]:
    return [{"rule": rule} for rule in STEPS if rule not in ("report", "throughput")]


@dataclass(frozen=True)
class Step:
    """A rule of the workflow: its jobs and what each asks and costs."""

    wildcards: tuple[str, ...]  # of its jobs: () one job for the study; ("dataset",) one per dataset; ...
    local: bool = False  # seconds of bookkeeping: on a cluster it runs where Snakemake runs, not queued
    # the part of the study it belongs to, without which it has no jobs (Part); None: always there
    part: str | None = None
    estimate: float = 5.0  # reference epochs per job until a calibration measures it (config/costs/)
    # before any other job, whatever the plan's priorities (sincvae.plan.schedule.prioritised)
    first: bool = False
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
    # the jobs it waits on, of (plan, config, job): each a pattern of the values a job must have
    # (Wait: rule and wildcards), for the plan's simulated schedule (sincvae.plan.schedule)
    after: Callable[[Plan, dict, dict], list[Wait]] = lambda plan, config, job: []


def _runs_of(family: str) -> Callable[[Plan, dict], list[dict]]:
    """The jobs of a run rule, one per batch of seeds (Plan.batches) of each of its cases and dataset."""
    return lambda plan, config: [{"dataset": d, "case": c, "seeds": batch_label(batch)} for d in plan.datasets
                                 for c in plan.runs if plan.run_rule(c) == family for batch in plan.batches(c)]


def _scores(plan: Plan, config: dict) -> list[dict]:
    """The score jobs, one per case and dataset."""
    return [{"dataset": d, "case": c} for d in plan.datasets for c in plan.runs]


def _configured_threads(plan: Plan, config: dict, cores: int | None) -> int:
    return config["threads"]


def _run_step(family: str, memory: int) -> Step:
    """A family of run jobs (planning.Plan.run_rule): a case's seeds trained, then its lines drawn."""
    return Step(BATCH_WILDCARDS, jobs=_runs_of(family), threads=_configured_threads,
                memory_mb=lambda threads: memory,
                cost=lambda plan, config, costs, job: costs.startup[job["rule"]] + run_cost(
                    plan.batch_run(job["case"], job["seeds"]), costs, config["data"]["rows"],
                    plan.epochs_done(job["case"])),
                estimated=_method_guessed, measure=measured.run_job, after=_run_waits)


def _method_guessed(plan: Plan, costs: Costs, job: dict) -> bool:
    return estimated_rate(plan.runs[job["case"]].case["method"], costs)


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
    "generate_data": Step(("dataset", "split"), measure=measured.if_generated),
    "validate_data": Step(("dataset",), after=_on("generate_data")),
    "solve_exact": Step(("dataset",), measure=measured.scored_rows_solver_job,
                        after=_on("validate_data")),
    "solve_train": Step(("dataset",), part="solutions", cost=_train_split_solver,
                        estimated=_sized, measure=measured.solver_job(train_rows), after=_on("validate_data")),
    "score_exact": Step(("dataset",), after=_on("solve_exact")),
    # the run jobs' families (planning.Plan.run_rule)
    "train": _run_step("train", RUN_MB),
    "train_grid_point": _run_step("train_grid_point", RUN_MB),
    "generate": _run_step("generate", RUN_MB),
    "ablation": _run_step("ablation", ABLATION_MB),
    "ablation_continued": _run_step("ablation_continued", ABLATION_MB),
    SCORE: Step(CASE_WILDCARDS, jobs=_scores, memory_mb=lambda threads: SCORE_MB,
                cost=lambda plan, config, costs, job: score_cost(plan.runs[job["case"]], costs, config["data"]["rows"]),
                estimated=_method_guessed, measure=measured.score_job, after=_score_waits),
    "score_external": Step(CASE_WILDCARDS, part="external", memory_mb=lambda threads: SCORE_MB,
                           jobs=lambda plan, config: [{"dataset": spec["dataset"], "case": name}
                                                      for name, spec in plan.external.items()],
                           cost=lambda plan, config, costs, job: costs.score_external, estimated=_sized,
                           measure=lambda study, job: [], after=_on("solve_exact", "validate_data")),
    # the search: its trials at once in processes of their own, the longest chain of the study
    "tune": Step(("dataset",), part="tuning", memory_mb=lambda threads: SEARCH_MB * threads,
                 threads=lambda plan, config, cores: search_processes(config["tuning"]["workers"], cores),
                 cost=_search, estimated=_sized, measure=measured.search_job, after=_on("validate_data")),
    "grid": Step(("dataset",), local=True, part="tuning",
                 after=_cases(_score_rule, lambda plan, config: plan.grid_jobs)),
    "best_setting": Step(("dataset",), local=True, part="tuning", after=_on("tune")),
    "plot_dataset": Step(("dataset",), after=_both(
        _on("solve_exact", "validate_data"), _cases(_score_rule, lambda plan, config: plan.comparison),
        _first_batches(_inspected), _cases(Plan.run_rule, lambda plan, config: plan.learned_comparison))),
    "notebook": Step(("dataset",), after=_both(
        _on("solve_exact", "validate_data"), _first_batches(_inspected_learned))),
    "plot_latent": Step(("dataset",), part="latent", after=_both(
        _on("validate_data"), _first_batches(lambda plan, config: plan.with_encoder(_inspected(plan, config))))),
    "plan": Step((), local=True, first=True),  # it times the reference epoch: before a core is busy
    "power": Step((), local=True),
    "compare": Step((), local=True, after=_both(
        _on("score_exact", "score_external", by_dataset=False),
        _cases(_score_rule, lambda plan, config: plan.comparison, by_dataset=False))),
    "rank_methods": Step((), local=True, estimated=_sized, measure=measured.ranking_job,
                         cost=lambda plan, config, costs, job: ranking_pairs(plan, config) / PER_1000 * costs.rank,
                         after=_cases(_score_rule, lambda plan, config: plan.contenders, by_dataset=False)),
    "plot_comparison": Step((), local=True, after=_on("compare", "rank_methods", by_dataset=False)),
    "verdicts": Step((), local=True, part="ablations",
                     after=_cases(_score_rule, lambda plan, config: plan.ablation, by_dataset=False)),
    "plot_claims": Step((), local=True, part="ablations", after=_on("verdicts", by_dataset=False)),
    "findings": Step((), local=True, after=_on("compare", "rank_methods", "verdicts", by_dataset=False)),
    "report": Step((), local=True, after=_everything),
    "throughput": Step((), part="asked", threads=_configured_threads),
}


def _job_file(kind: str, extension: str, rule: str, values: dict[str, str] | None) -> str:
    parts = []
    for name in STEPS[rule].wildcards:
        value = values[name] if values is not None else f"{{{name}}}"
        parts.append(f"seeds{value}" if name == "seeds" else value)  # a batch, named as its files' folder is
    return "/".join([kind, rule, *parts]) + extension


def log_file(rule: str, values: dict[str, str] | None = None) -> str:
    """A job's log: logs/<rule>/<wildcards...>.log, with the job's values, or as a rule's pattern."""
    return _job_file("logs", ".log", rule, values)


def benchmark_file(rule: str, values: dict[str, str] | None = None) -> str:
    """A job's benchmark: benchmarks/<rule>/<wildcards...>.tsv, with the job's values, or as a
    rule's pattern."""
    return _job_file("benchmarks", ".tsv", rule, values)


def memory_mb(rule: str, threads: int = 1) -> int | None:
    """A job's memory request in MB (Step.memory_mb), about twice its measured peak
    (tests/test_pipeline.py holds the margin); None: the profile's default."""
    memory = STEPS[rule].memory_mb
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
    """Every job of the study: rule, dataset, case, seeds (a run job's batch), split (None where
    its rule has no such wildcard), threads, memory (mem_mb), local, log and benchmark. `cores`: the
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
                         "seeds": values.get("seeds"), "split": values.get("split"), "threads": threads,
                         "mem_mb": memory_mb(rule, threads), "local": step.local,
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
