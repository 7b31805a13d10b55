"""The study's cost before it runs: every job of the plan with its estimate in reference epochs
(budget.py: one epoch of the seed's CVAE over 10,000 lines, fp32, one thread, on the machine at
hand), and the study's wall time on a number of cores.

The rates come from `config/costs/`, one file per calibrated machine, which `python -m
sincvae.cost calibrate` writes from a finished study's timings and benchmarks, divided by the
reference epoch measured in the same session. A plan reads this machine's file, else one of a
CPU with the same bf16 instructions (which set how fast training runs against the reference
epoch), else the first. Torch- and pandas-free: the Snakefile plans with it at parse time (a
no-op rerun pays its imports), and the budget test plans the default study in milliseconds.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import math
import re
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from . import registry
from .machine import bf16_of, describe_cpu
from .planning import Plan, Run, evaluated_splits, search_processes

REFERENCE_ROWS = 10_000  # lines of one reference epoch
PER_1000 = 1000
# The rules whose jobs the plan sizes from its runs; every other rule's jobs cost what they cost
# in the calibrating study (`rules` of the costs file).
RUN_RULES = {"train", "train_grid_point", "generate", "ablation", "ablation_continued"}
SIZED = RUN_RULES | {"tune", "score_external", "solve_train"}


@dataclass(frozen=True)
class Costs:
    """Rates in reference epochs (ref), measured on `cpu` (costs file header)."""

    cpu: str
    reference_epoch_s: float  # of the calibrating machine
    # the machine whose finished study gave the rates a probe does not measure (all but training)
    calibrated_on: str
    startup: dict[str, float]  # run rule -> ref per job: start Python, import torch, read and write
    train: dict[str, float]  # method -> ref per seed-epoch over 10,000 lines
    generate: dict[str, float]  # method -> ref per 1,000 lines drawn
    refine: float  # ref per 1,000 lines × refinement step
    score: float  # ref per 1,000 lines scored
    score_external: float  # ref per job scoring someone's sample file
    solve: float  # ref per 1,000 rows whose exact solutions the solver enumerates, past start-up
    trial_share: float  # a search trial's cost over a full run's (pruned trials stop early)
    rules: dict[str, dict]  # rule -> {"per": "dataset" | "study", "jobs": jobs each, "ref": per job}

    @classmethod
    def load(cls, path: str | Path) -> Costs:
        with open(path) as f:  # libyaml's loader: 2 ms a file against 19 ms, at every run's parse
            return cls(**yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))

    @classmethod
    def calibrated(cls, directory: str | Path) -> list[Costs]:
        """Every calibrated machine's rates in `directory`, by file name."""
        files = sorted(Path(directory).glob("*.yaml"))
        if not files:
            raise FileNotFoundError(f"{directory}: no cost files (python -m sincvae.cost calibrate writes them)")
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


def _rate(rates: dict[str, float], method: str, what: str) -> float:
    if method not in rates:
        raise KeyError(f"costs: no {what} rate for method {method!r}: run `python -m sincvae.cost calibrate` "
                       f"on a study that has it")
    return rates[method]


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
    """Ref of a run's work past start-up: training (its seeds' epochs beyond `epochs_done`,
    which a continued run resumes from), drawing, refining and scoring its lines."""
    method = run.case["method"]
    cost = 0.0
    if registry.method(method).learns:
        seed_epochs = len(run.seeds) * (run.case["epochs"] - epochs_done)
        cost += seed_epochs * rows["train"] / REFERENCE_ROWS * _rate(costs.train, method, "train")
    drawn = lines_drawn(run, rows)
    cost += drawn / PER_1000 * _rate(costs.generate, method, "generate")
    cost += drawn * run.generation.refine_steps / PER_1000 * costs.refine
    return cost + lines_scored(run, rows) / PER_1000 * costs.score


