"""What a finished study's files say each job spent, as records of (rate, key, seconds, size):
the time of one kind of work and the size its rate scales with. Each step of the table of jobs
(jobs.STEPS) names the function that measures its jobs; calibration fits rates from the records.
Torch- and pandas-free."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sincvae import paths

from sincvae.learn import registry
from sincvae.plan.cost import lines_scored, ranking_pairs, scored_rows
from sincvae.plan.planning import SCORE, Plan

Record = tuple[str, str, float, float]  # rate, key, seconds, size


@dataclass(frozen=True)
class Finished:
    """A finished study: its plan and config, and the folder holding its results/ and benchmarks/."""

    plan: Plan
    config: dict
    root: Path

    def benchmark_s(self, job: dict) -> float:
        """A job's wall seconds, from the benchmark the table of jobs names."""
        return float(table_rows(self.root / job["benchmark"], "\t")[-1]["s"])


def table_rows(path: Path, delimiter: str = ",") -> list[dict]:
    """A CSV (or TSV) file's rows as dicts of text."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def per_job(study: Finished, job: dict) -> list[Record]:
    """A step priced per job: its seconds, as its rule's rate (costs' `rules`)."""
    return [("rule", job["rule"], study.benchmark_s(job), 1)]


def if_generated(study: Finished, job: dict) -> list[Record]:
    """A data file's job, unless the user supplied the file and no job generated it."""
    return per_job(study, job) if (study.root / job["benchmark"]).exists() else []


def run_job(study: Finished, job: dict) -> list[Record]:
    """A run job's timed work, seed by seed: training (rows × epochs trained), drawing (lines
    drawn) and refinement (lines × steps); its seconds past them, its rule's start-up."""
    plan, case, dataset = study.plan, job["case"], job["dataset"]
    run, rows = plan.batch_run(case, job["seeds"]), study.config["data"]["rows"]
    method, work = run.case["method"], []
    batch_file = {name: study.root / paths.batch_file(name, job["seeds"], dataset, case)
                  for name in ("timing.json", "history.csv")}
    timings = {timing["seed"]: timing for timing in json.loads(batch_file["timing.json"].read_text())}
    histories = table_rows(batch_file["history.csv"]) if registry.method(method).learns else []
    for seed in run.seeds:
        timing = timings[seed]
        if registry.method(method).learns:
            history = [row for row in histories if int(row["seed"]) == seed]
            done = len(history) - (run.case["epochs"] - plan.epochs_done(case))
            trained = sum(float(row["seconds"]) for row in history[done:])
            work.append(("train", method, trained, (len(history) - done) * rows["train"]))
        for split, _ in run.splits:
            part = timing[split]
            lines = part["rows"] * part["candidates"]
            work.append(("generate", method, part["generate_s"], lines))
            if run.generation.refine_steps:
                work.append(("refine", "", part["refine_s"], lines * run.generation.refine_steps))
    return [*work, ("startup", job["rule"], study.benchmark_s(job) - sum(spent for _, _, spent, _ in work), 1)]


def score_job(study: Finished, job: dict) -> list[Record]:
    """A score job's scoring (lines scored) and its seconds past it (the start-up of `score`)."""
    timing = study.root / paths.fill(paths.SCORE_TIMING, dataset=job["dataset"], case=job["case"])
    scored = json.loads(timing.read_text())["score_s"]
    lines = lines_scored(study.plan.runs[job["case"]], study.config["data"]["rows"])
    return [("score", "", scored, lines), ("startup", SCORE, study.benchmark_s(job) - scored, 1)]


def search_processes(search: Path) -> int:
    """The processes a finished search ran its trials in, from its table (scripts/tune.py)."""
    rows = table_rows(search)
    if not rows or "processes" not in rows[0]:
        raise ValueError(f"{search}: no 'processes' column: cannot tell how many processes the search ran in "
                         f"(rerun the search: snakemake --forcerun tune)")
    return int(rows[0]["processes"])


def search_job(study: Finished, job: dict) -> list[Record]:
    """A search's CPU seconds (job seconds × the processes its trials ran in: the benchmark's
    sampled cpu_time missed most of a one-process search's), sized by its trials."""
    processes = search_processes(study.root / paths.fill(paths.SEARCH, dataset=job["dataset"]))
    return [("trials", "", study.benchmark_s(job) * processes, study.config["tuning"]["trials"])]


def solver_job(rows: Callable[[dict], int]) -> Callable[[Finished, dict], list[Record]]:
    """An exact solver's job, sized by the rows it solves, of the config (cost.scored_rows, cost.train_rows)."""
    return lambda study, job: [("solve", job["rule"], study.benchmark_s(job), rows(study.config))]


def ranking_job(study: Finished, job: dict) -> list[Record]:
    """The ranking's job, sized by the pairs of cases it compares."""
    return [("rank", "", study.benchmark_s(job), ranking_pairs(study.plan, study.config))]


def scored_rows_solver_job(study: Finished, job: dict) -> list[Record]:
    """The scored rows' solver: sized by its rows for the solver's rate, and per job, the price
    of the train split's solver up to those rows."""
    return [*solver_job(scored_rows)(study, job), *per_job(study, job)]
