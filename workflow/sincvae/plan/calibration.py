"""Calibration of the plan's rates (sincvae.plan.cost) on this machine, and its command line:

    python -m sincvae.plan.calibration calibrate   # rates from a finished study's timings and benchmarks
    python -m sincvae.plan.calibration probe       # this machine's training rates from a few epochs

A calibration takes two steps: every timed quantity of a finished study with the size its rate
scales with (`measure`, a table of records), then the rates fitted from such a table (`fit`);
the arithmetic is tested on recorded tables, never on this machine's timing. Torch-free but for
the probe and the reference epoch (sincvae.budget), imported when they run.
"""

from __future__ import annotations

import argparse
import collections
import csv
import statistics
import sys
from dataclasses import asdict
from pathlib import Path

import yaml

from sincvae.plan.cost import PER_1000, REFERENCE_ROWS, Costs, file_name, trial_cost
from sincvae.plan.jobs import STEPS, study_jobs
from sincvae.plan.machine import describe_cpu
from sincvae.plan.measured import Finished, table_rows
from sincvae.plan.planning import Plan
from sincvae.plan.schedule import split_by_cost

MEASURED_FIELDS = ("rate", "key", "dataset", "job", "seconds", "size")


def measure(plan: Plan, config: dict, root: Path) -> list[dict]:
    """Every timed quantity of a finished study under `root` (results/, benchmarks/), one
    record each (MEASURED_FIELDS) with the size its rate scales with: what each job's step
    measures of it (jobs.Step.measure, sincvae.plan.measured), named by the job's benchmark."""
    study = Finished(plan, config, root)
    return [dict(zip(MEASURED_FIELDS, (rate, key, job["dataset"] or "", _name(job), seconds, size)))
            for job in study_jobs(plan, config)
            for rate, key, seconds, size in STEPS[job["rule"]].measure(study, job)]


def _name(job: dict) -> str:
    """A job as measured records name it: its benchmark's path under benchmarks/, less .tsv."""
    return job["benchmark"].removeprefix("benchmarks/").removesuffix(".tsv")


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
    positive. Training, drawing, refinement and scoring: seconds over size; each run rule's and
    the score jobs' start-up: the median of its jobs'; the exact solver: the slope over its jobs'
    rows solved;
    a search's trial against a full run of its case (pruned trials stop early); every other
    rule per job (jobs.STEPS says how many jobs it has)."""
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
    costs["rank"] = round(_per_size("rank", of["rank", ""], PER_1000, ref), 5)
    solved = of["solve", "solve_exact"] + of["solve", "solve_train"]
    costs["solve"] = round(_slope("solve", solved, PER_1000, ref), 4) if of["solve", "solve_train"] else None
    if of["trials", ""]:
        full = trial_cost(plan.search, Costs(**costs, trial_share=1.0, rules={}), config["data"]["rows"])
        share = statistics.fmean(float(r["seconds"]) / ref - costs["startup"]["train"] for r in of["trials", ""]) / (
            config["tuning"]["trials"] * full)
        costs["trial_share"] = round(_positive("trial_share", share, of["trials", ""]), 3)
    else:
        costs["trial_share"] = 1.0
    costs["rules"] = {rule: round(_positive(f"rules.{rule}", statistics.fmean(
        float(r["seconds"]) for r in of["rule", rule]) / ref, of["rule", rule]), 3) for rule in keys("rule")}
    return costs


def write_measured(records: list[dict], path: str | Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, MEASURED_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)


def read_measured(path: str | Path) -> list[dict]:
    """A table of `measure`'s records, as `calibrate --save-measured` writes it."""
    records = table_rows(Path(path))
    if not records or tuple(records[0]) != MEASURED_FIELDS:
        raise ValueError(f"{path}: not a table of measured jobs (columns {', '.join(MEASURED_FIELDS)})")
    return [{**r, "seconds": float(r["seconds"]), "size": float(r["size"])} for r in records]


def main(argv: list[str] | None = None) -> None:
    from sincvae.budget import reference_epoch_seconds, training_seconds  # torch: only when a command runs
    from sincvae.plan.planning import plan as make_plan, without_removed

    parser = argparse.ArgumentParser(prog="python -m sincvae.plan.calibration", description="Calibration of the plan's "
                                     "rates on this machine: from a finished study, or from a few epochs of each method.")
    commands = parser.add_subparsers(dest="command", required=True)
    cal = commands.add_parser("calibrate", help="rates from a finished study (results/, benchmarks/ under "
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
    out = Path(args.costs) / file_name(args.cpu)
    # What is not measured now keeps its rate from this machine's file, or from the nearest
    # machine's on its first calibration: the rates the study's run split its cases by.
    current = Costs.for_machine(args.costs, args.cpu)
    kept = asdict(current)
    study = split_by_cost(make_plan(config), config, current)
    if args.command == "calibrate":
        seconds = args.reference_epoch_s or statistics.median(reference_epoch_seconds(seed) for seed in range(3))
        records = read_measured(args.measured) if args.measured else measure(study, config, Path(args.root))
        if args.save_measured:
            write_measured(records, args.save_measured)
        try:
            rates = fit(records, study, config, seconds, args.cpu)
        except ValueError as err:
            sys.exit(f"python -m sincvae.plan.calibration calibrate: {err}; no costs file written")
        for kind in ("train", "generate"):
            rates[kind] = {**kept[kind], **rates[kind]}
        if rates["solve"] is None:
            rates["solve"] = kept["solve"]
        how = ("# on a finished study of that config (sincvae/plan/cost.py says what each rate is); a method\n"
               "# that no calibrating study ran has its rates from a probe (`sincvae.plan.calibration probe`) or\n"
               "# another machine's file.\n")
    else:
        measured = training_seconds(study, config, args.epochs, log=lambda line: print(line, file=sys.stderr))
        seconds = statistics.median(reference for _, reference in measured.values())
        rates = {**kept, "cpu": args.cpu, "reference_epoch_s": round(seconds, 4),
                 "train": {**kept["train"], **{m: round(s / ref, 4) for m, (s, ref) in measured.items()}}}
        how = (f"# on this machine: training of {', '.join(sorted(measured))} from {args.epochs} epochs each\n"
               f"# (budget.training_seconds); every other rate from a finished study on {kept['calibrated_on']}.\n")
    header = (f"# Rates in reference epochs, measured by `python -m sincvae.plan.calibration {args.command} --config {args.config}`\n"
              + how)
    out.write_text(header + yaml.safe_dump(rates, sort_keys=False))
    print(f"reference epoch {seconds:.3f} s; rates written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