def job_table(plan: Plan, config: dict, costs: Costs, cores: int | None = None) -> list[dict]:
    """Every job of the plan, one record each: rule, dataset, case, threads and its estimate
    (ref, CPU). `cores`: the computing jobs' cores of the machine it runs on (None: a cluster),
    which set the search job's threads (planning.search_processes)."""
    rows = config["data"]["rows"]
    datasets = list(config["datasets"])
    jobs = []

    def add(rule, dataset, case, ref, threads=1):
        jobs.append({"rule": rule, "dataset": dataset, "case": case, "threads": threads, "ref": ref})

    for dataset in datasets:
        for case, run in plan.runs.items():
            rule = job_rule(plan, case)
            add(rule, dataset, case, costs.startup[rule] + run_cost(run, costs, rows, plan.epochs_done(case)))
        if any(run.trains_on_solutions for run in plan.runs.values()):
            # the solver's job on the scored rows, and the train split's rows past those
            extra = rows["train"] - solved_rows("solve_exact", config)
            add("solve_train", dataset, None, costs.rules["solve_exact"]["ref"] + extra / PER_1000 * costs.solve)
        if plan.search is not None:
            tuning = config["tuning"]
            trials = tuning["trials"] * costs.trial_share * run_cost(plan.search, costs, rows)
            add("tune", dataset, None, costs.startup["train"] + trials,
                threads=search_processes(tuning["workers"], cores))
        for name, spec in plan.external.items():
            if spec["dataset"] == dataset:
                add("score_external", dataset, name, costs.score_external)
    for rule, spec in costs.rules.items():
        for dataset in (datasets if spec["per"] == "dataset" else [None]):
            for _ in range(spec["jobs"]):
                add(rule, dataset, None, spec["ref"])
    return jobs


def wall_ref(jobs: list[dict], cores: int) -> float:
    """The study's wall time on `cores` cores, in ref: its CPU spread over the cores, or its
    longest job if that is longer (a job's threads share its estimate)."""
    return max(sum(job["ref"] for job in jobs) / cores, max(job["ref"] / job["threads"] for job in jobs))


# Calibration from a finished study in two steps: every timed quantity with the size its rate
# scales with (`measure`, a table of records), then the rates fitted from such a table (`fit`).
# The arithmetic is tested on recorded tables, never on this machine's timing.
MEASURED_FIELDS = ("rate", "key", "dataset", "job", "seconds", "size")


def _csv(path: Path, delimiter: str = ",") -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def _benchmark_s(path: Path) -> float:
    return float(_csv(path, "\t")[-1]["s"])


def _search_processes(log: Path) -> int:
    """The processes a finished search ran its trials in, from its log's first line (scripts/tune.py)."""
    found = re.search(r"trials, (\d+) at once", log.read_text())
    if not found:
        raise ValueError(f"{log}: no 'N at once' line: cannot tell how many processes the search ran in")
    return int(found.group(1))


def solved_rows(rule: str, config: dict) -> int:
    """Rows whose exact solutions a job of `rule` enumerates: the scored rows, or the train split."""
    rows = config["data"]["rows"]
    splits = evaluated_splits(config["evaluate"]["validation_rows"]) if rule == "solve_exact" else (("train", None),)
    return sum(rows[split] if n is None else n for split, n in splits)


