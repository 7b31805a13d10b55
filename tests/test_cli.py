"""The `sincvae` command without the workflow: a map parsed (never evaluated), a sample file in
the challenge's layout scored with the workflow's definitions, each bad input refused in one line."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from conftest import ROOT
from sincvae.cli import MapError, main, parse_map
from sincvae.problem.data import make_dataset, save_dataset, split_rng, to_file_layout
from sincvae.problem.exact import solve_split
from sincvae.problem.forward import ForwardMap

CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
MATCH_TOLERANCE, SOLVER_TOLERANCE = CONFIG["evaluate"]["match_tolerance"], CONFIG["data"]["tolerance"]
DATA_1 = "sin(5*x0 + 3*x1), cos(4*x0 + 8*x1)"
ROWS, K = 4, 5


def test_the_commands_tolerances_are_the_configs_unless_given(submissions, tmp_path, monkeypatch, capsys):
    """`sincvae score` reads the match and solver tolerances from --config, as the workflow does;
    a flag overrides them, and with neither it stops naming the missing file."""
    monkeypatch.chdir(tmp_path)
    moved = str(submissions / "moved.pt")  # every line 0.05 off an exact solution
    with pytest.raises(SystemExit, match="^sincvae score: --config config/config.yaml: no such file"):
        main(["score", moved, "--map", DATA_1])
    (tmp_path / "config").mkdir()
    loose = {**CONFIG, "evaluate": {**CONFIG["evaluate"], "match_tolerance": 0.1}}
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(loose))
    assert scored(moved, "--map", DATA_1, capsys=capsys)["near"] == 1.0
    assert scored(moved, "--map", DATA_1, "--match-tolerance", "0.02", capsys=capsys)["near"] == 0.0
    given = ["--match-tolerance", str(MATCH_TOLERANCE), "--tolerance", str(SOLVER_TOLERANCE)]
    assert scored(moved, "--map", DATA_1, *given, "--config", "absent.yaml", capsys=capsys)["near"] == 0.0


@pytest.mark.parametrize("text, terms", [
    ("cos(49*x0+42*x1), cos(56*x0+63*x1)", [("cos", 49, 42), ("cos", 56, 63)]),
    (DATA_1, [("sin", 5, 3), ("cos", 4, 8)]),
    ("cos(-x0 - 2.5e1*x1), sin(x1*3 + 0.5x0)", [("cos", -1, -25), ("sin", 0.5, 3)]),
    ("cos(2.5e-1·x0 - 3E+2 x1), sin(x0)", [("cos", 0.25, -300), ("sin", 1, 0)]),
])
def test_a_map_is_parsed_into_the_configs_two_term_form(text, terms):
    assert parse_map(text) == {"terms": [{"fn": fn, "a": a, "b": b} for fn, a, b in terms]}
    assert ForwardMap.from_config(parse_map(DATA_1)) == ForwardMap.from_config(CONFIG["datasets"]["data_1"])


@pytest.mark.parametrize("text, message", [
    ("cos(49*x0+42*x1)", "expected two terms separated by a comma"),
    ("tan(x0+x1), cos(x0)", "'tan(x0+x1)': expected sin(...) or cos(...)"),
    ("cos(x0*x1), cos(x0)", "'x0*x1' is not a number times x0 or x1"),
    ("cos(__import__('os').system('true')), sin(x0)", "expected sin(...) or cos(...)"),
    ("cos(2*x2), sin(x0)", "'2*x2' is not a number times x0 or x1"),
    ("cos(x0) + 1, sin(x1)", "expected sin(...) or cos(...)"),
    ("cos(), sin(x1)", "its phase is empty"),
])
def test_a_map_outside_the_form_is_refused_in_one_line(text, message, capsys):
    with pytest.raises(MapError, match=re.escape(message)):
        parse_map(text)
    with pytest.raises(SystemExit) as stop:
        main(["score", "nothing.pt", "--map", text])
    assert str(stop.value).startswith("sincvae score: ") and "\n" not in str(stop.value)


@pytest.fixture(scope="module")
def submissions(tmp_path_factory, data_1):
    """Two files in the challenge's layout for ROWS targets y: K exact solutions of each y (drawn
    by their posterior weights), and the same lines moved 0.05 off them."""
    folder = tmp_path_factory.mktemp("submissions")
    x, y = make_dataset(data_1, ROWS, split_rng(3, "scoring"))
    ys = y[:, 0].transpose(1, 2).double().numpy()
    rng = np.random.default_rng(0)
    exact = []
    for lines, weights in solve_split(data_1, ys, SOLVER_TOLERANCE):
        exact.append(lines[rng.choice(len(lines), K, p=weights)])
    exact = np.concatenate(exact)
    save_dataset(folder / "scoring_dataset.pt", x, y)
    save_dataset(folder / "exact.pt", to_file_layout(exact), y.repeat_interleave(K, 0))
    moved = exact.copy()
    moved[:, 0] += 0.05
    save_dataset(folder / "moved.pt", to_file_layout(moved), y.repeat_interleave(K, 0))
    return folder


def scored(*argv, capsys) -> dict:
    main(["score", *argv, "--json"])
    return json.loads(capsys.readouterr().out)


def test_exact_solutions_score_as_solutions_and_moved_lines_do_not(submissions, capsys):
    exact = scored(str(submissions / "exact.pt"), "--map", DATA_1, capsys=capsys)
    assert exact["precision"] == 1.0 and exact["gate"] == 1.0 and exact["distance"] < 0.05
    assert exact["rows"] == ROWS and exact["lines per y"] == K and exact["mean residual"] < 1e-3
    moved = scored(str(submissions / "moved.pt"), "--map", DATA_1, capsys=capsys)
    assert moved["precision"] == 0.0 and moved["coverage"] == 0.0 and moved["near"] == 0.0
    assert moved["distance"] > exact["distance"] + 0.03


def test_a_dataset_of_the_config_scores_against_its_scoring_file(submissions, tmp_path, monkeypatch, capsys):
    """--dataset reads the map from --config and checks the file's Y against the scoring split."""
    (tmp_path / "config").mkdir()
    shutil.copy(ROOT / "config" / "config.yaml", tmp_path / "config" / "config.yaml")
    (tmp_path / "data" / "data_1").mkdir(parents=True)
    shutil.copy(submissions / "scoring_dataset.pt", tmp_path / "data" / "data_1" / "scoring_dataset.pt")
    monkeypatch.chdir(tmp_path)
    by_name = scored(str(submissions / "exact.pt"), "--dataset", "data_1", capsys=capsys)
    by_map = scored(str(submissions / "exact.pt"), "--map", DATA_1, capsys=capsys)
    # the scoring file's X is the truth the calibration needs; a map alone gives none
    truth_only = ("calibration", "coverage gap")
    assert all(np.isfinite(by_name[k]) and np.isnan(by_map[k]) for k in truth_only)
    assert json.dumps({k: v for k, v in by_name.items() if k not in truth_only}) == json.dumps(
        {k: v for k, v in by_map.items() if k not in truth_only})
    with pytest.raises(SystemExit, match="sincvae score: --dataset 'data_9' is not in config/config.yaml"):
        main(["score", str(submissions / "exact.pt"), "--dataset", "data_9"])
    # another scoring split's y, and another map: each refused, naming the file
    x, y = make_dataset(ForwardMap.from_config(CONFIG["datasets"]["data_1"]), ROWS, split_rng(4, "scoring"))
    save_dataset(tmp_path / "other.pt", x, y)
    with pytest.raises(SystemExit, match=re.escape(f"{submissions / 'exact.pt'}: Y rows 0..4 are not scoring row 0's y")):
        main(["score", str(submissions / "exact.pt"), "--dataset", "data_1", "--scoring", str(tmp_path / "other.pt")])
    with pytest.raises(SystemExit, match="row 0 has no solution.*is it the map the file was made with"):
        main(["score", str(submissions / "exact.pt"), "--dataset", "data_2"])


