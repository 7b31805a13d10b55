"""The pipeline through the Snakemake CLI, in a temporary working directory."""

import collections
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
import zipfile
from pathlib import Path

import html5lib
import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml
from playwright.sync_api import sync_playwright

from conftest import QUICK_STUDY, ROOT, SEED_SCORING, SNAKEMAKE, new_workdir, snakemake
from sincvae import paths
from sincvae.problem.data import load_dataset, save_dataset, to_file_layout
from sincvae.problem.exact import forward_tolerance, solutions_from_frame
from sincvae.problem.forward import ForwardMap
from sincvae.learn.registry import METHODS, learned
from sincvae.decide.stats import METRICS as STATS_METRICS
from sincvae.decide.ranking import RANK_WORDS
from sincvae.score.diagnostics import BUDGETS, RANK_BINS
from sincvae.decide.stats import fragile

METHODS_LEARNED = learned()
from sincvae.plan.calibration import MEASURED_FIELDS, measure
from sincvae.plan.cost import Costs
from sincvae.plan.jobs import STEPS, job_table
from sincvae.plan.machine import describe_cpu
from sincvae.plan.measured import Finished
from sincvae.plan.planning import RUN_FAMILIES, plan
from sincvae.plan.schedule import priced_jobs, simulate, split_by_cost

pytestmark = pytest.mark.pipeline
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
QUICK = yaml.safe_load((ROOT / "config" / "quick.yaml").read_text())
DATASETS = list(QUICK_STUDY["datasets"])
DATASET = DATASETS[0]
FACTORS = QUICK_STUDY["ablations"]["factors"]
CASES = [row["case"] for row in QUICK["cases"]] + ["tuned"]  # the search's best setting
LEARNED = [row["case"] for row in QUICK["cases"] if row.get("method", "cvae") in METHODS_LEARNED] + ["tuned"]
FINAL = next(c for c in CASES if c.startswith("final"))
FLOW = next(row["case"] for row in QUICK["cases"] if row.get("method") == "flow")
NEAREST = next(row["case"] for row in QUICK["cases"] if row.get("method") == "nearest")
# per dataset: five figures, the latent space and the search history; coverage against compute;
# the calibration figures (paths.CALIBRATION_FIGURES); the best methods and the best cases; the
# claims' headline figure and one per claim
REPORT_IMAGES = 7 * len(DATASETS) + 1 + len(paths.CALIBRATION_FIGURES) + 2 + 1 + len(FACTORS)
QUICK_SEEDS = QUICK["seeds"]
QUICK_EPOCHS = QUICK["train"]["epochs"]


def batch(workdir: Path, case: str, name: str, seed: int = 0) -> Path:
    """A finished study's run job file `name` (lines.parquet, history.csv, ...) holding `seed`'s."""
    return paths.written_batch_file(name, seed, DATASET, case, workdir)


def run_log(workdir: Path, case: str, rule: str = "train") -> Path:
    """The log of a case's one run job (all its seeds)."""
    logs = list((workdir / "logs" / rule / DATASET / case).glob("seeds*.log"))
    assert len(logs) == 1, logs
    return logs[0]


def by_weight(weights, count: int) -> np.ndarray:
    """How many of `count` lines each solution gets: largest remainders of its weight × count."""
    share = weights * count
    allotted = np.floor(share).astype(int)
    allotted[np.argsort(allotted - share, kind="stable")[:count - allotted.sum()]] += 1
    return allotted


def max_running(log: str) -> int:
    """The most jobs of a Snakemake log running at one time (started, not yet finished),
    counting only those that declare the resource `cpu`."""
    running, most = set(), 0
    for block in re.split(r"\n(?=\[)", log):
        started = re.search(r"jobid: (\d+)", block)
        if started and "cpu=" in block:
            running.add(started.group(1))
        for finished in re.findall(r"Finished jobid: (\d+)", block):
            running.discard(finished)
        most = max(most, len(running))
    return most


def test_no_more_jobs_at_once_than_cores(quick_run):
    cores = len(os.sched_getaffinity(0))
    output = (quick_run / "snakemake.err").read_text()
    # --cores 8 as asked; the computing jobs' global resource `cpu` is capped at the machine's cores
    assert "Provided cores: 8" in output
    assert f"at most {cores} computing jobs at once: this machine's cores" in output
    # no more computing jobs running at once than cores, from the jobs' start and end times
    log = run_log_of(quick_run)
    assert max_running(log) <= cores