def measure(plan: Plan, config: dict, root: Path) -> list[dict]:
    """Every timed quantity of a finished study under `root` (results/, benchmarks/, logs/), one
    record each (MEASURED_FIELDS) with the size its rate scales with: each seed's training
    seconds (rows × epochs trained), drawing (lines drawn) and refinement (lines × steps); each
    run job's scoring (lines scored) and its seconds past all of those (its rule's start-up);
    each exact solver's job (rows solved); each search's CPU seconds (job seconds × the
    processes its trials ran in: the benchmark's sampled cpu_time missed most of a one-process
    search's; size: its trials); every other rule's job seconds."""
    rows = config["data"]["rows"]
    records = []

    def add(rate, key, dataset, job, seconds, size=1):
        records.append(dict(zip(MEASURED_FIELDS, (rate, key, dataset, job, seconds, size))))

    for dataset in config["datasets"]:
        for case, run in plan.runs.items():
            method, rule = run.case["method"], job_rule(plan, case)
            job, case_dir = f"{rule}/{dataset}/{case}", root / "results" / dataset / case
            inside = scored = 0.0
            for seed in run.seeds:
                timing = json.loads((case_dir / f"seed{seed}" / "timing.json").read_text())
                if registry.method(method).learns:
                    history = _csv(case_dir / f"seed{seed}" / "history.csv")
                    done = len(history) - (run.case["epochs"] - plan.epochs_done(case))
                    trained = sum(float(row["seconds"]) for row in history[done:])
                    add("train", method, dataset, job, trained, (len(history) - done) * rows["train"])
                    inside += trained
                for split, _ in run.splits:
                    part = timing[split]
                    lines = part["rows"] * part["candidates"]
                    add("generate", method, dataset, job, part["generate_s"], lines)
                    if run.generation.refine_steps:
                        add("refine", "", dataset, job, part["refine_s"], lines * run.generation.refine_steps)
                    inside += part["generate_s"] + part["refine_s"]
                scored += timing["score_s"]
            add("score", "", dataset, job, scored, lines_scored(run, rows))
            add("startup", rule, dataset, job,
                _benchmark_s(root / "benchmarks" / rule / dataset / f"{case}.tsv") - inside - scored)
        if plan.search is not None:
            processes = _search_processes(root / "logs" / "tune" / f"{dataset}.log")
            add("tune", "", dataset, f"tune/{dataset}",
                _benchmark_s(root / "benchmarks" / "tune" / f"{dataset}.tsv") * processes, config["tuning"]["trials"])
    for path in sorted((root / "benchmarks").rglob("*.tsv")):
        job = path.relative_to(root / "benchmarks").with_suffix("").as_posix()
        rule, *rest = job.split("/")
        dataset = next((part for part in rest if part in config["datasets"]), "")
        if rule in ("solve_exact", "solve_train"):
            add("solve", rule, dataset, job, _benchmark_s(path), solved_rows(rule, config))
        if rule not in SIZED:
            add("rule", rule, dataset, job, _benchmark_s(path))
    return records


def _positive(rate: str, value: float, records: list[dict]) -> float:
    """`value` if above zero, else an error naming the rate and the jobs it was fitted from: a
    rate at or below zero would plan work as free."""
    if not value > 0:
        jobs = sorted({r["job"] for r in records})
        raise ValueError(f"costs: rate {rate} = {value:.4g} is not positive (fitted from "
                         f"{', '.join(jobs[:6])}{f' and {len(jobs) - 6} more' if len(jobs) > 6 else ''}): "
                         f"calibrate on a study whose jobs differ more in size")
    return value


def _per_size(rate: str, records: list[dict], per: int, ref: float) -> float:
    """Seconds per `per` units of size, in ref: total seconds over total size (the least-squares
    slope through zero when each record's noise grows with its size)."""
    return _positive(rate, sum(float(r["seconds"]) for r in records) / sum(float(r["size"]) for r in records)
                     * per / ref, records)


def _slope(rate: str, records: list[dict], per: int, ref: float) -> float:
    """Seconds per `per` units of size past a common start-up, in ref: the least-squares slope
    over jobs of different sizes (the start-up the intercept)."""
    sizes = [float(r["size"]) for r in records]
    seconds = [float(r["seconds"]) for r in records]
    if len(set(sizes)) < 2:
        raise ValueError(f"costs: rate {rate} needs jobs of two sizes or more, got {sorted({r['job'] for r in records})}")
    mean_size, mean_s = statistics.fmean(sizes), statistics.fmean(seconds)
    slope = (sum((n - mean_size) * (s - mean_s) for n, s in zip(sizes, seconds))
             / sum((n - mean_size) ** 2 for n in sizes))
    return _positive(rate, slope * per / ref, records)