@pytest.mark.parametrize("make, message", [
    (lambda f: f.write_bytes(b"not a pickle"), "check 'readable' failed"),
    (lambda f: torch.save({"X": torch.zeros(2)}, f), "expected TensorDataset"),
    (lambda f: save_dataset(f, torch.zeros(10, 1, 50, 1), torch.zeros(10, 1, 50, 1)), "expected both (N·K, 1, 50, 2)"),
])
def test_a_file_that_cannot_be_scored_is_refused_naming_it(tmp_path, make, message):
    path = tmp_path / "bad.pt"
    make(path)
    with pytest.raises(SystemExit) as stop:
        main(["score", str(path), "--map", DATA_1])
    assert str(stop.value).startswith(f"sincvae score: {path}") and message in str(stop.value)


def test_a_k_that_does_not_match_the_file_is_refused(submissions):
    with pytest.raises(SystemExit, match="Y rows 4..7 are not scoring row 1's y .*K = 4 consecutive rows per y"):
        main(["score", str(submissions / "exact.pt"), "--map", DATA_1, "--k", "4"])


def test_the_command_is_installed_with_help_for_each_subcommand():
    """`pip install` puts `sincvae` beside the interpreter (pyproject's [project.scripts])."""
    command = Path(sys.executable).parent / "sincvae"
    assert command.exists(), "reinstall with pip install -e . to get the sincvae command"
    for sub in ("score", "plan", "probe"):
        result = subprocess.run([str(command), sub, "--help"], capture_output=True, text=True)
        assert result.returncode == 0 and f"usage: sincvae {sub}" in result.stdout


