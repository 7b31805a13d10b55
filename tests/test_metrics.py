import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT

from sincvae.problem.data import make_dataset, split_rng
from sincvae.score.scoring import lines_frame, lines_from_frame, save_table
from sincvae.problem.exact import forward_tolerance
from sincvae.score.metrics import (
    sample_scores,
    summarise,
    truth_scores,
    truth_table,
)
from sincvae.score.distances import wasserstein


@pytest.fixture
def lines(data_1):
    x, _ = make_dataset(data_1, 6, split_rng(0, "scoring"))
    x = x[:, 0].transpose(1, 2).numpy().astype(np.float64)
    return x, data_1(x)


def test_the_true_line_scores_perfectly(lines, data_1):
    x, y = lines
    scores = sample_scores(x[:, None], y, x, data_1, 0.02)
    assert len(scores) == 6 and scores["valid"].all()
    assert scores["residual_l1"].max() < 1e-12
    assert scores["straightness"].max() < 1e-6  # float32 lines
    assert scores[["gate_direction", "gate_straight", "gate_rmse", "gate_all"]].all().all()
    assert (scores["in_domain"] == 1).all()
    assert scores["true_distance"].max() == 0
    truth = truth_table(x[:, None], scores, [(x[b:b + 1], np.ones(1)) for b in range(6)], 0.02)
    summary = summarise(scores, truth, 0.02)
    assert summary["true_line_recovered"] == 1.0 and summary["samples_per_row"] == 1
    assert summary["coverage"] == summary["precision"] == summary["near"] == 1.0 and summary["solutions_mean"] == 1
    assert summary["distance"] == 0


def test_scores_of_a_shifted_bent_and_reversed_line(lines, data_1):
    x, y = lines
    shifted = x[:1] + np.array([0.03, 0.0])[:, None]
    bent = x[:1].copy()
    bent[:, 0, 25] += 0.1
    reversed_ = x[:1, :, ::-1]
    x_hat = np.stack([shifted[0], bent[0], reversed_[0]])[None]  # (1, 3, 2, 50)
    scores = sample_scores(x_hat, y[:1], x[:1], data_1, 0.02)
    assert not scores["valid"].any()
    assert scores["true_distance"].iloc[0] == pytest.approx(0.03)
    assert scores["true_distance"].iloc[1] == pytest.approx(0.1)
    assert scores["straightness"].iloc[0] < 1e-6 < scores["straightness"].iloc[1]
    assert scores["gate_direction"].tolist() == [True, True, False]
    # |sin(5·(x0 + 0.03) + 3·x1) − sin(5·x0 + 3·x1)| ≈ 0.15·|cos(...)|, averaged with an unchanged y2
    expected = np.abs(data_1(shifted) - y[:1]).mean()
    assert scores["residual_l1"].iloc[0] == pytest.approx(expected)
    truth = truth_table(x_hat, scores, [(x[:1], np.ones(1))], 0.02)
    best = summarise(scores, truth, 0.02)
    assert best["true_line_recovered"] == 0.0 and best["best_of_k_distance_median"] == pytest.approx(0.03)
    assert best["coverage"] == 0.0 and best["precision"] == 0.0 and best["near"] == 0.0
    # each line's largest point distance to the one solution, averaged over the 3 lines
    assert best["distance"] == pytest.approx(np.mean([0.03, 0.1, scores["true_distance"].iloc[2]]))


def test_stored_lines_round_trip_and_straight_sets_keep_their_end_points(lines, tmp_path):
    x, _ = lines
    straight = np.stack([x + 0.01 * k for k in range(3)], 1)  # (6, 3, 2, 50)
    bent = straight.copy()
    bent[:, :, 0, 25] += 0.05
    failed = straight[:2].copy()
    failed[0, 1] = np.nan  # a sampler's failed line: NaN everywhere
    frame = lines_frame({("scoring", "raw"): bent, ("scoring", "refined"): straight, ("validation", "raw"): failed})
    assert list(frame.columns) == ["split", "stage", "row", "sample", "point", "x0", "x1"]
    sizes = frame.groupby(["split", "stage"]).size().to_dict()
    assert sizes == {("scoring", "raw"): 6 * 3 * 50, ("scoring", "refined"): 6 * 3 * 2, ("validation", "raw"): 2 * 3 * 2}
    save_table(frame, tmp_path / "lines.parquet")
    back = lines_from_frame(pd.read_parquet(tmp_path / "lines.parquet"), 50)
    np.testing.assert_array_equal(back[("scoring", "raw")], bent.astype(np.float32))  # float32, bit for bit
    np.testing.assert_allclose(back[("scoring", "refined")], straight, atol=2e-7)
    assert back[("validation", "raw")].shape == (2, 3, 2, 50) and np.isnan(back[("validation", "raw")][0, 1]).all()
    assert np.isfinite(back[("validation", "raw")][1]).all()


