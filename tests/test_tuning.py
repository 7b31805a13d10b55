"""Hyperparameter search: the search space, resuming a study, the best setting, the tuned case."""

import subprocess
import sys
import time

import optuna
import pandas as pd
import yaml

from conftest import ROOT
from sincvae.plan.ablations import claims
from sincvae.plan.cases import with_best_setting
from sincvae.learn.tuning import (FINISHED, OBJECTIVE, best_case, grid_frame, in_original_ranges, open_study, run_search,
                             study_name,
                            run_trial, suggest, trials_frame)

CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
SPACE = {"beta": {"low": 0.0, "high": 2.0}, "latent_dim": {"low": 8, "high": 128},
         "lr": {"low": 1e-4, "high": 3e-3, "log": True}, "loss": {"choices": ["l1_mean", "mse"]}}


def quadratic(trial):
    """A cheap objective with its minimum at beta 1.2."""
    params = suggest(trial, SPACE)
    return (params["beta"] - 1.2) ** 2 + (params["loss"] == "mse") * 0.1


def test_suggest_draws_each_kind_of_parameter_in_its_range():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        params = suggest(study.ask(), SPACE)
        assert 0 <= params["beta"] <= 2 and isinstance(params["beta"], float)
        assert 8 <= params["latent_dim"] <= 128 and isinstance(params["latent_dim"], int)
        assert 1e-4 <= params["lr"] <= 3e-3 and params["loss"] in ("l1_mean", "mse")


def make_quadratic(uneven=False):
    """Objective factory for run_search (each search process builds its objective from it);
    uneven: trials with beta < 1 take longer, so a batch's trials finish out of order."""
    def objective(trial):
        value = quadratic(trial)
        if uneven:
            time.sleep(0.2 * (trial.params["beta"] < 1))
        trial.report(value, 1)
        return value
    return objective


def search(journal, trials, processes=1, workers=2, seed=3, startup_trials=2, uneven=False):
    study = open_study(str(journal), "d")
    ran = run_search(study, make_quadratic, (uneven,), SPACE, trials, workers, processes, seed, startup_trials,
                     log=lambda _: None)
    return study, ran


def test_an_interrupted_search_resumes_without_losing_finished_trials(tmp_path):
    journal = tmp_path / "study.journal"
    first, ran = search(journal, 4)
    assert ran == 4
    finished = trials_frame(first)
    again, ran = search(journal, 7)
    assert ran == 3 and len(again.get_trials(states=FINISHED)) == 7
    pd.testing.assert_frame_equal(trials_frame(again).head(4).drop(columns="best_so_far"),
                                  finished.drop(columns="best_so_far"))
    assert search(journal, 7)[1] == 0  # nothing left to do


def test_the_same_seed_gives_the_same_trials_whatever_runs_in_parallel(tmp_path):
    """Batches of 2 trials: one process, or two finishing out of order on a machine loaded by two
    busy processes, ask the same settings and give the same results."""
    alone = trials_frame(search(tmp_path / "alone.journal", 6)[0])
    load = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        loaded = trials_frame(search(tmp_path / "loaded.journal", 6, processes=2, uneven=True)[0])
    finally:
        for process in load:
            process.kill()
    frames = [alone, loaded]
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert frames[0]["trial"].tolist() == list(range(6))
    assert frames[0]["beta"].nunique() == 6
    other = trials_frame(search(tmp_path / "seed4.journal", 6, seed=4)[0])
    assert other["beta"].tolist() != frames[0]["beta"].tolist()


def test_best_setting_is_the_lowest_completed_trial_and_is_applied_to_the_tuned_case(tmp_path):
    study, _ = search(tmp_path / "s.journal", 12)
    frame = trials_frame(study)
    assert frame["best_so_far"].is_monotonic_decreasing
    best = best_case(frame, SPACE)
    assert best == study.best_params and set(best) == set(SPACE)
    path = tmp_path / "best.yaml"
    path.write_text(yaml.safe_dump({"setting": best}))
    tuned = with_best_setting({"case": "tuned", "tuned": True, "beta": 9.0, "wx": 0.6}, str(path))
    assert tuned["beta"] == best["beta"] and tuned["wx"] == 0.6
    plain = {"case": "c1", "beta": 9.0}
    assert with_best_setting(plain, None) is plain


def test_a_trial_is_pruned_against_earlier_batches_only_and_has_no_objective_value(tmp_path):
    study, _ = search(tmp_path / "p.journal", 2, startup_trials=0)
    earlier = study.get_trials(states=FINISHED)

    def worse_at_epoch_1(trial):
        suggest(trial, SPACE)
        trial.report(100.0, 1)  # above both earlier trials' value at epoch 1: the median pruner stops it
        if trial.should_prune():
            raise optuna.TrialPruned()
        return 0.0

    pruned = run_trial(earlier, earlier[0].params, SPACE, 0, 2, worse_at_epoch_1)
    assert pruned.state == optuna.trial.TrialState.PRUNED and pruned.params == earlier[0].params
    alone = run_trial([], earlier[0].params, SPACE, 0, 0, worse_at_epoch_1)  # nothing earlier to compare with
    assert alone.state == optuna.trial.TrialState.COMPLETE
    study.add_trial(pruned)
    frame = trials_frame(study)
    assert frame["state"].tolist() == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert pd.isna(frame[OBJECTIVE].iloc[2]) and best_case(frame, SPACE) == study.best_params
    assert frame["best_so_far"].iloc[2] == frame[OBJECTIVE].iloc[:2].min()


def test_seed_ranges_and_grid_table():
    original = claims(CONFIG)
    assert in_original_ranges({"latent_dim": 110, "beta": 1.1, "wx": 0.6, "wy": 0.7, "loss": "mse"}, original) == {
        "latent_dim": True, "beta": True, "wx": True, "wy": False, "epochs": None, "loss": False}
    assert in_original_ranges({"beta": 0.5}, original)["wx"] is None
    metrics = [{"stages": {"raw": {"validation": {"distance": m, "coverage": 0.0}}}} for m in (0.9, 0.7)]
    table = grid_frame([{"beta": 0.5}, {"beta": 1.1}], metrics)
    assert table["beta"].tolist() == [1.1, 0.5] and table[OBJECTIVE].tolist() == [0.7, 0.9]
    assert list(table.columns) == ["beta", OBJECTIVE, "validation_coverage"]


def test_the_study_starts_afresh_when_what_a_trial_scores_changes(tmp_path):
    """The journal keeps a study per name: a changed space, evaluation setting or data file
    names a new study (no trial of the old one is reused); the same settings name the same."""
    data = tmp_path / "validation.pt"
    data.write_bytes(b"rows")
    settings = {"search": {"space": SPACE, "seed": 0}, "evaluate": {"samples": 30, "validation_rows": 200}}
    name = study_name("d", settings, [str(data)])
    assert name == study_name("d", settings, [str(data)])
    wider = {**settings, "search": {"space": {**SPACE, "extra": {"low": 0.0, "high": 1.0}}, "seed": 0}}
    stricter = {**settings, "evaluate": {"samples": 10, "validation_rows": 200}}
    assert len({name, study_name("d", wider, [str(data)]), study_name("d", stricter, [str(data)])}) == 3
    data.write_bytes(b"other rows")
    assert study_name("d", settings, [str(data)]) != name
    journal = str(tmp_path / "study.journal")
    old = open_study(journal, name)
    old.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=1.0))
    assert open_study(journal, study_name("d", wider, [str(data)])).trials == []
    assert len(open_study(journal, name).trials) == 1