def test_plan_prints_the_studys_cost(capsys):
    main(["plan", "--config", str(ROOT / "config" / "config.yaml"), "--costs", str(ROOT / "config" / "costs")])
    line = capsys.readouterr().out
    # the same line a run's log opens with (schedule.plan_line)
    assert re.match(r"planned: \d+ jobs, [\d,]+ reference epochs of CPU, [\d,]+ of wall time on 2 cores "
                    r"\(a simulated schedule; its critical path [\d,]+, \d+ jobs\): about \d+ min", line)


def test_plan_takes_overlays_and_names_the_critical_path(capsys):
    """`sincvae plan --config A B` reads B over A, as snakemake --configfile does; --critical-path
    lists the chain that bounds the wall time, one job a line, the walls summing to its length."""
    files = [str(ROOT / "config" / name) for name in ("config.yaml", "paper.yaml")]
    main(["plan", "--config", *files, "--cores", "64", "--cluster", "--critical-path"])
    first, *chain = capsys.readouterr().out.splitlines()
    length = float(re.search(r"critical path ([\d,]+)", first).group(1).replace(",", ""))
    assert len(chain) == int(re.search(r"critical path [\d,]+, (\d+) jobs", first).group(1))
    assert sum(float(line.split()[0].replace(",", "")) for line in chain) == pytest.approx(length, abs=len(chain))
    main(["plan", "--config", files[0], "--cores", "64", "--cluster"])
    assert capsys.readouterr().out.split(" jobs")[0] != first.split(" jobs")[0]  # the overlay's split: more jobs