def test_per_line_tables_are_saved_compactly_and_the_lines_exactly(tmp_path, data_1):
    x, _ = make_dataset(data_1, 40, split_rng(0, "scoring"))
    lines = x[:, 0].transpose(1, 2).numpy()[:, None] + np.random.default_rng(0).normal(0, 0.01, (40, 5, 2, 50))
    frame = lines_frame({("scoring", "raw"): lines})
    scores = sample_scores(lines, data_1(x[:, 0].transpose(1, 2).numpy()), x[:, 0].transpose(1, 2).numpy(), data_1, 0.02)
    for table, name in ((frame, "samples"), (scores.assign(split="scoring"), "scores")):
        save_table(table, tmp_path / f"{name}.parquet")
        table.to_parquet(tmp_path / f"{name}_default.parquet", index=False)
        back = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert list(back.columns) == list(table.columns) and len(back) == len(table)
        floats = table.select_dtypes("float").columns
        # float32 columns come back bit for bit; float64 scores to float32's precision
        assert np.array_equal(back[floats].to_numpy(np.float32), table[floats].to_numpy(np.float32))
        assert (tmp_path / f"{name}.parquet").stat().st_size < 0.7 * (tmp_path / f"{name}_default.parquet").stat().st_size


def test_the_challenges_gate_tests_direction_straightness_and_rmse_apart(lines, data_1):
    x, y = lines
    wavy = x[:1].copy()
    wavy[:, 0] = x[0, 0].mean() + 0.2 * np.sin(np.linspace(0, 6 * np.pi, 50))  # x0 not straight: |r| small
    flat = x[:1].copy()
    flat[:, 1] = 0.5  # a constant x1 has no direction and no correlation
    far = x[:1].copy()
    far[:, 1] = x[0, 1] + 0.15  # straight, x1 still rising, but f(x) is far from y
    x_hat = np.stack([x[0], x[0, :, ::-1], wavy[0], flat[0], far[0]])[None]
    scores = sample_scores(x_hat, y[:1], x[:1], data_1, 0.02)
    assert scores["valid"].tolist() == [True, False, False, False, False]
    assert scores["gate_direction"].tolist()[:2] == [True, False] and scores["gate_direction"].tolist()[3:] == [False, True]
    assert scores["gate_straight"].tolist() == [True, True, False, False, True]
    assert scores["gate_rmse"].tolist()[:2] == [True, False] and not scores["gate_rmse"].iloc[4]
    assert scores["gate_all"].tolist() == [True, False, False, False, False]
    truth = truth_table(x_hat, scores, [(x[:1], np.ones(1))], 0.02)
    assert summarise(scores, truth, 0.02)["gate_all"] == pytest.approx(0.2)


def test_a_near_miss_is_near_but_not_valid(lines, data_1):
    """A line moved 0.015 (inside the match distance) solves y to ~0.07, a hundred times the
    forward tolerance: near a solution, not one; the challenge's gate (RMSE < 0.1) lets it pass."""
    x, y = lines
    moved = x[:, None] + np.array([0.015 * 0.6, 0.015 * 0.8])[:, None]
    scores = sample_scores(moved, y, x, data_1, 0.02)
    assert scores["residual_max"].min() > 10 * forward_tolerance(data_1, 0.02)
    assert not scores["valid"].any() and scores["gate_rmse"].all()
    truth = truth_table(moved, scores, [(x[b:b + 1], np.ones(1)) for b in range(6)], 0.02)
    summary = summarise(scores, truth, 0.02)
    assert summary["near"] == 1 and summary["precision"] == summary["coverage"] == 0
    assert summary["distance"] == pytest.approx(0.015)


def test_the_forward_tolerance_keeps_a_point_within_the_match_distance_at_a_turning_point(data_2):
    """At y = cos(p) = 1 (p = 0 mod 2π), moving the phase by d changes y by 1 − cos d ≈ d²/2: the
    tolerance e allows a phase error of about sqrt(2e), which through the inverse coefficients
    must stay within the match distance."""
    e = forward_tolerance(data_2, 0.02)
    phase_error = np.arccos(1 - e)  # the largest phase move that changes y by e at the turning point
    point_error = np.sqrt(2) * phase_error * np.linalg.norm(np.linalg.inv(data_2.coefficients), 2)
    assert point_error <= 0.02 and point_error > 0.9 * 0.02  # the bound is tight, not loose
    assert forward_tolerance(data_2, 0.02) < forward_tolerance(data_2, 0.04)


