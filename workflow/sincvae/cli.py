"""The `sincvae` command: score a sample file without the workflow, print the study's planned
cost, time this machine's training rates. `sincvae SUBCOMMAND --help` says each one's options."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

from sincvae import paths
from sincvae.score.metric_table import shown

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_PHASE_TERM = re.compile(rf"^(?P<sign>[+-]?)\s*(?:(?P<coef>{_NUMBER})\s*[*·]?\s*)?"
                         rf"(?P<var>x[01])\s*(?:[*·]\s*(?P<after>{_NUMBER}))?$")
_TERM = re.compile(r"^\s*(?P<fn>sin|cos)\s*\((?P<phase>[^()]*)\)\s*$")


class MapError(ValueError):
    """A map expression outside the form fn(a*x0 + b*x1), fn(c*x0 + d*x1)."""


def parse_map(text: str) -> dict:
    """A dataset's config entry ({"terms": [{fn, a, b}, {fn, a, b}]}) from an expression such as
    "cos(49*x0+42*x1), cos(56*x0+63*x1)": parsed, never evaluated. Refused with a MapError that
    names what is outside the form."""
    parts = [p for p in re.split(r",(?![^()]*\))", text)]
    if len(parts) != 2:
        raise MapError(f"map {text!r}: expected two terms separated by a comma, fn(a*x0 + b*x1), got {len(parts)}")
    terms = []
    for part in parts:
        term = _TERM.match(part)
        if not term:
            raise MapError(f"map term {part.strip()!r}: expected sin(...) or cos(...) of a*x0 + b*x1")
        coefficients = {"x0": 0.0, "x1": 0.0}
        # split at each sign that is not an exponent's
        pieces = re.findall(r"[+-]?(?:(?<=[0-9.][eE])[+-]|[^+-])+", term["phase"].replace(" ", ""))
        for piece in pieces:
            found = _PHASE_TERM.match(piece)
            if not found or (found["coef"] and found["after"]):
                raise MapError(f"map term {part.strip()!r}: {piece!r} is not a number times x0 or x1")
            value = float(found["coef"] or found["after"] or 1.0) * (-1.0 if found["sign"] == "-" else 1.0)
            coefficients[found["var"]] += value
        if not pieces:
            raise MapError(f"map term {part.strip()!r}: its phase is empty")
        terms.append({"fn": term["fn"], "a": coefficients["x0"], "b": coefficients["x1"]})
    return {"terms": terms}


def lines_per_y(y_rows) -> int:
    """K, from a submission's Y in file layout: how many consecutive rows repeat the first y."""
    first = y_rows[0]
    k = 1
    while k < len(y_rows) and bool((y_rows[k] == first).all()):
        k += 1
    return k


def score_file(path: str, dataset: dict, k: int | None, scoring: str | None, *, match_tolerance: float,
               tolerance: float) -> dict:
    """A submission's scores under the workflow's definitions (scoring.score_lines against the
    exact solutions of each y). `dataset`: its config entry; `scoring`: the dataset's scoring
    file when at hand (its Y must match the submission's, and its X joins the exact solutions
    as score_external's solver does); else the targets are the submission's own Y, K rows each."""
    import numpy as np
    import torch

    from sincvae.problem.data import DataFileError, from_file_layout, load_dataset, load_split
    from sincvae.score.scoring import score_lines
    from sincvae.problem.exact import NoSolution, solve_split
    from sincvae.score.external import SubmissionError, load_submission, submission_lines
    from sincvae.problem.forward import ForwardMap
    from sincvae.problem.lines import POINTS

    fmap = ForwardMap.from_config(dataset)
    if scoring:
        x, y = (t.numpy() for t in load_split(scoring))
        lines = load_submission(path, torch.from_numpy(y))
    else:
        xt, yt = load_dataset(path)
        if yt.ndim != 4 or tuple(yt.shape[1:]) != (1, POINTS, 2) or xt.shape != yt.shape or len(yt) == 0:
            raise SubmissionError(f"{path}: X {tuple(xt.shape)} and Y {tuple(yt.shape)}: expected both "
                                  f"(N·K, 1, {POINTS}, 2)")
        k = k or lines_per_y(yt)
        if len(yt) % k:
            raise SubmissionError(f"{path}: {len(yt)} rows are not a whole number of y with K = {k} lines each")
        y = from_file_layout(yt[::k].float()).double().numpy()
        lines = submission_lines(path, xt, yt, torch.from_numpy(y))
        x = np.full_like(y, np.nan)  # no true lines: the scores that need them are not shown
    if k is not None and lines.shape[1] != k:
        raise SubmissionError(f"{path}: {lines.shape[1]} lines per y, but --k {k}")
    try:
        solutions = solve_split(fmap, y, tolerance, known=None if np.isnan(x).all() else x)
    except NoSolution as err:
        raise DataFileError(f"{path}: {err}: is it the map the file was made with?") from None
    _, summary, _ = score_lines(fmap, "scoring", lines, x, y, solutions, match_tolerance)
    return {heading: summary[name] for name, heading in shown("cli").items()}  # metric_table's `cli` metrics


def _config(args) -> dict:
    if not Path(args.config).is_file():
        raise ValueError(f"--config {args.config}: no such file; give the study's config, or --map with "
                         f"--match-tolerance and --tolerance")
    return yaml.safe_load(Path(args.config).read_text())


