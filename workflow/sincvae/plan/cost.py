"""The study's cost before it runs: every job of the plan with its estimate in reference epochs
(budget.py: one epoch of the seed's CVAE over 10,000 lines, fp32, one thread, on the machine at
hand), and the study's wall time on a number of cores.

The rates come from `config/costs/`, one file per calibrated machine, which `python -m
sincvae.plan.calibration calibrate` writes from a finished study's timings and benchmarks, divided by
the reference epoch measured in the same session. A plan reads this machine's file, else one of a
CPU with the same bf16 instructions (which set how fast training runs against the reference
epoch), else the first. Torch- and pandas-free: the Snakefile plans with it at parse time (a
no-op rerun pays its imports), and the budget test plans the default study in milliseconds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from sincvae.learn import registry
from sincvae.plan.machine import bf16_of
from sincvae.plan.planning import SCORE, Plan, Run, evaluated_splits

REFERENCE_ROWS = 10_000  # lines of one reference epoch
PER_1000 = 1000


@dataclass(frozen=True)
class Costs:
    """Rates in reference epochs (ref), measured on `cpu` (costs file header)."""

    cpu: str
    reference_epoch_s: float  # of the calibrating machine
    # the machine whose finished study gave the rates a probe does not measure (all but training)
    calibrated_on: str
    startup: dict[str, float]  # run rule family or `score` -> ref per job: start Python, imports, reading and writing
    train: dict[str, float]  # method -> ref per seed-epoch over 10,000 lines
    generate: dict[str, float]  # method -> ref per 1,000 lines drawn
    refine: float  # ref per 1,000 lines × refinement step
    score: float  # ref per 1,000 lines scored
    score_external: float  # ref per job scoring someone's sample file
    solve: float  # ref per 1,000 rows whose exact solutions the solver enumerates, past start-up
    trial_share: float  # a search trial's cost over a full run's (pruned trials stop early)
    rank: float  # ref per 1,000 pairs of cases the ranking compares, its bootstrap resamples included
    rules: dict[str, float]  # rule -> ref per job, for the rules priced per job (jobs.STEPS without a cost)

    @classmethod
    def load(cls, path: str | Path) -> Costs:
        with open(path) as f:  # libyaml's loader where present: every run's parse reads these
            return cls(**yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))

    @classmethod
    def calibrated(cls, directory: str | Path) -> list[Costs]:
        """Every calibrated machine's rates in `directory`, by file name."""
        files = sorted(Path(directory).glob("*.yaml"))
        if not files:
            raise FileNotFoundError(f"{directory}: no cost files (python -m sincvae.plan.calibration calibrate writes them)")
        return [cls.load(path) for path in files]

    @classmethod
    def for_machine(cls, directory: str | Path, cpu: str) -> Costs:
        """The rates of the machine `cpu` (machine.describe_cpu), else of one with the same
        bf16 instructions, else the first file's."""
        own = Path(directory) / file_name(cpu)
        if own.exists():
            return cls.load(own)
        every = cls.calibrated(directory)
        same_bf16 = [c for c in every if bf16_of(c.cpu) == bf16_of(cpu)]
        return (same_bf16 or every)[0]


def file_name(cpu: str) -> str:
    """A calibration's file name, from its machine's description."""
    return re.sub(r"[^a-z0-9]+", "-", cpu.lower()).strip("-") + ".yaml"


def _rate(rates: dict[str, float], method: str) -> float:
    """A method's calibrated rate; a method no calibration has measured yet (a new one) at the
    largest rate of its kind, an estimate the plan names (uncalibrated) until a calibration on
    a study that has it measures it."""
    return rates[method] if method in rates else max(rates.values())


def estimated_rate(method: str, costs: Costs) -> bool:
    """Whether a method's training or drawing has no rate in the costs file: priced at an
    estimate (_rate)."""
    return method not in costs.generate or (registry.method(method).learns and method not in costs.train)