def test_a_new_metric_is_one_entry_of_the_metric_table(submissions, monkeypatch, capsys, data_1):
    """A metric added in one place, its entry in metric_table.METRICS, is scored per row, summed
    up over the seeds into comparison.csv's columns with the interval of its kind, printed by
    `sincvae score` and shown in the report's table."""
    import pandas as pd

    from sincvae.score import metric_table, records
    from sincvae.problem.data import load_dataset
    from sincvae.show.report import comparison_view
    from sincvae.score.scoring import score_lines
    from sincvae.score.summary import case_summary, comparison_row

    # the farthest line's distance to its nearest exact solution: 0 for solutions, 0.05 for the moved lines
    monkeypatch.setitem(metric_table.METRICS, "farthest", metric_table.Metric(
        "farthest line", metric_table.SIZE, "lower", row=lambda r: float(r.distances.min(1).max()),
        findings=True, cli=True))
    exact = scored(str(submissions / "exact.pt"), "--map", DATA_1, capsys=capsys)
    moved = scored(str(submissions / "moved.pt"), "--map", DATA_1, capsys=capsys)
    assert exact["farthest line"] < 1e-6 and moved["farthest line"] == pytest.approx(0.05, abs=1e-6)

    x, y = (t[:, 0].transpose(1, 2).double().numpy() for t in load_dataset(submissions / "scoring_dataset.pt"))
    solutions = solve_split(data_1, y, SOLVER_TOLERANCE, known=x)
    seeds = []
    for seed, shift in enumerate((0.04, 0.06)):  # two "seeds": the true lines moved by 0.04 and 0.06
        lines = (x + np.array([shift, 0.0])[:, None])[:, None]
        _, summary, rows = score_lines(data_1, "scoring", lines, x, y, solutions, MATCH_TOLERANCE)
        assert rows["farthest"].to_numpy() == pytest.approx(shift)  # a row score, for the claims and the ranking
        seeds.append(records.scored("d", "toy", "samples", {"raw": {"scoring": summary}}))
    row = comparison_row(case_summary({"case": "toy", "method": "samples"}, [0, 1], seeds, [None, None])["stages"]["raw"])
    assert row["scoring_farthest"] == pytest.approx(0.05)
    assert 0 < row["scoring_farthest_ci_low"] < 0.04 and row["scoring_farthest_ci_high"] > 0.06  # a size's interval
    table = pd.DataFrame([row]).assign(knows="nothing", seeds=2)
    ranking = pd.DataFrame(columns=["dataset", "case", "metric", "stage", "scope", "in_best_set"])
    view, _ = comparison_view(table, ranking)
    assert "farthest line raw" in view["head"]


def test_a_new_metric_runs_through_the_workflow_from_its_one_entry(tmp_path):
    """The toy metric added to a copy of the workflow in its one place, METRICS, with no costs
    file touched: the plan is priced as before, the exact solutions score 0 on it, and a case's
    score job writes it per row and summed up over its seeds into its metrics.json."""
    import pandas as pd

    from conftest import QUICK_STUDY, add_to, snakemake_in, workflow_copy
    from sincvae.plan.jobs import study_jobs
    from sincvae.plan.planning import plan

    copy = workflow_copy(tmp_path)
    add_to(copy / "workflow" / "sincvae" / "score" / "metric_table.py", "METRICS: dict[str, Metric] = {\n",
           '    "farthest": Metric("farthest line", SIZE, "lower", row=lambda r: float(r.distances.min(1).max()),\n'
           '                       findings=True, cli=True),\n')
    targets = ["results/plan.csv", "results/data_1/exact/metrics.json", "results/data_1/prior-lines/metrics.json"]
    ran = snakemake_in(copy, "--cores", "2", *targets)
    assert ran.returncode == 0, ran.stderr[-3000:]
    planned = pd.read_csv(copy / "results" / "plan.csv")
    assert len(planned) == len(study_jobs(plan(QUICK_STUDY), QUICK_STUDY)) and (planned["ref"] > 0).all()
    exact = json.loads((copy / targets[1]).read_text())["stages"]["raw"]["scoring"]
    assert exact["farthest"] == 0.0  # every exact solution is one
    prior = json.loads((copy / targets[2]).read_text())["stages"]["raw"]
    rows = pd.read_parquet(copy / "results" / "data_1" / "prior-lines" / "rows.parquet").query("split == 'scoring' and stage == 'raw'")
    per_seed = rows.groupby("seed")["farthest"].mean()
    assert (rows["farthest"] > 0).all() and len(per_seed) == len(prior["seeds"]) >= 2
    assert prior["summary"]["scoring_farthest"]["mean"] == pytest.approx(per_seed.mean())