def _tolerances(given: dict, config: dict | None) -> dict:
    """The tolerances given, else the workflow's own from --config, so both score alike."""
    if config is None:
        return given
    return {"match_tolerance": config["evaluate"]["match_tolerance"], "tolerance": config["data"]["tolerance"],
            **{k: v for k, v in given.items() if v is not None}}


def _dataset_in(config: dict, args) -> dict:
    if args.dataset not in config["datasets"]:
        raise MapError(f"--dataset {args.dataset!r} is not in {args.config}; its datasets are "
                       f"{', '.join(config['datasets'])} (or give --map)")
    return config["datasets"][args.dataset]


def _score(args) -> None:
    mapped = parse_map(args.map) if args.map else None
    given = {"match_tolerance": args.match_tolerance, "tolerance": args.tolerance}
    config = None if mapped and None not in given.values() else _config(args)  # read once, where needed
    scoring = Path(args.scoring or paths.dataset("scoring", args.dataset)) if args.dataset else None
    scores = score_file(args.file, mapped or _dataset_in(config, args), args.k,
                        str(scoring) if scoring and scoring.exists() else None, **_tolerances(given, config))
    if args.json:
        print(json.dumps(scores, indent=2))
    else:
        width = max(map(len, scores))
        for name, value in scores.items():
            print(f"{name:<{width}}  {value:.4g}" if isinstance(value, float) else f"{name:<{width}}  {value}")


def _plan(args) -> None:
    from sincvae.plan.cost import Costs
    from sincvae.plan.machine import describe_cpu
    from sincvae.plan.planning import merged, without_removed
    from sincvae.plan.schedule import plan_line, schedule, wall_table

    config = {}
    for path in args.config:  # later files override earlier ones, as with snakemake --configfile
        config = merged(config, yaml.safe_load(Path(path).read_text()))
    config = without_removed(config)
    machine = args.machine or describe_cpu()
    costs = Costs.for_machine(args.costs, machine)
    if args.table:
        print(wall_table(config, costs, args.table, args.cluster))
        return
    planned, jobs = schedule(config, costs, args.cores, args.cluster)
    print(plan_line(planned, jobs, costs, machine))
    if args.critical_path:
        for job in planned.critical:
            print(f"  {job['wall']:10,.1f}  {job['rule']} {job['dataset'] or ''} {job['case'] or ''} "
                  f"{'seeds' + job['seeds'] if job['seeds'] else ''}".rstrip())


def _probe(args) -> None:
    from sincvae.plan.calibration import main as calibration_main

    calibration_main(["probe", "--config", args.config, "--costs", args.costs, "--epochs", str(args.epochs)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="sincvae", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser(
        "score", help="score a sample file (torch.save of TensorDataset(X, Y), (N·K, 1, 50, 2), K lines per y)",
        description="Score a sample file in the challenge's layout with the workflow's definitions: the gate, "
                    "precision and coverage by the forward test, the distance to the exact posterior.")
    score.add_argument("file")
    which = score.add_mutually_exclusive_group(required=True)
    which.add_argument("--dataset", help="a dataset of --config (its scoring file, data/NAME/scoring_dataset.pt, "
                                         "is used when present)")
    which.add_argument("--map", help='the map, as "cos(49*x0+42*x1), cos(56*x0+63*x1)" (sin or cos of a*x0 + b*x1)')
    score.add_argument("--k", type=int, help="lines per y (default: read from the file's repeated Y rows)")
    score.add_argument("--json", action="store_true", help="print JSON instead of a table")
    score.add_argument("--scoring", help="the dataset's scoring file (default data/NAME/scoring_dataset.pt)")
    score.add_argument("--config", default="config/config.yaml")
    score.add_argument("--match-tolerance", type=float,
                       help="how close a line must be to an exact solution (default: --config's evaluate.match_tolerance)")
    score.add_argument("--tolerance", type=float,
                       help="the exact solutions' largest residual (default: --config's data.tolerance)")
    score.set_defaults(run=_score)
    planned = commands.add_parser("plan", help="the study's planned cost on this machine, before anything runs")
    planned.add_argument("--config", nargs="+", default=["config/config.yaml"],
                         help="config files, later ones overriding earlier ones (as snakemake --configfile)")
    planned.add_argument("--costs", default="config/costs")
    planned.add_argument("--cores", type=int, default=2, help="computing cores: 2 here, or a cluster's")
    planned.add_argument("--cluster", action="store_true",
                         help="the cores are a cluster's: the local rules run where Snakemake runs, beside them")
    planned.add_argument("--critical-path", action="store_true",
                         help="list the critical path's jobs with their wall, in reference epochs")
    planned.add_argument("--table", type=int, nargs="+", metavar="CORES",
                         help="a Markdown table of the simulated wall on each number of cores (docs/cluster.md)")
    planned.add_argument("--machine", help="plan with the rates of this calibrated machine (its `cpu` in "
                                           "config/costs/) instead of this one's")
    planned.set_defaults(run=_plan)
    probe = commands.add_parser("probe", help="time this machine's training rates (minutes; nothing else running)")
    probe.add_argument("--config", default="config/config.yaml")
    probe.add_argument("--costs", default="config/costs")
    probe.add_argument("--epochs", type=int, default=3)
    probe.set_defaults(run=_probe)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (MapError, ValueError, OSError) as err:
        sys.exit(f"sincvae {args.command}: {err}")


if __name__ == "__main__":
    main()
