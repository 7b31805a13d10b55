"""Hyperparameter search: the search space, resuming a study, the best setting, the tuned case."""

import optuna
import pandas as pd
import yaml

from sincvae.planning import with_best_setting
from sincvae.tuning import (FINISHED, OBJECTIVE, best_case, grid_frame, in_seed_ranges, open_study, run_worker,
                            suggest, trials_frame)

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


def test_an_interrupted_search_resumes_without_losing_finished_trials(tmp_path):
    journal = str(tmp_path / "study.journal")
    first = open_study(journal, "data_1", sampler_seed=0, startup_trials=2)
    assert run_worker(first, quadratic, trials=4, log=lambda _: None) == 4
    finished = {t.number: t.value for t in first.get_trials(states=FINISHED)}
    first.ask()  # a trial left running by a killed worker
    again = open_study(journal, "data_1", sampler_seed=0, startup_trials=2)
    assert run_worker(again, quadratic, trials=7, log=lambda _: None) == 3
    assert {t.number: t.value for t in again.get_trials(states=FINISHED)
            if t.number in finished} == finished
    assert len(again.get_trials(states=FINISHED)) == 7
    assert run_worker(again, quadratic, trials=7, log=lambda _: None) == 0  # nothing left to do


def test_the_same_seed_gives_the_same_trials(tmp_path):
    values = []
    for run in range(2):
        study = open_study(str(tmp_path / f"run{run}.journal"), "d", sampler_seed=3, startup_trials=2)
        run_worker(study, quadratic, trials=6, log=lambda _: None)
        values.append([t.params for t in study.trials])
    assert values[0] == values[1]


def test_best_setting_is_the_lowest_completed_trial_and_is_applied_to_the_tuned_case(tmp_path):
    study = open_study(str(tmp_path / "s.journal"), "d", sampler_seed=0, startup_trials=2)
    run_worker(study, quadratic, trials=12, log=lambda _: None)
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


def test_a_pruned_trial_has_no_objective_value(tmp_path):
    def pruned_at_first_epoch(trial):
        suggest(trial, SPACE)
        trial.report(0.001, 1)  # a progress value far below any objective
        raise optuna.TrialPruned()

    study = open_study(str(tmp_path / "p.journal"), "d", sampler_seed=0, startup_trials=0)
    run_worker(study, quadratic, trials=2, log=lambda _: None)
    study.optimize(pruned_at_first_epoch, n_trials=1)
    frame = trials_frame(study)
    assert frame["state"].tolist() == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert pd.isna(frame[OBJECTIVE].iloc[2]) and best_case(frame, SPACE) == study.best_params
    assert frame["best_so_far"].iloc[2] == frame[OBJECTIVE].iloc[:2].min()


def test_seed_ranges_and_grid_table():
    assert in_seed_ranges({"latent_dim": 110, "beta": 1.1, "wx": 0.6, "wy": 0.7}) == {
        "latent_dim": True, "beta": True, "wx": True, "wy": False}
    assert in_seed_ranges({"beta": 0.5})["wx"] is None
    metrics = [{"stages": {"raw": {"validation": {"mmd": m, "coverage": 0.0}}}} for m in (0.9, 0.7)]
    table = grid_frame([{"beta": 0.5}, {"beta": 1.1}], metrics)
    assert table["beta"].tolist() == [1.1, 0.5] and table[OBJECTIVE].tolist() == [0.7, 0.9]
    assert list(table.columns) == ["beta", OBJECTIVE, "validation_coverage"]