def started_priorities(log: str) -> list[tuple[str, int]]:
    """(rule, priority) of each job a Snakemake log starts, in order."""
    return [(rule, int(priority)) for rule, priority in
            re.findall(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    priority: (\d+)", log, flags=re.M)]


def test_the_head_of_the_longest_chain_starts_first(quick_run):
    """Snakemake starts jobs by the plan's priorities (results/plan.csv: each job's chain to the
    study's end, sincvae.plan.schedule): of the jobs that wait only on the data, the training,
    the search and the train split's solver, the first to start is the one of the longest
    chain."""
    started = started_priorities(run_log_of(quick_run))
    heads = ("tune", "solve_train", *RUN_FAMILIES)
    planned = pd.read_csv(quick_run / "results" / "plan.csv")
    longest = planned.loc[planned["rule"].isin(heads), "priority"].max()
    assert next(priority for rule, priority in started if rule in heads) == longest
    assert [p for rule, p in started if rule == "plan"] == [planned["priority"].max()]  # it times an idle core


def test_quick_run_builds_the_comparison_and_the_report(quick_run):
    table = pd.read_csv(quick_run / "results" / "comparison.csv")
    assert len(table) == len(DATASETS) * (2 * len(CASES) + 1)  # raw and refined per case, and exact
    assert set(table["case"]) == {*CASES, "exact"}
    assert set(table["method"]) == {*METHODS, "exact"}  # every registered method has a quick case
    assert table.set_index("method")["knows"].to_dict() == {"exact": "formula", **{m: METHODS[m].knows for m in METHODS}}
    refined = table[table["stage"] == "refined"].set_index(["dataset", "case"])
    raw = table[(table["stage"] == "raw") & (table["method"] != "exact")].set_index(["dataset", "case"])
    # refinement only lowers the residual; its time per line includes the oversampled candidates
    assert (refined["scoring_residual_l1_median"] < 1e-4).sum() >= len(refined) // 2
    # (the posterior's draws are exact already: a step may move them by round-off)
    assert (refined["scoring_residual_l1_median"] <= raw["scoring_residual_l1_median"] + 1e-6).all()
    assert (refined["ms_per_sample"] > raw["ms_per_sample"]).all() and (raw["ms_per_sample"] > 0).all()
    assert (raw["train_s"][raw["method"].isin(METHODS_LEARNED)] > 0).all()
    assert (raw["train_s"][raw["method"].isin(["nearest", "prior"])] == 0).all()
    exact = table[table["method"] == "exact"]
    assert (exact["scoring_coverage"] == 1).all() and (exact["scoring_precision"] == 1).all()
    # the ideal sampler's own draws are exact solutions; K = 5 of them may miss a rare one
    assert (raw.loc[raw["method"] == "posterior", "scoring_precision"] == 1).all()
    assert (raw.loc[raw["method"] == "posterior", "scoring_coverage"] > 0.5).all()
    online = raw["lines_seen"][raw.index.get_level_values("case") == "flowmatch-h256x4-online-e30"]
    assert (online == QUICK_EPOCHS * QUICK["data"]["rows"]["train"]).all()  # fresh lines every epoch
    assert (exact["scoring_residual_l1_mean"] < 1e-5).all()
    assert ((table["scoring_coverage"] >= 0) & (table["scoring_coverage"] <= 1)).all()
    converged = table.filter(like="converged_share")  # a refined stage's share of converged candidates
    assert converged[table["stage"] == "refined"].map(math.isfinite).all().all()
    assert converged[table["stage"] == "raw"].isna().all().all()
    assert not table.filter(regex="^validation_").columns.any()  # judged on the scoring split alone
    metrics = table.filter(regex="^scoring_").drop(columns=converged.columns).select_dtypes("number")
    # what a quick study is too small for is NaN, saying so: R_T past its K lines, the ranks' test
    # under RANK_BINS rows; the exact row's lines are each y's solutions, so R_T is no number of it
    budgets = [f"scoring_r_at_{t}" for t in BUDGETS]
    undefined = [f"scoring_r_at_{t}" for t in BUDGETS if t > QUICK["evaluate"]["samples"]]
    undefined += ["scoring_sbc_p"] if table["scoring_rows"].max() < RANK_BINS else []
    assert metrics.filter(regex="|".join(undefined)).isna().all().all()
    metrics = metrics.drop(columns=metrics.filter(regex="|".join(undefined)).columns)
    means = metrics.filter(regex="(?<!_ci_low)(?<!_ci_high)$")
    learned = table["method"] != "exact"
    assert means[learned].map(math.isfinite).all().all()
    assert means[~learned].drop(columns=[c for c in budgets if c in means]).map(math.isfinite).all().all()
    assert metrics[table["method"] == "cvae"].map(math.isfinite).all().all()  # the exact row has no interval
    assert (table["scoring_rows"] == 8).all()
    cvae = table[table["method"] == "cvae"]
    contenders = table[table["method"] != "exact"]
    assert (contenders["seeds"] == QUICK_SEEDS).all()
    for column in ("scoring_residual_l1_mean", "scoring_mmd", "final_train_loss"):
        assert (cvae[f"{column}_ci_low"] <= cvae[column]).all() and (cvae[column] <= cvae[f"{column}_ci_high"]).all()
    per_seed = pd.read_csv(quick_run / "results" / "comparison_seeds.csv")
    assert len(per_seed) == len(contenders) * QUICK_SEEDS
    means = per_seed.groupby(["dataset", "case", "stage"])["scoring_residual_l1_mean"].mean()
    assert means.to_dict() == pytest.approx(
        contenders.set_index(["dataset", "case", "stage"])["scoring_residual_l1_mean"].to_dict())
    report = (quick_run / "results" / "report.html").read_text()
    assert report.count("data:image/png;base64,") == REPORT_IMAGES
    assert FINAL in report and "Data validation" in report
    for section in ('<h2>Findings</h2>', "The original study's claims, one factor at a time", "Time and peak memory per rule",
                    "config sha256"):
        assert section in report
    assert report.index('id="findings"') < report.index('id="claims"') < report.index('id="comparison"')
    ranking = pd.read_csv(quick_run / "results" / "ranking.csv")
    assert set(ranking["case"]) == {c for c in CASES if c != "posterior"}  # the ideal sampler is no contender
    assert {"all", "nothing"} <= set(ranking["scope"])  # and each class of two or more quick cases
    for _, ranked in ranking.groupby(["dataset", "stage", "scope"]):
        # the leader (the smallest gap to the best of the others) may be the best; a case is in
        # the best set exactly when its gap's lower bound leaves room for it to be the best
        assert ranked.loc[ranked["gap"].idxmin(), "in_best_set"]
        assert (ranked["in_best_set"] == (ranked["gap_low"] < 1)).all()
        assert set(ranked["word"]) <= set(RANK_WORDS) - {"undecided"}  # every quick case has 2 seeds
        assert (ranked["gap_low"] <= ranked["gap"]).all() and (ranked["gap"] <= ranked["gap_high"]).all()
        assert ranked["stability"].between(0, 1).all()


def test_the_ablations_decide_every_claim_and_lead_the_findings(quick_run):
    verdicts = pd.read_csv(quick_run / "results" / "verdicts.csv")
    variants = CONFIG["ablations"]["variants"]
    assert len(verdicts) == len(FACTORS) * len(DATASETS) * len(variants) * len(STATS_METRICS)
    assert set(verdicts["metric"]) == set(STATS_METRICS)
    primary = verdicts[verdicts["role"] == "primary"]
    assert set(primary["metric"]) == {CONFIG["ablations"]["primary"]}
    assert (primary["tests"] == primary["p"].notna().sum()).all()  # the Holm family: the primary tests
    # an MDE wherever the scores vary (identical scores, such as a precision of 0 at every level, are equivalent)
    varied = verdicts["reason"] != "identical scores on every seed and row"
    assert verdicts.loc[varied, ["mde_support", "mde_contradict"]].notna().all(axis=None)
    assert (verdicts.loc[~varied, "decision"] == "equivalent").all()
    assert set(verdicts["decision"]) <= {"supported", "contradicted", "equivalent", "inconclusive", "undecided"}
    assert verdicts["stability"].between(0, 1).all()
    resamples = QUICK["ablations"]["resamples"]
    assert (verdicts["fragile"] == fragile(np.round(verdicts["stability"] * resamples), resamples)).all()
    assert (verdicts["seeds"] == QUICK["ablations"]["seeds"]).all()
    assert (verdicts["rows"] == QUICK["data"]["rows"]["scoring"]).all()
    tested = verdicts.dropna(subset=["p"])
    assert ((tested["ci_low"] <= tested["effect"]) & (tested["effect"] <= tested["ci_high"])).all()
    assert (tested["p_adjusted"] >= tested["p"]).all()
    findings = (quick_run / "results" / "findings.md").read_text()
    for factor in FACTORS:
        assert f"- {verdicts[verdicts['factor'] == factor]['claim'].iloc[0]}: " in findings
    # the 25-epoch level continues the shorter run: its first epochs are that run's
    center = pd.read_csv(batch(quick_run, "ablation-fixed-center", "history.csv")).query("seed == 0")
    longer = pd.read_csv(batch(quick_run, "ablation-fixed-epochs25", "history.csv")).query("seed == 0")
    assert len(longer) == 25
    columns = [c for c in center.columns if c not in ("seconds", "samples_per_s")]
    pd.testing.assert_frame_equal(longer[columns].head(len(center)), center[columns])
    # the kept states (temp) and the checkpoints are gone once read
    assert not list((quick_run / "results" / DATASET / "ablation-fixed-center").glob("seeds*/states.pt"))
    assert not list((quick_run / "results" / DATASET).glob("*/checkpoints/*.pt"))
    # a level's target: its seeds' raw scores, as a comparison case's metrics.json
    level = json.loads((quick_run / "results" / DATASET / "ablation-fixed-beta0.5" / "metrics.json").read_text())
    assert level["stages"]["raw"]["seeds"] == list(range(QUICK["ablations"]["seeds"]))


def test_report_is_valid_html(quick_run):
    html5lib.HTMLParser(strict=True).parse((quick_run / "results" / "report.html").read_bytes())


CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_report_in_headless_chromium(quick_run):
    """Offline, no console errors, every figure loaded, the table sorts on a click; saves a screenshot."""
    report = (quick_run / "results" / "report.html").as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors, requests = [], []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(report)
        images = page.evaluate("[...document.images].map(i => i.complete && i.naturalWidth > 0)")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        # the Findings' heading, the top of both answer figures (the claims, the best methods) and
        # of the summary's lines
        first_screen = page.evaluate("""[document.querySelector('#findings h2').getBoundingClientRect().bottom,
            ...[...document.querySelectorAll('img.headline')].map(e => e.getBoundingClientRect().top + 100),
            document.querySelector('ul.summary').getBoundingClientRect().top + 50]""")
        # each answer figure drawn near its own size: shrunk much, its labels are unreadable
        scales = page.evaluate("[...document.querySelectorAll('img.headline')].map(i => i.width / i.naturalWidth)")
        answers = page.locator("img.headline").count()
        alts = page.evaluate("[...document.images].map(i => i.alt.trim().length)")
        headings = page.locator("table.sortable th")
        column = headings.all_inner_texts().index("coverage raw")

        def coverage_column():
            cells = page.locator(f"table.sortable tbody tr td:nth-child({column + 1})").all_inner_texts()
            return [float(cell.split(" ± ")[0]) for cell in cells]

        before = coverage_column()
        headings.nth(column).click()
        ascending = coverage_column()
        headings.nth(column).click()
        descending = coverage_column()
        page.screenshot(path=str(quick_run / "results" / "report_screenshot.png"), full_page=True)
        # a phone: nothing scrolls sideways outside its own scroll box
        page.set_viewport_size({"width": 390, "height": 844})
        narrow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        page.screenshot(path=str(quick_run / "results" / "report_screenshot_390.png"))
        browser.close()
    assert errors == []
    assert overflow <= 0  # no horizontal scrollbar at 1,280 px
    assert answers == 2 and max(first_screen) <= 800  # the Findings and both answer figures without scrolling
    assert min(scales) >= 0.8, scales
    assert narrow <= 0  # at 390 px wide, too
    assert all(alts)  # every figure says what it shows
    assert requests == [report]  # figures are embedded: nothing else is fetched
    assert len(images) == REPORT_IMAGES and all(images)
    assert ascending == sorted(before) and descending == sorted(before, reverse=True) and ascending != before
    assert (quick_run / "results" / "report_screenshot.png").stat().st_size > 100_000


def test_the_notebook_runs_in_the_dag_and_standalone(quick_run):
    in_dag = nbformat.read(quick_run / "results" / "notebooks" / f"{DATASET}.ipynb", as_version=4)
    outputs = [o for cell in in_dag.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    latent = [c for c in QUICK["report"]["inspect_cases"] if c.startswith(("final", "linecvae"))]
    # lines and images, one latent projection, and a traversal per CVAE case
    assert len(figures) == 2 + 1 + len(latent)
    assert f"notebooks/{DATASET}.html" in (quick_run / "results" / "report.html").read_text()
    assert "Latent traversals" in (quick_run / "results" / "notebooks" / f"{DATASET}.html").read_text()
    standalone = quick_run / "standalone.ipynb"
    result = subprocess.run(
        [sys.executable, "-m", "papermill", str(ROOT / "workflow" / "notebooks" / "inspect_cases.ipynb"),
         str(standalone), "-p", "dataset", DATASET, "-p", "samples", "3",
         "-y", f"{{cases: [{NEAREST}], rows: [0], config_files: [config/config.yaml, config/quick.yaml]}}",
         "--cwd", str(quick_run)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    ran = nbformat.read(standalone, as_version=4)
    assert "none of these cases has an encoder" in str(ran.cells)


def test_snakemakes_own_report_builds(quick_run):
    snakemake(quick_run, "--report", "results/snakemake-report.html")
    page = (quick_run / "results" / "snakemake-report.html").read_text()
    assert "comparison.csv" in page and "loss_curves.png" in page and "samples_x.png" in page
    # the catalog's form: a zip with every registered result beside the page
    snakemake(quick_run, "--report", "report.zip")
    with zipfile.ZipFile(quick_run / "report.zip") as archive:
        names = archive.namelist()
    for figure in ("best.png", "claims.png", "coverage_vs_compute.png", "samples_x.png"):
        assert any(name.endswith(figure) for name in names), figure


def test_outputs_of_one_case(quick_run):
    case_dir = quick_run / "results" / DATASET / FINAL
    batch_dir = case_dir / f"seeds0-{QUICK_SEEDS - 1}"  # one run job for all its seeds
    lines = pd.read_parquet(batch_dir / "lines.parquet")
    assert list(lines.columns) == ["split", "stage", "row", "sample", "point", "x0", "x1", "seed"]
    assert sorted(lines["seed"].unique()) == list(range(QUICK_SEEDS))
    # the CVAE's own lines in full; refined lines are straight: their end points alone
    sizes = lines[lines["seed"] == 0].groupby(["split", "stage"]).size().to_dict()
    # judged on the scoring split alone (settings are chosen on the validation split)
    assert sizes == {("scoring", "raw"): 8 * 5 * 50, ("scoring", "refined"): 8 * 5 * 2}
    assert not (batch_dir / "models.pt").exists()  # temp: removed once its consumers ran
    history = pd.read_csv(batch_dir / "history.csv")
    assert history["seed"].tolist() == [s for s in range(QUICK_SEEDS) for _ in (1, 2)]
    assert history["epoch"].tolist() == [1, 2] * QUICK_SEEDS
    log = run_log(quick_run, FINAL).read_text()
    assert "epoch 2/2" in log and "y_loss" in log
    metrics = json.loads((case_dir / "seed_metrics.json").read_text())
    assert len(metrics) == QUICK_SEEDS and set(metrics[0]["stages"]) == {"raw", "refined"}
    assert set(metrics[0]["stages"]["refined"]) == {"scoring"}
    assert pd.read_parquet(case_dir / "rows.parquet")["seed"].unique().tolist() == list(range(QUICK_SEEDS))
    timing = json.loads((batch_dir / "timing.json").read_text())
    assert [t["seed"] for t in timing] == list(range(QUICK_SEEDS))
    assert timing[0]["train_s"] > 0
    assert timing[0]["scoring"]["candidates"] == 5 * CONFIG["evaluate"]["refine"]["oversample"]
    aggregated = json.loads((case_dir / "metrics.json").read_text())
    for stage in aggregated["stages"].values():
        assert stage["seeds"] == list(range(QUICK_SEEDS)) and len(stage["per_seed"]) == QUICK_SEEDS
    assert (case_dir / "loss_curves.png").stat().st_size > 10_000
    validation = json.loads((quick_run / "results" / DATASET / "data_validation.json").read_text())
    assert validation["splits"]["train"]["rows"] == 1000
    # training and generation in one job per case, its scoring in another that loads no torch
    assert (quick_run / "benchmarks" / "train" / DATASET / FINAL / f"{batch_dir.name}.tsv").exists()
    assert json.loads((case_dir / "score_timing.json").read_text())["score_s"] > 0
    assert "scored" in (quick_run / "logs" / "score" / DATASET / f"{FINAL}.log").read_text()
    assert f"device cpu, {CONFIG['threads']} threads" in log  # torch uses exactly the rule's threads


def test_methods_without_training_have_no_training_job(quick_run):
    for case in CASES:
        trained = bool(list((quick_run / "results" / DATASET / case).glob("seeds*/history.csv")))
        assert trained == (case in LEARNED)
    assert (quick_run / "results" / DATASET / FLOW / "loss_curves.png").exists()
    assert "nll" in run_log(quick_run, FLOW).read_text()
    plan = snakemake(quick_run, "--dry-run", "--forceall", f"results/{DATASET}/{NEAREST}/metrics.json").stdout
    assert "rule train:" not in plan and "rule generate:" in plan


def test_the_search_finds_a_tuned_case_and_resumes(quick_run, tmp_path_factory):
    tuning = {**CONFIG["tuning"], **QUICK["tuning"]}  # the grid's keys merge too: beta × wy
    grid = pd.read_csv(quick_run / "results" / "tuning" / DATASET / "grid.csv")
    assert sorted(zip(grid["beta"], grid["wy"])) == [(0.5, 0.0), (1.1, 0.0)]
    assert grid["validation_distance"].is_monotonic_increasing
    best = yaml.safe_load((quick_run / "results" / "tuning" / DATASET / "best.yaml").read_text())
    trials = pd.read_csv(quick_run / "results" / "tuning" / DATASET / "trials.csv")
    assert trials["trial"].tolist() == list(range(tuning["trials"]))
    assert best["value"] == trials["validation_distance"].min() and set(best["setting"]) == set(tuning["space"])
    # the tuned case trains with the best setting, on every seed
    log = run_log(quick_run, "tuned").read_text()
    assert f"{DATASET}/tuned/seed1: training" in log and f"latent_dim={best['setting']['latent_dim']}" in log and f"loss='{best['setting']['loss']}'" in log
    report = (quick_run / "results" / "report.html").read_text()
    assert "Hyperparameter search" in report and "in the original study&#39;s range" in report
    # a search interrupted after its trials (in a copy: no search output, no best.yaml) resumes
    # from the journal and runs no trial again
    copy = tmp_path_factory.mktemp("resume") / "run"
    shutil.copytree(quick_run, copy)
    for name in ["search.csv", "best.yaml"]:
        (copy / "results" / "tuning" / DATASET / name).unlink()
    snakemake(copy, "--cores", "2", f"results/tuning/{DATASET}/best.yaml")
    assert "ran 0 trials" in (copy / "logs" / "tune" / "data_1.log").read_text()
    assert pd.read_csv(copy / "results" / "tuning" / DATASET / "trials.csv").equals(trials)


def test_declared_resources_cover_the_measured_peaks_with_margin(quick_run):
    """mem_mb of the run and score jobs stays at least 2x above what the jobs used (their
    runtime: on recorded seconds, tests/test_cost.py)."""
    plan = snakemake(quick_run, "--dry-run", "--forceall").stdout
    declared = {m.group(1): m.group(2) for m in re.finditer(
        r"rule (train|generate|ablation|score):.*?resources: ([^\n]*)", plan, flags=re.S)}
    assert set(declared) == {"train", "generate", "ablation", "score"}
    for rule, resources in declared.items():
        values = dict(kv.split("=", 1) for kv in resources.split(", "))
        bench = pd.concat(pd.read_csv(p, sep="\t") for p in (quick_run / "benchmarks" / rule).rglob("*.tsv"))
        assert bench["max_rss"].max() * 2 <= int(values["mem_mb"])


def test_the_same_config_gives_byte_identical_metrics_on_one_core(quick_run, tmp_path_factory):
    """The quick run used --cores 2; one case again with --cores 1 in a fresh directory."""
    workdir = new_workdir(tmp_path_factory, "again")
    snakemake(workdir, "--cores", "1", f"results/{DATASET}/{FINAL}/metrics.json")
    for name in ("seed_metrics.json", "metrics.json"):
        path = Path("results", DATASET, FINAL, name)
        assert (workdir / path).read_bytes() == (quick_run / path).read_bytes()
    assert not list((workdir / "results" / DATASET / FINAL).glob("checkpoints/*"))


def test_a_case_split_over_jobs_gives_the_same_numbers(quick_run, tmp_path_factory):
    """The quick run's cases in one run job each; here with max_job_share so small that each
    seed is a job of its own, a comparison case and an epochs level that continues a shorter
    one, whose seeds resume from the shorter level's batches: every line is the same, bit for
    bit, and the cases' metrics files byte for byte."""
    workdir = new_workdir(tmp_path_factory, "split")
    (workdir / "config" / "split.yaml").write_text("max_job_share: 0.0001\n")
    longer = "ablation-fixed-epochs25"
    targets = [f"results/{DATASET}/{case}/metrics.json" for case in (FINAL, longer)]
    result = snakemake(workdir, str(workdir / "config" / "split.yaml"), "--cores", "2", *targets)
    for case in (FINAL, longer):
        batches = sorted((workdir / "results" / DATASET / case).glob("seeds*/lines.parquet"))
        assert [p.parent.name for p in batches] == [f"seeds{s}" for s in range(len(batches))] and len(batches) > 1
        split = pd.concat(pd.read_parquet(p) for p in batches).reset_index(drop=True)
        whole = pd.read_parquet(batch(quick_run, case, "lines.parquet"))
        pd.testing.assert_frame_equal(split, whole, check_exact=True)
        for name in ("seed_metrics.json", "metrics.json"):
            path = Path("results", DATASET, case, name)
            assert (workdir / path).read_bytes() == (quick_run / path).read_bytes()
    assert "ablation_continued" in result.stdout + result.stderr


HANG_S = 600  # a wait this long means a hang, on any machine


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_an_interrupted_run_loses_no_work(tmp_path_factory, how):
    """SIGTERM: snakemake lets the running job (which trains and generates) finish and stops;
    the rerun scores its stored lines and trains nothing.
    SIGKILL of snakemake and its job mid-training: after --unlock, the rerun resumes from the
    checkpoint and finishes. The waits are limits against a hang, not speeds: ten minutes each,
    so a loaded or one-core machine passes as an idle one does."""
    workdir = new_workdir(tmp_path_factory, "killed")
    (workdir / "config" / "slow.yaml").write_text(yaml.safe_dump(
        {"seeds": 1, "train": {"epochs": 40}, "data": {"rows": {"train": 2000, "validation": 200, "scoring": 8}},
         "ablations": None}))
    target = f"results/{DATASET}/{FINAL}/metrics.json"
    case_dir = workdir / "results" / DATASET / FINAL
    seed_dir = case_dir / "seeds0"  # one seed: one run job
    checkpoint = case_dir / "checkpoints" / "seed0.pt"
    command = [*SNAKEMAKE, target, "--directory", str(workdir), "--cores", "1",
               "--configfile", str(workdir / "config" / "quick.yaml"), str(workdir / "config" / "slow.yaml")]
    job = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + HANG_S
    while not checkpoint.exists():
        assert job.poll() is None and time.monotonic() < deadline, "training never wrote a checkpoint"
        time.sleep(0.2)
    train_log = workdir / "logs" / "train" / DATASET / FINAL / "seeds0.log"
    if how == "SIGTERM":
        job.terminate()
        job.wait(timeout=HANG_S)
        assert (seed_dir / "lines.parquet").exists()
        finished = train_log.read_text()
        rerun = subprocess.run(command, check=True, capture_output=True, text=True)
        # scoring (and the exact solver, had it not run before) but no training
        assert set(dry_run_jobs(rerun.stdout + rerun.stderr)) - {"solve_exact"} == {"score"}
        assert train_log.read_text() == finished
    else:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait(timeout=HANG_S)
        assert not (seed_dir / "models.pt").exists() and not (case_dir / "metrics.json").exists()
        subprocess.run([*command, "--unlock"], check=True, capture_output=True)
        subprocess.run(command, check=True, capture_output=True)
        assert "resuming from" in train_log.read_text()
    assert "epoch 40/40" in train_log.read_text()
    assert (case_dir / "metrics.json").exists() and not checkpoint.exists()
    assert len(pd.read_csv(seed_dir / "history.csv")) == 40


def test_a_diverging_case_stops_naming_case_and_epoch_and_writes_no_model(tmp_path_factory):
    workdir = new_workdir(tmp_path_factory, "diverge")
    quick = yaml.safe_load((workdir / "config" / "quick.yaml").read_text())
    quick["cases"] = [{"case": "blowup", "loss": "mse", "beta": 1, "wx": 1, "wy": 1, "lr": 1e6}]
    quick["seeds"] = 1
    quick["report"]["inspect_cases"] = ["blowup"]  # config refers to cases by id: point these at it too
    quick["tuning"]["base_case"] = quick["reference_case"] = "blowup"
    quick["ablations"] = None
    (workdir / "config" / "quick.yaml").write_text(yaml.safe_dump(quick))
    result = snakemake(workdir, "--cores", "1", "results/data_1/blowup/seeds0/models.pt", check=False)
    assert result.returncode != 0
    log = (workdir / "logs" / "train" / DATASET / "blowup" / "seeds0.log").read_text()
    assert "TrainingDiverged: data_1/blowup/seed0: loss became nan at epoch 1" in log
    assert not (workdir / "results" / "data_1" / "blowup" / "seeds0" / "models.pt").exists()


def test_a_target_runs_as_typed_without_cores(tmp_path_factory):
    """`snakemake results/report.html` as the README types it: the workflow profile gives the
    cores (a dry run needs none, so only a real run shows it). results/plan.csv trains nothing."""
    workdir = new_workdir(tmp_path_factory, "typed")
    result = subprocess.run([*SNAKEMAKE, "results/plan.csv", "--configfile", "config/quick.yaml"], cwd=workdir,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(pd.read_csv(workdir / "results" / "plan.csv")) > 0


def test_a_second_run_does_nothing(quick_run):
    result = snakemake(quick_run, "--cores", "2", "--dry-run")
    assert "Nothing to be done" in result.stdout + result.stderr


def planned_with_overlay(workdir: Path, overlay: dict) -> set[str]:
    """The rules a dry run plans with `overlay` merged over the quick config."""
    path = workdir / "config" / "overlay.yaml"
    path.write_text(yaml.safe_dump(overlay, sort_keys=False))
    result = subprocess.run([*SNAKEMAKE, "--directory", str(workdir), "--configfile",
                             str(workdir / "config" / "quick.yaml"), str(path), "--dry-run"],
                            capture_output=True, text=True)
    path.unlink()
    assert result.returncode == 0, result.stderr
    return set(re.findall(r"^(?:local)?rule (\w+):", result.stdout, flags=re.M))


def test_a_new_case_reruns_the_tables_but_not_the_notebooks_or_their_models(quick_run):
    """The notebooks read only their cases' rows of the config: adding another case (an overlay)
    reruns the comparison and the report, not the notebooks, nor retrains the temporary
    models of the cases they inspect."""
    rules = planned_with_overlay(quick_run, {"cases": [*QUICK["cases"], {"case": "prior-lines-again",
                                                                         "method": "prior"}]})
    assert {"generate", "compare", "report"} <= rules
    assert not rules & {"notebook", "train", "plot_latent"}


def test_a_change_of_the_metrics_reruns_only_the_scoring(quick_run):
    """Scoring reads the stored lines: a new match distance reruns every case's score job, the
    exact row and the tables after them, and no training or generation: not the run jobs, the
    data, the exact solver, the search (whose objective is a distance to the exact solutions),
    the notebook or the latent figure."""
    study = plan(QUICK_STUDY)
    path = quick_run / "config" / "overlay.yaml"
    path.write_text(yaml.safe_dump({"evaluate": {"match_tolerance": 0.01}}))
    result = subprocess.run([*SNAKEMAKE, "--directory", str(quick_run), "--configfile",
                             str(quick_run / "config" / "quick.yaml"), str(path), "--dry-run"],
                            capture_output=True, text=True)
    path.unlink()
    assert result.returncode == 0, result.stderr
    jobs = dry_run_jobs(result.stdout)
    assert jobs["score"] == len(study.runs) * len(QUICK_STUDY["datasets"])
    assert {"score_exact", "compare", "rank_methods", "verdicts", "findings", "report"} <= set(jobs)
    assert not set(jobs) & {*RUN_FAMILIES, "generate_data", "validate_data", "solve_exact", "solve_train", "tune",
                            "notebook", "plot_latent"}


def test_one_case_target_plans_only_its_jobs(tmp_path_factory):
    workdir = new_workdir(tmp_path_factory, "one")
    result = snakemake(workdir, "--dry-run", f"results/{DATASET}/{FINAL}/metrics.json")
    plan = result.stdout
    # one job trains the case's seeds and generates their lines, another scores them
    assert dry_run_jobs(plan) == {"generate_data": 3, "validate_data": 1, "solve_exact": 1, "train": 1, "score": 1}
    assert plan.count(f"results/{DATASET}/{FINAL}/seed") >= 2 * QUICK_SEEDS
    assert FLOW not in plan and NEAREST not in plan


def test_the_challenge_overlay_plans_its_dataset_alone(tmp_path_factory):
    """config/challenge.yaml removes data_1 and data_2 (null), the search and the ablations: one
    train or generate job per case, all on the challenge's map."""
    workdir = new_workdir(tmp_path_factory, "challenge")
    result = subprocess.run([*SNAKEMAKE, "--directory", str(workdir), "--configfile",
                             str(workdir / "config" / "challenge.yaml"), "--dry-run"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    challenge = yaml.safe_load((ROOT / "config" / "challenge.yaml").read_text())
    stats = result.stdout.split("Job stats:")[1].splitlines()
    jobs = {line.split()[0]: int(line.split()[1]) for line in stats
            if line.startswith(("train", "generate ", "score", "ablation", "tune"))}
    learned = sum(case.get("method", "cvae") in METHODS_LEARNED for case in challenge["cases"])
    assert jobs == {"train": learned, "generate": len(challenge["cases"]) - learned,
                    "score": len(challenge["cases"]), "score_exact": 1}
    assert "results/challenge/" in result.stdout
    assert "data_1" not in result.stdout and "data_2" not in result.stdout


def dry_run_jobs(stdout: str) -> dict[str, int]:
    """A dry run's "Job stats": rule -> jobs, without the `all` target and the total."""
    stats = stdout.split("Job stats:")[1].split("\n\n")[0].splitlines()[3:]
    return {rule: int(n) for rule, n in (line.split() for line in stats if line.strip()) if rule not in ("all", "total")}


def run_log_of(workdir: Path) -> str:
    """The Snakemake log of a directory's first run (later dry runs and reports log too)."""
    return sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"))[0].read_text()


def log_seconds(log: str) -> float:
    """Seconds from a Snakemake log's first time stamp to its last."""
    stamps = [datetime.strptime(stamp, "%a %b %d %H:%M:%S %Y") for stamp in re.findall(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$", log, flags=re.M)]
    return (stamps[-1] - stamps[0]).total_seconds()


def test_the_plans_schedule_replays_the_run_it_simulates(quick_run):
    """The plan's schedule (sincvae.plan.schedule.simulate: its job graph, priorities, threads,
    local jobs beside the computing ones) given each job's measured seconds (its benchmark)
    ends within 15% of the quick run's own wall time: the README's --cores 8 on this machine,
    whose computing jobs share its cores and whose bookkeeping runs beside them."""
    here = Costs.for_machine(ROOT / "config" / "costs", describe_cpu())
    study = split_by_cost(plan(QUICK_STUDY), QUICK_STUDY, here)
    cores = len(os.sched_getaffinity(0))
    jobs, graph = priced_jobs(study, QUICK_STUDY, here, cores)
    finished = Finished(study, QUICK_STUDY, quick_run)
    timed = [{**job, "ref": finished.benchmark_s(job) * min(job["threads"], cores)} for job in jobs]
    replayed = simulate(timed, graph, cores, cluster=True).wall
    measured = log_seconds(run_log_of(quick_run))
    assert abs(replayed / measured - 1) <= 0.15, (replayed, measured)


def test_a_finished_study_is_measured_job_by_job_with_the_sizes_its_rates_scale_with(quick_run):
    """What calibration fits (sincvae.plan.calibration.measure): a start-up record for every run job
    and a start-up and a scoring record for every score job of the plan, training records of rows × epochs per seed, the solvers' rows, every
    rule the plan does not size. Its seconds are this machine's; tests/test_calibration.py fits rates
    on a recorded table, so nothing here asserts a time."""
    study = plan(QUICK_STUDY)
    records = pd.DataFrame(measure(study, QUICK_STUDY, quick_run))
    assert list(records.columns) == list(MEASURED_FIELDS) and records["seconds"].notna().all()
    jobs = pd.DataFrame(job_table(study, QUICK_STUDY, Costs.calibrated(ROOT / "config" / "costs")[0]))
    run_jobs = {f"{j.rule}/{j.dataset}/{j.case}/seeds{j.seeds}" for j in jobs.itertuples() if j.rule in RUN_FAMILIES}
    score_jobs = {f"score/{j.dataset}/{j.case}" for j in jobs.itertuples() if j.rule == "score"}
    assert len(score_jobs) == len(run_jobs)
    assert sorted(records.loc[records["rate"] == "startup", "job"]) == sorted(run_jobs | score_jobs)
    assert sorted(records.loc[records["rate"] == "score", "job"]) == sorted(score_jobs)
    trained = records[records["rate"] == "train"]
    epochs = {case: study.runs[case].case["epochs"] - study.epochs_done(case) for case in study.runs}
    rows = QUICK_STUDY["data"]["rows"]["train"]
    assert (trained["size"] == [epochs[job.split("/")[2]] * rows for job in trained["job"]]).all()
    assert len(trained) == sum(len(study.runs[case].seeds) for case in study.runs
                               if study.runs[case].case["method"] in METHODS_LEARNED)
    solved = records[records["rate"] == "solve"].set_index("key")["size"]
    assert solved.to_dict() == {"solve_exact": 8 + 20, "solve_train": 1000}
    benchmarked = {path.name.removesuffix(".tsv") for path in (quick_run / "benchmarks").iterdir()}
    per_job = {rule for rule, step in STEPS.items() if step.cost is None}  # priced per job, measured per job
    assert set(records.loc[records["rate"] == "rule", "key"]) == benchmarked & per_job


def test_default_config_plans_every_case_on_both_datasets(tmp_path_factory):
    """Snakemake plans exactly the jobs the cost plan (results/plan.csv) estimates, and one
    job per case (or level) and dataset for all its seeds."""
    workdir = new_workdir(tmp_path_factory, "default")
    result = subprocess.run([*SNAKEMAKE, "--directory", str(workdir), "--dry-run"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    jobs = dry_run_jobs(result.stdout)
    study = plan(CONFIG)
    planned = job_table(study, CONFIG, Costs.calibrated(ROOT / "config" / "costs")[0])
    assert collections.Counter(job["rule"] for job in planned) == jobs
    learned = sum(case.get("method", "cvae") in METHODS_LEARNED for case in CONFIG["cases"]) + 1  # + tuned
    # first seed only, every point (the base case's own setting too: judged on the validation split)
    grid = math.prod(len(values) for values in CONFIG["tuning"]["grid"].values())
    assert len(study.grid_jobs) == grid
    ablations = CONFIG["ablations"]
    # per variant: the shared center and every other level; the 25-epoch level continues the center
    levels = len(ablations["variants"]) * (1 + sum(len(f["levels"]) - 1 for f in ablations["factors"].values()))
    centers = len(ablations["variants"])  # kept for the 25-epoch level: rule ablation_continued
    cases = len(CONFIG["cases"]) + 1
    assert {rule: n for rule, n in jobs.items() if rule.startswith(("train", "generate", "score", "ablation"))
            and rule != "generate_data"} == {
        "train": 2 * learned, "generate": 2 * (cases - learned), "score_exact": 2, "train_grid_point": 2 * grid,
        "ablation": 2 * (levels - centers), "ablation_continued": 2 * centers,
        "score": 2 * (cases + grid + levels)}


def plans_only(workdir: Path, overlay: dict) -> set[str]:
    return planned_with_overlay(workdir, overlay) - {"all", "plan"}


def test_a_change_reruns_only_the_jobs_that_read_it(quick_run):
    """Each job's params are its planning.Run: more refinement candidates rerun the jobs that
    refine (the comparison's) and what reads their lines, not the ablations, the grid, the
    search or the exact solver; another search space reruns the search and the tuned case
    alone."""
    rules = plans_only(quick_run, {"evaluate": {"refine": {"oversample": 3}}})
    assert {"train", "generate", "compare", "report"} <= rules
    assert not rules & {"solve_exact", "ablation", "ablation_continued", "train_grid_point", "tune", "verdicts",
                        "score_exact"}
    space = {**QUICK.get("tuning", {}).get("space", CONFIG["tuning"]["space"]), "wy": {"low": 0.1, "high": 0.9}}
    searched = planned_with_overlay(quick_run, {"tuning": {"space": space}})
    assert {"tune", "best_setting", "train"} <= searched
    assert not searched & {"train_grid_point", "ablation", "solve_exact", "generate"}


def test_an_unknown_case_or_dataset_fails_naming_the_valid_ids(tmp_path_factory):
    workdir = new_workdir(tmp_path_factory, "unknown")
    for target in ("results/data_3/" + FINAL + "/metrics.json", "results/data_1/no-such-case/metrics.json",
                   "results/data_3/no-such-case/metrics.json"):
        result = snakemake(workdir, "--dry-run", target, check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert f"unknown target {target}: datasets are {', '.join(DATASETS)}; cases are {', '.join(CASES)}" in output
        assert not (workdir / "data").exists()


def test_an_invalid_config_stops_before_any_job(tmp_path_factory):
    workdir = new_workdir(tmp_path_factory, "badconfig")
    bad = yaml.safe_load((workdir / "config" / "quick.yaml").read_text())
    bad["train"]["epochs"] = 0  # the schema's
    (workdir / "config" / "quick.yaml").write_text(yaml.safe_dump(bad))
    result = snakemake(workdir, "--dry-run", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "0 is less than the minimum of 1" in output and "instance['train']['epochs']" in output
    bad["train"]["epochs"] = 2
    bad["cases"][3]["variant"] = "improved"  # a method's own setting: the plan's
    (workdir / "config" / "quick.yaml").write_text(yaml.safe_dump(bad))
    result = snakemake(workdir, "--dry-run", check=False)
    assert result.returncode != 0
    assert (f"config: case {bad['cases'][3]['case']!r}: variant = 'improved' must be one of fixed, original_code"
            in result.stdout + result.stderr)
    assert not (workdir / "data").exists()


@pytest.mark.skipif(not SEED_SCORING.exists(), reason="the original study's scoring file (../shared) is absent")
def test_a_users_file_with_other_equations_is_kept_and_rejected(tmp_path_factory):
    workdir = new_workdir(tmp_path_factory, "userdata")
    target = workdir / "data" / "data_1" / "scoring_dataset.pt"
    target.parent.mkdir(parents=True)
    shutil.copy(SEED_SCORING, target)
    result = snakemake(workdir, "--cores", "2", "results/data_1/data_validation.json", check=False)
    assert result.returncode != 0
    assert "scoring_dataset.pt: check 'equations' failed" in (workdir / "logs" / "validate_data" / "data_1.log").read_text()
    assert target.read_bytes() == SEED_SCORING.read_bytes()  # the user's file is never overwritten
    assert not (workdir / "results" / "data_1" / "data_validation.json").exists()


def test_someones_samples_are_scored_into_the_comparison(quick_run, tmp_path_factory):
    """A file in the challenge's layout declared under `external` lands in comparison.csv as
    method `external`, scored by the usual rules; Y rows out of order stop the run by name."""
    workdir = tmp_path_factory.mktemp("external")
    shutil.copytree(quick_run, workdir, dirs_exist_ok=True)  # keeps the mtimes: nothing else reruns
    x, y = load_dataset(workdir / "data" / DATASET / "scoring_dataset.pt")
    lines = x.repeat_interleave(3, 0)
    lines[1::3, :, :, 1] = (lines[1::3, :, :, 1] + 0.1).clamp(max=1.0)  # a third of the lines off the truth
    save_dataset(workdir / "mine.pt", lines, y.repeat_interleave(3, 0))
    config = yaml.safe_load((workdir / "config" / "quick.yaml").read_text())
    config["external"] = {"my-model": {"dataset": DATASET, "path": "mine.pt"}}
    (workdir / "config" / "quick.yaml").write_text(yaml.safe_dump(config, sort_keys=False))  # same params: no reruns
    result = snakemake(workdir, "--cores", "2", "results/comparison.csv")
    assert "score_external" in result.stderr and "rule generate" not in result.stderr
    table = pd.read_csv(workdir / "results" / "comparison.csv")
    mine = table[table["case"] == "my-model"].iloc[0]
    assert (mine["dataset"], mine["method"], mine["stage"], mine["seeds"]) == (DATASET, "external", "raw", 1)
    assert mine["scoring_true_line_recovered"] == 1 and 2 / 3 - 1e-9 <= mine["scoring_precision"] < 1
    assert mine["scoring_gate_all"] >= 2 / 3 - 1e-9 and 0 < mine["scoring_mmd"] < 1
    assert table[table["method"] != "exact"]["scoring_gate_all"].notna().all()  # every case has the gate
    # the exact solutions of the scoring rows, K = 30 per y allocated by posterior weight, and
    # the same lines moved 0.015 away (every point): near a solution, not solutions
    solutions = solutions_from_frame(pd.read_parquet(workdir / "results" / DATASET / "exact" / "solutions.parquet"),
                                     "scoring", len(x))
    allocated = np.stack([np.repeat(lines, by_weight(weights, 30), 0) for lines, weights in solutions])
    angle = np.random.default_rng(0).uniform(0, 2 * np.pi, allocated.shape[:2])
    moved = allocated + 0.015 * np.stack([np.cos(angle), np.sin(angle)], -1)[..., None]
    for name, sample in (("exact-by-weight", allocated), ("moved", moved)):
        save_dataset(workdir / f"{name}.pt", to_file_layout(sample.reshape(-1, 2, 50)),
                     y.repeat_interleave(30, 0))
        config["external"][name] = {"dataset": DATASET, "path": f"{name}.pt"}
    (workdir / "config" / "quick.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(workdir, "--cores", "2", "results/comparison.csv")
    table = pd.read_csv(workdir / "results" / "comparison.csv").set_index("case")
    exact, off = table.loc["exact-by-weight"], table.loc["moved"]
    assert exact["scoring_precision"] >= 0.99 and off["scoring_near"] == pytest.approx(1)
    fmap = ForwardMap.from_config(CONFIG["datasets"][DATASET])
    solves = np.abs(fmap(moved) - y[:, 0].transpose(1, 2).numpy()[:, None]).max((-2, -1)) <= forward_tolerance(
        fmap, CONFIG["evaluate"]["match_tolerance"])
    assert off["scoring_precision"] <= solves.mean() + 1e-9 and off["scoring_precision"] < 0.5
    assert off["scoring_distance"] >= 3 * exact["scoring_distance"]
    save_dataset(workdir / "mine.pt", lines, y.repeat_interleave(3, 0).flip(0))
    result = snakemake(workdir, "--cores", "2", "results/comparison.csv", check=False)
    log = Path("logs") / "score_external" / DATASET / "my-model.log"
    assert result.returncode != 0 and str(log) in result.stderr
    assert "mine.pt: Y rows 0..2 are not scoring row 0's y" in (workdir / log).read_text()
