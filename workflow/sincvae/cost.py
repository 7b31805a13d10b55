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
import csv
import json
import re
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from . import registry
from .machine import bf16_of, describe_cpu
from .planning import Plan, Run, search_processes

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
    solve: float  # ref per 1,000 train rows whose exact solutions rule solve_train enumerates, past start-up
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
            add("solve_train", dataset, None, costs.rules["solve_exact"]["ref"] + rows["train"] / PER_1000 * costs.solve)
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


# Calibration from a finished study: its per-seed timings, histories and benchmarks.


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


def calibrate(plan: Plan, config: dict, root: Path, reference_epoch_s: float, cpu: str) -> dict:
    """Rates of a finished study under `root` (results/, benchmarks/), in ref: training from
    the histories' epoch seconds, drawing, refinement and scoring from timing.json, each run
    rule's start-up as the median of its jobs' seconds past those, the search's trials from
    its benchmark, the other rules per job from theirs (an external sample file's scoring
    from the start-up of a training-free run)."""
    ref = reference_epoch_s
    rows = config["data"]["rows"]
    train, drawn, refine_steps, scored = {}, {}, [0.0, 0.0], [0.0, 0]
    startups = {}
    for dataset in config["datasets"]:
        for case, run in plan.runs.items():
            method = run.case["method"]
            case_dir = root / "results" / dataset / case
            seconds = 0.0
            for seed in run.seeds:
                timing = json.loads((case_dir / f"seed{seed}" / "timing.json").read_text())
                if registry.method(method).learns:
                    history = _csv(case_dir / f"seed{seed}" / "history.csv")
                    done = len(history) - (run.case["epochs"] - plan.epochs_done(case))
                    trained = sum(float(row["seconds"]) for row in history[done:])
                    train.setdefault(method, []).append((trained, (len(history) - done) * rows["train"]))
                    seconds += trained
                for split, _ in run.splits:
                    part = timing[split]
                    seconds += part["generate_s"] + part["refine_s"]
                    drawn.setdefault(method, []).append((part["generate_s"], part["rows"] * part["candidates"]))
                    if run.generation.refine_steps:
                        refine_steps[0] += part["refine_s"]
                        refine_steps[1] += part["rows"] * part["candidates"] * run.generation.refine_steps
                seconds += timing["score_s"]
                scored[0] += timing["score_s"]
            scored[1] += lines_scored(run, rows)
            rule = job_rule(plan, case)
            startups.setdefault(rule, []).append(_benchmark_s(root / "benchmarks" / rule / dataset / f"{case}.tsv")
                                                 - seconds)
    rates = {"train": {m: sum(s for s, _ in v) / sum(n for _, n in v) * REFERENCE_ROWS / ref for m, v in train.items()},
             "generate": {m: sum(s for s, _ in v) / sum(n for _, n in v) * PER_1000 / ref for m, v in drawn.items()},
             "refine": refine_steps[0] / refine_steps[1] * PER_1000 / ref if refine_steps[1] else 0.0}
    costs = {"cpu": cpu, "reference_epoch_s": round(ref, 4), "calibrated_on": cpu,
             "startup": {rule: round(statistics.median(v) / ref, 3) for rule, v in sorted(startups.items())},
             "train": {m: round(v, 4) for m, v in sorted(rates["train"].items())},
             "generate": {m: round(v, 5) for m, v in sorted(rates["generate"].items())},
             "refine": round(rates["refine"], 6), "score": round(scored[0] / scored[1] * PER_1000 / ref, 5),
             "score_external": round(statistics.median(startups["generate"]) / ref, 3)}
    fixed = _fixed_rules(root, len(config["datasets"]))
    solved = sorted((root / "benchmarks" / "solve_train").glob("*.tsv"))
    # past the exact solver's own job (its start-up and scored rows), per 1,000 train rows;
    # None when no case trained on the solution sets (main keeps the rate it had)
    costs["solve"] = round(statistics.mean(_benchmark_s(p) / ref - fixed["solve_exact"]["ref"] / ref for p in solved)
                           / rows["train"] * PER_1000, 4) if solved else None
    if plan.search is not None:
        # What a trial costs against a full run of the search's case: pruned trials stop early.
        # Its CPU seconds: job seconds times the processes its trials ran in (planning.search_processes;
        # the benchmark's sampled cpu_time missed two thirds of a one-process search's).
        full = run_cost(plan.search, Costs(**costs, trial_share=1.0, rules={}), rows)
        tuned = [_benchmark_s(root / "benchmarks" / "tune" / f"{dataset}.tsv")
                 * _search_processes(root / "logs" / "tune" / f"{dataset}.log") / ref - costs["startup"]["train"]
                 for dataset in config["datasets"]]
        costs["trial_share"] = round(statistics.mean(tuned) / (config["tuning"]["trials"] * full), 3)
    else:
        costs["trial_share"] = 1.0
    return {**costs, "rules": {rule: {**spec, "ref": round(spec["ref"] / ref, 3)} for rule, spec in fixed.items()}}


def job_rule(plan: Plan, case: str) -> str:
    """The rule of a case's run job (workflow/rules)."""
    if case in plan.ablation:
        return "ablation_continued" if case in plan.continued_from.values() else "ablation"
    if case in plan.grid_jobs:
        return "train_grid_point"
    return "train" if registry.method(plan.cases[case]["method"]).learns else "generate"


def _fixed_rules(root: Path, datasets: int) -> dict[str, dict]:
    """Seconds per job of each rule the plan does not size: per dataset when it ran once or
    more for each dataset, else once for the study."""
    fixed = {}
    for entry in sorted((root / "benchmarks").iterdir()):
        rule = entry.name.removesuffix(".tsv")
        if rule in SIZED:
            continue
        paths = sorted(entry.rglob("*.tsv")) if entry.is_dir() else [entry]
        seconds = [_benchmark_s(p) for p in paths]
        per_dataset = entry.is_dir() and len(paths) % datasets == 0
        fixed[rule] = {"per": "dataset" if per_dataset else "study",
                       "jobs": len(paths) // datasets if per_dataset else len(paths),
                       "ref": statistics.mean(seconds)}
    return fixed


def main(argv: list[str] | None = None) -> None:
    from .budget import reference_epoch_seconds, training_seconds
    from .planning import plan as make_plan, without_removed

    parser = argparse.ArgumentParser(prog="python -m sincvae.cost", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cal = commands.add_parser("calibrate", help="rates from a finished study (results/, benchmarks/ under --root)")
    cal.add_argument("--root", default=".")
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
    with open(args.config) as f:
        config = without_removed(yaml.safe_load(f))
    study = make_plan(config)
    out = Path(args.costs) / file_name(args.cpu)
    # What is not measured now keeps its rate from this machine's file, or from the nearest
    # machine's on its first calibration.
    kept = asdict(Costs.for_machine(args.costs, args.cpu))
    if args.command == "calibrate":
        seconds = args.reference_epoch_s or statistics.median(reference_epoch_seconds(seed) for seed in range(3))
        rates = calibrate(study, config, Path(args.root), seconds, args.cpu)
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
