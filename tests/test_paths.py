"""sincvae.paths: every file of the study spelled once, its wildcards filled only where asked."""

from sincvae import paths
from sincvae.plan.planning import plan
from sincvae.plan.rule_files import run_outputs, score_outputs

from conftest import QUICK_STUDY


def patterns() -> dict[str, str]:
    return {name: value for name, value in vars(paths).items() if name.isupper() and isinstance(value, str)}


def test_each_file_has_one_name():
    files = list(patterns().values())
    assert len(files) == len(set(files))


def test_fill_keeps_the_wildcards_it_is_not_given():
    assert paths.fill(paths.SEED_FILE, name="lines.parquet") == "results/{dataset}/{case}/seed{seed}/lines.parquet"
    assert paths.seed_file("model.pt", 0) == "results/{dataset}/{case}/seed0/model.pt"
    assert paths.dataset("train") == "data/{dataset}/train_dataset.pt"
    assert paths.dataset("scoring", "data_2") == "data/data_2/scoring_dataset.pt"
    assert paths.fill(paths.CLAIM_FIGURE, factor="epochs") == "results/figures/claim_epochs.png"


def test_the_plans_files_are_the_modules():
    """A run job's inputs and a score job's outputs are the module's patterns, filled."""
    study = plan(QUICK_STUDY)
    case = next(c for c in study.comparison if study.runs[c].case["method"] == "cvae")
    inputs = study.run_inputs(case, "data_1")
    assert inputs["train"] == paths.dataset("train", "data_1")
    written = run_outputs(study.run_rule(case), tuple(study.seeds[case]))
    assert written["lines"] == [paths.seed_file("lines.parquet", s) for s in study.seeds[case]]
    scored = score_outputs(tuple(study.seeds[case]))
    assert scored["summary"] == paths.CASE_METRICS and scored["timing"] == paths.SCORE_TIMING
    score_inputs = study.score_inputs(case, "data_1")
    assert score_inputs["solutions"] == paths.fill(paths.EXACT_SOLUTIONS, dataset="data_1")
    assert score_inputs["lines"] == [paths.fill(p, dataset="data_1", case=case) for p in written["lines"]]