def uncalibrated(plan: Plan, costs: Costs) -> list[str]:
    """The plan's methods priced at an estimate (estimated_rate)."""
    methods = dict.fromkeys(run.case["method"] for run in plan.runs.values())
    return [m for m in methods if estimated_rate(m, costs)]


def lines_drawn(run: Run, rows: dict[str, int]) -> int:
    """Candidate lines a run draws over its seeds: rows × candidates per split."""
    return len(run.seeds) * sum((n if n is not None else rows[split]) * run.generation.candidates
                                for split, n in run.splits)


def lines_scored(run: Run, rows: dict[str, int]) -> int:
    """Lines a run scores: rows × samples per split and stage (raw, and refined), over its seeds."""
    stages = 2 if run.generation.refine_steps else 1
    return len(run.seeds) * stages * sum((n if n is not None else rows[split]) * run.generation.samples
                                         for split, n in run.splits)


def run_cost(run: Run, costs: Costs, rows: dict[str, int], epochs_done: int = 0) -> float:
    """Ref of a run job's work past start-up: training (its seeds' epochs beyond `epochs_done`,
    which a continued run resumes from), drawing and refining its lines."""
    method = run.case["method"]
    cost = 0.0
    if registry.method(method).learns:
        seed_epochs = len(run.seeds) * (run.case["epochs"] - epochs_done)
        cost += seed_epochs * rows["train"] / REFERENCE_ROWS * _rate(costs.train, method)
    drawn = lines_drawn(run, rows)
    cost += drawn / PER_1000 * _rate(costs.generate, method)
    return cost + drawn * run.generation.refine_steps / PER_1000 * costs.refine


def trial_cost(run: Run, costs: Costs, rows: dict[str, int]) -> float:
    """Ref of a search trial run in full: its run's work and the scoring of its lines, in the
    search's process."""
    return run_cost(run, costs, rows) + lines_scored(run, rows) / PER_1000 * costs.score


def score_cost(run: Run, costs: Costs, rows: dict[str, int]) -> float:
    """Ref of a run's score job: its start-up and scoring its lines."""
    return costs.startup[SCORE] + lines_scored(run, rows) / PER_1000 * costs.score


def ranking_pairs(plan: Plan, config: dict) -> int:
    """Pairs of cases rule rank_methods compares: per dataset and stage, every pair of each scope
    (all contenders, and each class of what the methods know with two or more), once for the
    study and once per bootstrap resample (ranking.ranking)."""
    classes = list(plan.classes.values())
    scopes = [len(classes)] + [n for n in (classes.count(k) for k in set(classes)) if n > 1]
    stages = 2 if config["evaluate"]["refine"]["steps"] else 1
    return (len(config["datasets"]) * stages * (1 + config["ranking"]["resamples"])
            * sum(k * (k - 1) // 2 for k in scopes))


def scored_rows(config: dict) -> int:
    """Rows whose exact solutions the scored rows' solver enumerates: every scored row of each split."""
    rows = config["data"]["rows"]
    return sum(rows[split] if n is None else n for split, n in evaluated_splits(config["evaluate"]["validation_rows"]))


def train_rows(config: dict) -> int:
    """Rows of the train split, whose exact solutions the train split's solver enumerates."""
    return config["data"]["rows"]["train"]


def time_limit_minutes(ref: float, reference_epoch_s: float) -> int:
    """A job's time limit on a cluster: 3× its planned cost (ref per thread) on the calibrating
    machine, plus 5 minutes for start-up and a slow node."""
    return 5 + math.ceil(3 * ref * reference_epoch_s / 60)


def time_limits(jobs: list[dict], reference_epoch_s: float) -> dict[tuple[str, str | None, str | None], int]:
    """Each job's time limit on a cluster (time_limit_minutes of its ref per thread), keyed by
    its rule, case and seeds (None for a job of no case or batch: the search), the longest over
    datasets."""
    limits: dict[tuple[str, str | None, str | None], int] = {}
    for job in jobs:
        key = job["rule"], job["case"], job["seeds"]
        limits[key] = max(limits.get(key, 0), time_limit_minutes(job["ref"] / job["threads"], reference_epoch_s))
    return limits
