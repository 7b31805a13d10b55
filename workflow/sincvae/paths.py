"""Every file of the study, each spelled once, with its wildcards ({dataset}, {case}, {seeds},
{split}, {name}, {factor}) left for Snakemake or filled by the caller: the rules' inputs and
outputs, the plan's run and score files (planning), the finished study calibration reads. Logs
and benchmarks are the table of jobs' (sincvae.plan.jobs). Torch-free and Snakemake-free."""

from __future__ import annotations

from pathlib import Path

# The data: a file the user supplies is validated, a missing one generated. Its splits, in the
# order their random streams are numbered (data.split_rng).
SPLITS = ("train", "validation", "scoring")
DATASET = "data/{dataset}/{split}_dataset.pt"
DATA_VALIDATION = "results/{dataset}/data_validation.json"

# The exact solver: every solution of each scored row (and of the train split), scored as a bound.
EXACT_SOLUTIONS = "results/{dataset}/exact/solutions.parquet"
EXACT_TARGETS = "results/{dataset}/exact/targets.parquet"
TRAIN_SOLUTIONS = "results/{dataset}/exact/train_solutions.parquet"
EXACT_SCORES = "results/{dataset}/exact/scores.parquet"
EXACT_METRICS = "results/{dataset}/exact/metrics.json"

# A case: its metrics over its seeds, each seed's scores per line and per row and its metrics
# (a `seed` column or key), and the files of each of its run jobs, a batch of its seeds
# (batch_file: seeds0-7 holds seeds 0 to 7).
CASE_METRICS = "results/{dataset}/{case}/metrics.json"
CASE_SCORES = "results/{dataset}/{case}/scores.parquet"
CASE_ROWS = "results/{dataset}/{case}/rows.parquet"
SEED_METRICS = "results/{dataset}/{case}/seed_metrics.json"
SCORE_TIMING = "results/{dataset}/{case}/score_timing.json"
CASE_LOSS_CURVES = "results/{dataset}/{case}/loss_curves.png"
BATCH_FILE = "results/{dataset}/{case}/seeds{seeds}/{name}"
# Each seed's training state after its latest spaced epoch (seed{s}.pt): not a declared output,
# so it outlives a killed job, and a rerun resumes from it however the seeds are split into jobs.
CHECKPOINTS = "results/{dataset}/{case}/checkpoints"

# The hyperparameter search.
SEARCH = "results/tuning/{dataset}/search.csv"
# The search's shared study: not a declared output, so it outlives a killed job.
STUDY_JOURNAL = "results/tuning/{dataset}/study.journal"
BEST_SETTING = "results/tuning/{dataset}/best.yaml"
TRIALS = "results/tuning/{dataset}/trials.csv"
SEARCH_HISTORY = "results/tuning/{dataset}/history.png"
GRID = "results/tuning/{dataset}/grid.csv"

# The study's tables, figures and report.
PLAN = "results/plan.csv"
PLAN_SUMMARY = "results/plan.json"
POWER = "results/power.csv"
COMPARISON = "results/comparison.csv"
COMPARISON_SEEDS = "results/comparison_seeds.csv"
RANKING = "results/ranking.csv"
BEST_FIGURE = "results/figures/best.png"
BEST_CASES_FIGURE = "results/figures/best_cases.png"
COMPUTE_FIGURE = "results/figures/coverage_vs_compute.png"
# calibration against the exact posterior (rule plot_comparison), by output name
EXPECTED_COVERAGE_FIGURE = "results/figures/expected_coverage.png"
RANKS_FIGURE = "results/figures/rank_histograms.png"
BUDGET_FIGURE = "results/figures/best_of_budget.png"
TIME_FIGURE = "results/figures/accuracy_for_time.png"
CALIBRATION_FIGURES = {"expected_coverage": EXPECTED_COVERAGE_FIGURE, "rank_histograms": RANKS_FIGURE,
                       "best_of_budget": BUDGET_FIGURE, "accuracy_for_time": TIME_FIGURE}
VERDICTS = "results/verdicts.csv"
ABLATION_LEVELS = "results/ablation_levels.csv"
CLAIMS_FIGURE = "results/figures/claims.png"
CLAIM_FIGURE = "results/figures/claim_{factor}.png"
DATASET_FIGURE = "results/{dataset}/figures/{name}.png"
NOTEBOOK = "results/notebooks/{dataset}.ipynb"
NOTEBOOK_HTML = "results/notebooks/{dataset}.html"
FINDINGS = "results/findings.md"
FINDINGS_DATA = "results/findings.json"
REPORT = "results/report.html"
THROUGHPUT = "results/benchmarks/throughput.csv"


def fill(pattern: str, **values: object) -> str:
    """`pattern` with the given wildcards filled and the others left for Snakemake."""
    for name, value in values.items():
        pattern = pattern.replace("{" + name + "}", str(value))
    return pattern


def dataset(split: str, dataset: str = "{dataset}") -> str:
    """One split's data file, of `dataset` or with {dataset} left as a wildcard."""
    return fill(DATASET, split=split, dataset=dataset)


def batch_label(seeds: tuple[int, ...]) -> str:
    """The {seeds} of a run job's consecutive seeds: 0-7, or 3 for one seed."""
    return str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"


BATCH_PATTERN = r"\d+(-\d+)?"  # every batch_label


def batch_file(name: str, seeds: object = "{seeds}", dataset: str = "{dataset}", case: str = "{case}") -> str:
    """A file of a run job (lines.parquet, models.pt, ...), for its seeds (a tuple or a
    label), with the wildcards not given left for Snakemake."""
    label = batch_label(seeds) if isinstance(seeds, tuple) else seeds
    return fill(BATCH_FILE, name=name, seeds=label, dataset=dataset, case=case)


def batch_seeds(label: str) -> range:
    """The seeds of a batch_label: 0-7 -> 0..7, 3 -> 3."""
    first, _, last = label.partition("-")
    return range(int(first), int(last or first) + 1)


def written_batch_file(name: str, seed: int, dataset: str, case: str, root: Path = Path(".")) -> Path:
    """The run job's file `name` that holds `seed`'s, in a finished study under `root`, however
    its seeds were split into jobs."""
    for path in sorted(root.glob(fill(BATCH_FILE, dataset=dataset, case=case, seeds="*", name=name))):
        if seed in batch_seeds(path.parent.name.removeprefix("seeds")):
            return path
    raise FileNotFoundError(f"no {name} of seed {seed} under {root / 'results' / dataset / case}: has its run finished?")