def fit(records: list[dict], plan: Plan, config: dict, reference_epoch_s: float, cpu: str) -> dict:
    """The rates of a costs file from `measure`'s records, in ref; every rate must come out
    positive. Training, drawing, refinement and scoring: seconds over size; each run rule's
    start-up: the median of its jobs'; the exact solver: the slope over its jobs' rows solved;
    a search's trial against a full run of its case (pruned trials stop early); every other
    rule per job, per dataset when it ran the same number of jobs for each dataset."""
    ref = reference_epoch_s
    of = collections.defaultdict(list)
    for record in records:
        of[record["rate"], record["key"]].append(record)
    keys = lambda rate: sorted(key for kind, key in of if kind == rate)  # noqa: E731
    costs = {"cpu": cpu, "reference_epoch_s": round(ref, 4), "calibrated_on": cpu,
             "startup": {rule: round(_positive(f"startup.{rule}", statistics.median(
                 float(r["seconds"]) for r in of["startup", rule]) / ref, of["startup", rule]), 3)
                 for rule in keys("startup")},
             "train": {m: round(_per_size(f"train.{m}", of["train", m], REFERENCE_ROWS, ref), 4) for m in keys("train")},
             "generate": {m: round(_per_size(f"generate.{m}", of["generate", m], PER_1000, ref), 5)
                          for m in keys("generate")},
             "refine": round(_per_size("refine", of["refine", ""], PER_1000, ref), 6) if of["refine", ""] else 0.0,
             "score": round(_per_size("score", of["score", ""], PER_1000, ref), 5)}
    costs["score_external"] = costs["startup"]["generate"]  # a training-free run's start-up
    solved = of["solve", "solve_exact"] + of["solve", "solve_train"]
    costs["solve"] = round(_slope("solve", solved, PER_1000, ref), 4) if of["solve", "solve_train"] else None
    if of["tune", ""]:
        full = run_cost(plan.search, Costs(**costs, trial_share=1.0, rules={}), config["data"]["rows"])
        share = statistics.fmean(float(r["seconds"]) / ref - costs["startup"]["train"] for r in of["tune", ""]) / (
            config["tuning"]["trials"] * full)
        costs["trial_share"] = round(_positive("trial_share", share, of["tune", ""]), 3)
    else:
        costs["trial_share"] = 1.0
    datasets = len(config["datasets"])
    costs["rules"] = {}
    for rule in keys("rule"):
        jobs = of["rule", rule]
        per_dataset = all(r["dataset"] for r in jobs) and len(jobs) % datasets == 0
        costs["rules"][rule] = {"per": "dataset" if per_dataset else "study",
                                "jobs": len(jobs) // datasets if per_dataset else len(jobs),
                                "ref": round(_positive(f"rules.{rule}", statistics.fmean(
                                    float(r["seconds"]) for r in jobs) / ref, jobs), 3)}
    return costs


def write_measured(records: list[dict], path: str | Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, MEASURED_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)


def read_measured(path: str | Path) -> list[dict]:
    """A table of `measure`'s records, as `calibrate --save-measured` writes it."""
    records = _csv(Path(path))
    if not records or tuple(records[0]) != MEASURED_FIELDS:
        raise ValueError(f"{path}: not a table of measured jobs (columns {', '.join(MEASURED_FIELDS)})")
    return [{**r, "seconds": float(r["seconds"]), "size": float(r["size"])} for r in records]


def time_limit_minutes(ref: float, reference_epoch_s: float) -> int:
    """A job's time limit on a cluster: 3× its planned cost (ref per thread) on the calibrating
    machine, plus 5 minutes for start-up and a slow node."""
    return 5 + math.ceil(3 * ref * reference_epoch_s / 60)