def test_wasserstein_on_hand_computable_cases():
    # two solutions 0.5 apart (weights 0.75, 0.25); samples all on the first: a quarter of the mass moves 0.5
    distances = np.array([[0.0, 0.5]] * 4)
    assert wasserstein(distances, np.full(4, 0.25), np.array([0.75, 0.25])) == pytest.approx(0.125)
    # every sample 0.015 off its own solution, in proportion: 0.015
    distances = np.array([[0.015, 0.5], [0.015, 0.5], [0.5, 0.015], [0.5, 0.015]])
    assert wasserstein(distances, np.full(4, 0.25), np.array([0.5, 0.5])) == pytest.approx(0.015)
    # dropping a mode costs in proportion to its weight
    drop_light = wasserstein(np.array([[0.0, 0.4]] * 2), np.full(2, 0.5), np.array([0.9, 0.1]))
    drop_heavy = wasserstein(np.array([[0.4, 0.0]] * 2), np.full(2, 0.5), np.array([0.9, 0.1]))
    assert drop_light == pytest.approx(0.1 * 0.4) and drop_heavy == pytest.approx(0.9 * 0.4)


def test_coverage_needs_a_valid_line_near_the_solution(lines):
    x, _ = lines
    solutions = np.stack([x[0], x[1]])
    samples = np.stack([x[0], x[0] + 0.005, x[1] + 0.005])
    scores = truth_scores(samples, {"valid": np.array([True, False, False]), "residual_l1": np.zeros(3)}, solutions, np.array([0.5, 0.5]), 0.02)
    assert scores["coverage"] == 0.5  # the second solution's only near line is not valid
    assert scores["near_coverage"] == 1
    assert scores["precision"] == pytest.approx(1 / 3) and scores["near"] == 1


def test_a_line_with_a_non_finite_point_counts_as_far_and_invalid(lines, data_1):
    """A generator may return NaN (a flow on data_2 did): such a line is invalid, as far from
    every solution as the box allows, and no score becomes NaN or skips it."""
    x, y = lines
    broken = np.stack([x[0], np.full_like(x[0], np.nan)])[None]  # (1, 2, 2, 50): a solution and a NaN line
    scores = sample_scores(broken, y[:1], x[:1], data_1, 0.02)
    assert scores["valid"].tolist() == [True, False] and scores["finite"].tolist() == [True, False]
    truth = truth_table(broken, scores, [(x[:1], np.ones(1))], 0.02)
    summary = summarise(scores, truth, 0.02)
    assert summary["precision"] == 0.5 and summary["finite_share"] == 0.5 and summary["coverage"] == 1
    assert summary["distance"] == pytest.approx(0.5 * np.sqrt(2) * 0.9)  # half the mass moves the box's diagonal
    assert np.isfinite(summary["mmd"]) and summary["mmd"] > 0.1


def test_a_claims_margin_the_config_leaves_out_is_the_metric_tables_and_a_bad_one_is_named():
    from sincvae.score.metric_table import METRICS, config_problem, margins

    assert margins({"coverage": 0.1}) == {"coverage": 0.1, **{m: METRICS[m].margin for m in ("distance", "precision",
                                                                                           "residual_l1")}}
    config = {"ranking": {"metric": "distance", "margin": 1.25}, "ablations": {"primary": "distance", "margin": {}}}
    assert config_problem(config) is None
    assert "ratio above 1" in config_problem({**config, "ranking": {"metric": "distance", "margin": 0.9}})
    assert "(0, 1]" in config_problem({**config, "ablations": {"primary": "distance", "margin": {"coverage": 1.5}}})
    assert "'near' is not one of" in config_problem({**config, "ablations": {"primary": "near", "margin": {}}})


def held_out_map(config_file: str, dataset: str):
    """A map of an overlay config that no test or setting was tuned for."""
    from sincvae.problem.forward import ForwardMap

    return ForwardMap.from_config(yaml.safe_load((ROOT / "config" / config_file).read_text())["datasets"][dataset])


