"""sincvae.paths: every file of the study spelled once, its wildcards filled only where asked."""

import re

import pytest

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
    assert paths.fill(paths.BATCH_FILE, name="lines.parquet") == "results/{dataset}/{case}/seeds{seeds}/lines.parquet"
    assert paths.batch_file("models.pt", (0, 1, 2)) == "results/{dataset}/{case}/seeds0-2/models.pt"
    assert paths.batch_file("models.pt", (3,)) == "results/{dataset}/{case}/seeds3/models.pt"
    assert list(paths.batch_seeds("0-2")) == [0, 1, 2] and list(paths.batch_seeds("3")) == [3]
    assert re.fullmatch(paths.BATCH_PATTERN, "0-2") and not re.fullmatch(paths.BATCH_PATTERN, "0-")
    assert paths.dataset("train") == "data/{dataset}/train_dataset.pt"
    assert paths.dataset("scoring", "data_2") == "data/data_2/scoring_dataset.pt"
    assert paths.fill(paths.CLAIM_FIGURE, factor="epochs") == "results/figures/claim_epochs.png"


def test_the_plans_files_are_the_modules():
    """A run job's inputs and a score job's outputs are the module's patterns, filled."""
    study = plan(QUICK_STUDY)
    case = next(c for c in study.comparison if study.runs[c].case["method"] == "cvae")
    label = paths.batch_label(tuple(study.seeds[case]))
    inputs = study.run_inputs(case, "data_1", label)
    assert inputs["train"] == paths.dataset("train", "data_1")
    written = run_outputs(study.run_rule(case))
    assert written["lines"] == paths.batch_file("lines.parquet")
    scored = score_outputs()
    assert scored["summary"] == paths.CASE_METRICS and scored["timing"] == paths.SCORE_TIMING
    assert scored["rows"] == paths.CASE_ROWS and scored["seed_metrics"] == paths.SEED_METRICS
    score_inputs = study.score_inputs(case, "data_1")
    assert score_inputs["solutions"] == paths.fill(paths.EXACT_SOLUTIONS, dataset="data_1")
    assert score_inputs["lines"] == [paths.fill(written["lines"], dataset="data_1", case=case, seeds=label)]


def test_a_finished_studys_file_of_a_seed_is_found_in_its_batch(tmp_path):
    for batch in ("0-2", "3-4"):
        folder = tmp_path / paths.fill(paths.BATCH_FILE, dataset="data_1", case="c", seeds=batch, name="x")
        folder.parent.mkdir(parents=True)
        folder.write_text(batch)
    assert paths.written_batch_file("x", 3, "data_1", "c", tmp_path).read_text() == "3-4"
    assert paths.written_batch_file("x", 0, "data_1", "c", tmp_path).read_text() == "0-2"
    with pytest.raises(FileNotFoundError, match="no x of seed 5"):
        paths.written_batch_file("x", 5, "data_1", "c", tmp_path)