def job_rule(plan: Plan, case: str) -> str:
    """The rule of a case's run job (workflow/rules)."""
    if case in plan.ablation:
        return "ablation_continued" if case in plan.continued_from.values() else "ablation"
    if case in plan.grid_jobs:
        return "train_grid_point"
    return "train" if registry.method(plan.cases[case]["method"]).learns else "generate"


def main(argv: list[str] | None = None) -> None:
    from .budget import reference_epoch_seconds, training_seconds
    from .planning import plan as make_plan, without_removed

    parser = argparse.ArgumentParser(prog="python -m sincvae.cost", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cal = commands.add_parser("calibrate", help="rates from a finished study (results/, benchmarks/, logs/ under "
                                                "--root), or from a table of its measured jobs (--measured)")
    cal.add_argument("--root", default=".")
    cal.add_argument("--measured", help="a table that --save-measured wrote: fit its records instead of reading --root")
    cal.add_argument("--save-measured", help="also write the study's measured jobs to this table")
    cal.add_argument("--reference-epoch-s", type=float,
                     help="the reference epoch's seconds measured around the study (default: three runs now); "
                          "a shared machine's speed drifts, so time it right before and after the study")
    probe = commands.add_parser("probe", help="this machine's training rates from a few epochs of each method, "
                                              "each against the reference epoch timed around it (minutes, "
                                              "nothing else running); the other rates kept")
    probe.add_argument("--epochs", type=int, default=3, help="epochs timed per method (their median counts)")
    for command in (cal, probe):
        command.add_argument("--config", default="config/config.yaml")
        command.add_argument("--cpu", default=describe_cpu(),
                             help="the machine (default: this one's model name, cores and bf16 instructions)")
        command.add_argument("--costs", default="config/costs", help="the directory of cost files")
    args = parser.parse_args(argv)
    if args.command == "calibrate" and args.measured and not args.reference_epoch_s:
        parser.error("--measured needs --reference-epoch-s: the reference epoch of the machine that ran the study")
    with open(args.config) as f:
        config = without_removed(yaml.safe_load(f))
    study = make_plan(config)
    out = Path(args.costs) / file_name(args.cpu)
    # What is not measured now keeps its rate from this machine's file, or from the nearest
    # machine's on its first calibration.
    kept = asdict(Costs.for_machine(args.costs, args.cpu))
    if args.command == "calibrate":
        seconds = args.reference_epoch_s or statistics.median(reference_epoch_seconds(seed) for seed in range(3))
        records = read_measured(args.measured) if args.measured else measure(study, config, Path(args.root))
        if args.save_measured:
            write_measured(records, args.save_measured)
        try:
            rates = fit(records, study, config, seconds, args.cpu)
        except ValueError as err:
            sys.exit(f"python -m sincvae.cost calibrate: {err}; no costs file written")
        for kind in ("train", "generate"):
            rates[kind] = {**kept[kind], **rates[kind]}
        if rates["solve"] is None:
            rates["solve"] = kept["solve"]
        how = ("# on a finished study of that config (sincvae/cost.py says what each rate is); a method\n"
               "# that no calibrating study ran has its rates from its own trials (docs/methods.md) or\n"
               "# another machine's file.\n")
    else:
        measured = training_seconds(study, config, args.epochs, log=lambda line: print(line, file=sys.stderr))
        seconds = statistics.median(reference for _, reference in measured.values())
        rates = {**kept, "cpu": args.cpu, "reference_epoch_s": round(seconds, 4),
                 "train": {**kept["train"], **{m: round(s / ref, 4) for m, (s, ref) in measured.items()}}}
        how = (f"# on this machine: training of {', '.join(sorted(measured))} from {args.epochs} epochs each\n"
               f"# (budget.training_seconds); every other rate from a finished study on {kept['calibrated_on']}.\n")
    header = (f"# Rates in reference epochs, measured by `python -m sincvae.cost {args.command} --config {args.config}`\n"
              + how)
    out.write_text(header + yaml.safe_dump(rates, sort_keys=False))
    print(f"reference epoch {seconds:.3f} s; rates written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