@pytest.mark.parametrize("name", ["data_1", "data_2", "challenge", "sine"])
def test_the_ideal_sampler_is_calibrated_and_an_overconfident_one_is_not(name, request):
    """Against the exact posterior: the ideal sampler (K draws of the exact solutions by their
    weights) covers each level's share of rows within the coverage curve's Monte Carlo band (DKW
    at 1%) and its end points' ranks are uniform, on both datasets and on the held-out maps of
    config/challenge.yaml (up to 24 solutions a y) and config/sine_map.yaml; a sampler that
    always returns the most probable solution misses every other one, and both diagnostics
    catch it wherever a y has several solutions."""
    import torch

    from sincvae.learn.methods.posterior import PosteriorDraws
    from sincvae.learn.registry import Context, settings_class
    from sincvae.problem.exact import solve_split
    from sincvae.problem.lines import sample_lines
    from sincvae.score.diagnostics import coverage_curve, LEVELS
    from sincvae.score.scoring import score_lines

    held_out = {"challenge": ("challenge.yaml", "challenge"), "sine": ("sine_map.yaml", "sine")}
    fmap = held_out_map(*held_out[name]) if name in held_out else request.getfixturevalue(name)
    rows, k = 300, 30
    x = sample_lines(rows, np.random.default_rng(5))
    y = fmap(x)
    solutions = solve_split(fmap, y, 1e-6, known=x)
    ideal = PosteriorDraws(settings_class("posterior")(), Context(fmap, tolerance=1e-6)).generate(
        torch.from_numpy(y), k, torch.Generator().manual_seed(3)).numpy()
    _, summary, per_row = score_lines(fmap, "scoring", ideal, x, y, solutions, 0.02, seed=7)
    band = np.sqrt(np.log(2 / 0.01) / (2 * rows))
    assert np.abs(coverage_curve(per_row["pit"]) - LEVELS).max() <= band
    assert summary["coverage_gap"] <= band and abs(summary["calibration"]) <= band
    assert summary["sbc_p"] > 0.01
    # the same lines a little off their solutions, no longer through the forward gate: an
    # approximate sampler's raw lines, calibrated as the lines they approximate
    shift = np.array([0.01, 0.0])[:, None]  # x0 moved by half the match tolerance
    nudged_scores, nudged, _ = score_lines(fmap, "scoring", ideal + shift, x, y, solutions, 0.02, seed=7)
    assert nudged_scores["valid"].mean() < 0.05
    assert abs(nudged["calibration"]) <= band and nudged["coverage_gap"] <= band
    top = np.stack([np.repeat(lines[weights.argmax()][None], k, 0) for lines, weights in solutions])
    _, confident, _ = score_lines(fmap, "scoring", top, x, y, solutions, 0.02, seed=7)
    assert confident["calibration"] < summary["calibration"]
    if name != "data_1":  # several solutions per y: the missed ones are the truth in a third of rows or more
        assert confident["coverage_gap"] > band and confident["calibration"] < -band
        assert confident["sbc_p"] < 0.01


def test_r_at_t_is_the_mean_best_forward_rmse_among_the_first_t_lines(lines, data_1):
    """Each y's lines moved further and further from its solution: R_1 the first line's RMSE,
    R_T the T-th's where the T-th is the closest, never rising with T; NaN past K."""
    from sincvae.score.scoring import score_lines

    x, y = lines
    shifts = np.array([0.08, 0.04, 0.06, 0.01, 0.03])  # the 4th line is the best of the first 5
    moved = x[:, None] + np.stack([np.array([s, 0.0])[:, None] for s in shifts])[None]
    solutions = [(x[b:b + 1], np.ones(1)) for b in range(len(x))]
    scores, summary, _ = score_lines(data_1, "scoring", moved, x, y, solutions, 0.02)
    rmse = scores["residual_rmse"].to_numpy().reshape(len(x), len(shifts))
    assert summary["r_at_1"] == pytest.approx(rmse[:, 0].mean())
    assert summary["r_at_2"] == pytest.approx(rmse[:, :2].min(1).mean())
    assert summary["r_at_5"] == pytest.approx(rmse.min(1).mean())
    assert summary["r_at_5"] < summary["r_at_2"] <= summary["r_at_1"]
    assert np.isnan(summary["r_at_10"]) and np.isnan(summary["r_at_30"])


def test_counting_the_truth_as_one_more_line_makes_an_ideal_samplers_pit_uniform_for_any_k():
    """K multinomial draws from 11 solutions' weights and the truth from the same weights: on the
    K lines alone a solution no line hit gets no mass and the coverage falls short of every level
    past the middle; with the truth counted as one more of K + 1 exchangeable draws (and equal
    masses tied as equal, whatever order they were summed in) the PIT is uniform."""
    from sincvae.score.diagnostics import LEVELS, counted_with_truth, coverage_curve, coverage_pit

    rng = np.random.default_rng(1)
    k, solutions, rows = 30, 11, 5000
    alone, counted = [], []
    for _ in range(rows):
        weights = rng.dirichlet(np.ones(solutions))
        truth = rng.choice(solutions, p=weights)
        mass = rng.multinomial(k, weights) / k
        alone.append(coverage_pit(mass, 0.0, truth, rng.random(solutions + 2)))
        counted.append(coverage_pit(*counted_with_truth(mass, 0.0, truth, k), truth, rng.random(solutions + 2)))
    band = np.sqrt(np.log(2 / 0.01) / (2 * rows))
    assert np.abs(coverage_curve(counted) - LEVELS).max() <= band
    assert (coverage_curve(alone) - LEVELS).min() < -band
