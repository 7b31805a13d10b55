"""The decision rule on synthetic seed × row tables: calibrated under no effect, powered for a real one."""

import math

import numpy as np
import pandas as pd
import pytest

from sincvae.stats import crossed_mean, decide, holm, judge, level_summary, verdicts

SEEDS, ROWS = 5, 50


def sweep(rng, advantages, seed_sd=0.05, row_sd=0.3, level_row_sd=0.05, noise_sd=0.1):
    """A reference level and outside levels on the same seeds and rows; outside level j is worse
    than the reference by advantages[j] on average (lower is better)."""
    row = rng.normal(0, row_sd, ROWS)  # hard and easy rows, shared by every level

    def level(shift):
        return (shift + row[None] + rng.normal(0, seed_sd, (SEEDS, 1)) + rng.normal(0, level_row_sd, (1, ROWS))
                + rng.normal(0, noise_sd, (SEEDS, ROWS)))

    return level(0.0), {j: level(a) for j, a in enumerate(advantages)}


def family(rng, advantages_per_test, alpha=0.05):
    results = pd.DataFrame([judge(*sweep(rng, advantages), lower_is_better=True)
                            for advantages in advantages_per_test])
    return decide(results, alpha)


def test_crossed_mean_adds_seed_and_row_variation():
    values = np.add.outer([0.0, 1.0, 2.0], [0.0, 10.0])  # seeds 0, 1, 2; rows 0, 10
    mean, se, df = crossed_mean(values)
    assert mean == pytest.approx(6.0)
    # var(seed means) = 1, over 3 seeds; var(row means) = 50, over 2 rows
    assert se == pytest.approx(math.sqrt(1 / 3 + 50 / 2))
    assert math.isnan(crossed_mean(values[:1])[1])  # one seed: no interval


def test_holm_matches_the_step_down_rule():
    adjusted = holm(np.array([0.01, 0.04, 0.03, 0.005, np.nan]))
    np.testing.assert_allclose(adjusted[:4], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(adjusted[4])


def test_no_effect_keeps_the_family_wise_error_below_alpha():
    """24 tests per family (6 claims × 2 datasets × 2 variants), none with an effect."""
    rng = np.random.default_rng(0)
    false_families = 0
    families = 300
    for _ in range(families):
        decided = family(rng, [[0.0, 0.0]] * 24)
        false_families += (decided["decision"] != "no detectable difference").any()
    assert false_families / families <= 0.05


def test_a_real_effect_is_found_in_the_right_direction():
    """One claim with both outside levels 0.5 worse (about 14 standard errors of the paired effect
    over 5 seeds: with 4 degrees of freedom at 0.05 / 24 the detectable effect is about 9), another
    with one outside level 0.5 better, among 22 null tests."""
    rng = np.random.default_rng(1)
    supported = contradicted = 0
    families = 100
    for _ in range(families):
        decided = family(rng, [[0.5, 0.5], [0.0, -0.5]] + [[0.0, 0.0]] * 22)
        supported += decided["decision"].iloc[0] == "supported"
        contradicted += decided["decision"].iloc[1] == "contradicted"
    assert supported / families >= 0.8
    assert contradicted / families >= 0.8


def test_supported_needs_every_outside_level_beaten():
    rng = np.random.default_rng(2)
    decided = family(rng, [[0.5, 0.0]])  # far better than one outside level, equal to the other
    assert decided["decision"].iloc[0] == "no detectable difference"
    assert decided["best_outside"].iloc[0] == 1
    assert decided["mde"].iloc[0] > 0


def test_undecided_rows_say_why():
    one_seed = judge(np.zeros((1, ROWS)), {0: np.ones((1, ROWS))}, lower_is_better=True)
    assert one_seed["decision"] == "undecided" and "seed" in one_seed["reason"]
    nan = judge(np.full((3, ROWS), np.nan), {0: np.zeros((3, ROWS))}, lower_is_better=True)
    assert nan["decision"] == "undecided" and "NaN" in nan["reason"]
    same = judge(np.zeros((3, ROWS)), {0: np.zeros((3, ROWS))}, lower_is_better=False)
    assert same["decision"] == "no detectable difference" and "identical" in same["reason"]
    decided = decide(pd.DataFrame([one_seed, nan, same]), 0.05)
    assert decided["p_adjusted"].isna().all()
    assert decided["decision"].tolist() == ["undecided", "undecided", "no detectable difference"]


def test_verdicts_reads_levels_and_orients_higher_is_better_metrics():
    """Coverage (higher is better) 0.2 above at the reference level: supported, positive effect."""
    rng = np.random.default_rng(3)
    levels = [{"variant": "fixed", "factor": "beta", "level": 1.1, "case": "center", "in_claim": True, "reference": True},
              {"variant": "fixed", "factor": "beta", "level": 0.5, "case": "low", "in_claim": False, "reference": False}]
    frames = []
    for case, coverage in (("center", 0.6), ("low", 0.4)):
        for seed in range(SEEDS):
            values = np.clip(coverage + rng.normal(0, 0.05, ROWS), 0, 1)
            frames.append(pd.DataFrame({"dataset": "d", "case": case, "seed": seed, "row": np.arange(ROWS),
                                        "coverage": values, "mmd": 1 - values, "residual_l1": 1 - values}))
    scores = pd.concat(frames)
    table = verdicts(scores, levels, {"beta": "beta > 1"}, alpha=0.05)
    assert len(table) == 3 and set(table["decision"]) == {"supported"}
    coverage = table.set_index("metric").loc["coverage"]
    assert coverage["effect"] == pytest.approx(0.2, abs=0.03) and coverage["ci_low"] > 0
    summary = level_summary(scores, levels)
    assert len(summary) == 6
    assert (summary["ci_low"] < summary["mean"]).all() and (summary["mean"] < summary["ci_high"]).all()
