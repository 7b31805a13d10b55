"""The decision rule on synthetic seed × row tables: p-values, intervals and MDEs checked by hand
and by simulation, calibrated under no effect, powered for a real one, and each check able to
catch a wrong formula (test_every_mutant_of_the_statistics_is_caught)."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from sincvae import stats
from sincvae.stats import crossed_mean, decide, holm, judge, level_summary, rank, verdicts

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


def by_hand(difference):
    """se and df of a (seeds, rows) table of paired differences, written out independently."""
    seeds, rows = difference.shape
    seed_means = difference.mean(1)
    row_means = difference.mean(0)
    se = math.sqrt(np.sum((seed_means - seed_means.mean()) ** 2) / (seeds - 1) / seeds
                   + np.sum((row_means - row_means.mean()) ** 2) / (rows - 1) / rows)
    return difference.mean(), se, min(seeds, rows) - 1


# Fixed tables (3 seeds × 4 rows, lower is better): two outside levels, one clearly worse than
# the reference, one a little worse (it binds the test); and the reverse, one a little better.
REFERENCE = np.array([[0.50, 0.20, 0.80, 0.40], [0.55, 0.25, 0.70, 0.45], [0.45, 0.30, 0.75, 0.35]])
NOISE = np.array([[0.02, -0.03, 0.01, 0.00], [-0.01, 0.02, -0.02, 0.03], [0.00, 0.01, 0.02, -0.04]])


def check_crossed_mean_adds_seed_and_row_variation():
    values = np.add.outer([0.0, 1.0, 2.0], [0.0, 10.0])  # seeds 0, 1, 2; rows 0, 10
    mean, se, df = crossed_mean(values)
    assert mean == pytest.approx(6.0)
    # var(seed means) = 1, over 3 seeds; var(row means) = 50, over 2 rows
    assert se == pytest.approx(math.sqrt(1 / 3 + 50 / 2))
    assert df == 1
    assert math.isnan(crossed_mean(values[:1])[1])  # one seed: no interval


def check_holm_matches_the_step_down_rule():
    adjusted = holm(np.array([0.01, 0.04, 0.03, 0.005, np.nan]))
    np.testing.assert_allclose(adjusted[:4], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(adjusted[4])


def check_a_supported_claim_by_hand():
    outside = {"far": REFERENCE + 0.3 + NOISE, "close": REFERENCE + 0.04 + NOISE[::-1]}
    result = judge(REFERENCE, outside, lower_is_better=True)
    effects = {level: by_hand(table - REFERENCE) for level, table in outside.items()}
    t = {level: mean / se for level, (mean, se, _) in effects.items()}
    assert result["best_outside"] == min(t, key=t.get) == "close"
    mean, se, df = effects["close"]
    assert (result["effect"], result["se"], result["df"]) == (pytest.approx(mean), pytest.approx(se), df)
    p_support = scipy_stats.t.sf(mean / se, df)
    assert result["direction"] == "supported"
    assert result["p"] == pytest.approx(2 * p_support)


def check_a_contradicted_claim_by_hand():
    outside = {"worse": REFERENCE + 0.3 + NOISE, "better": REFERENCE - 0.05 + NOISE[::-1]}
    result = judge(REFERENCE, outside, lower_is_better=True)
    mean, se, df = by_hand(outside["better"] - REFERENCE)
    assert result["best_outside"] == "better" and mean < 0 and result["effect"] == pytest.approx(mean)
    # the smallest one-sided p-value, Bonferroni over the 2 outside levels, then two-sided
    assert result["direction"] == "contradicted"
    assert result["p"] == pytest.approx(2 * 2 * scipy_stats.t.cdf(mean / se, df))


def check_decide_applies_holm_and_the_family_interval():
    results = pd.DataFrame({"p": [0.01, 0.04, 0.03, 0.005], "direction": ["supported"] * 4,
                            "effect": [1.0, 1.0, 1.0, 1.0], "se": [0.2, 0.2, 0.2, 0.2], "df": [4] * 4,
                            "levels_outside": [1, 1, 2, 2]})
    decided = decide(results, 0.05)
    assert decided["decision"].tolist() == ["supported", "no detectable difference",
                                            "no detectable difference", "supported"]
    # low: one-sided bound at alpha / (2 m); high: at alpha / (2 m L)
    low = 1.0 - scipy_stats.t.ppf(1 - 0.05 / 8, 4) * 0.2
    assert decided["ci_low"].tolist() == pytest.approx([low] * 4)
    assert decided["ci_high"].iloc[2] == pytest.approx(1.0 + scipy_stats.t.ppf(1 - 0.05 / 16, 4) * 0.2)


def check_the_mde_matches_the_noncentral_t():
    """36 tests at alpha 0.05, 4 degrees of freedom: 80% power needs 9.82 standard errors in
    the claim's favour (a noncentral-t calculation, not the normal shortcut 8.84), 12.98 against
    it with 3 outside levels; and a simulated t test at that effect rejects 80% of the time."""
    results = pd.DataFrame({"p": [0.5] * 36, "direction": ["supported"] * 36, "effect": [0.0] * 36,
                            "se": [1.0] * 36, "df": [4] * 36, "levels_outside": [3] * 36})
    decided = decide(results, 0.05)
    assert decided["mde_support"].iloc[0] == pytest.approx(9.816, abs=0.01)
    assert decided["mde_contradict"].iloc[0] == pytest.approx(12.977, abs=0.01)
    rng = np.random.default_rng(7)
    draws = 40_000
    t = (decided["mde_support"].iloc[0] + rng.standard_normal(draws)) / np.sqrt(rng.chisquare(4, draws) / 4)
    power = np.mean(t > scipy_stats.t.ppf(1 - 0.05 / 72, 4))
    assert power == pytest.approx(0.8, abs=0.015)


def check_no_effect_keeps_the_family_wise_error_below_alpha():
    """12 tests per family (6 claims × 2 datasets), none with an effect."""
    rng = np.random.default_rng(0)
    false_families = 0
    families = 300
    for _ in range(families):
        decided = family(rng, [[0.0, 0.0]] * 12)
        false_families += (decided["decision"] != "no detectable difference").any()
    assert false_families / families <= 0.05


def check_a_real_effect_is_found_in_the_right_direction():
    """One claim with both outside levels 0.5 worse (about 14 standard errors of the paired effect
    over 5 seeds), another with one outside level 0.5 better, among 10 null tests."""
    rng = np.random.default_rng(1)
    supported = contradicted = 0
    families = 100
    for _ in range(families):
        decided = family(rng, [[0.5, 0.5], [0.0, -0.5]] + [[0.0, 0.0]] * 10)
        supported += decided["decision"].iloc[0] == "supported"
        contradicted += decided["decision"].iloc[1] == "contradicted"
    assert supported / families >= 0.8
    assert contradicted / families >= 0.8


def check_rank_ties_what_it_cannot_separate():
    """Three cases on the same 4 rows and 3 seeds: a leader, one clearly worse, one a hair worse."""
    tables = {"leader": REFERENCE, "worse": REFERENCE + 0.3 + NOISE, "hair": REFERENCE + 0.005 + NOISE[::-1]}
    ranked = rank(tables, lower_is_better=True, alpha=0.05).set_index("case")
    assert (ranked["leader"] == "leader").all()
    assert ranked["best"].to_dict() == {"leader": True, "worse": False, "hair": True}
    mean, se, df = by_hand(tables["worse"] - REFERENCE)
    assert ranked.at["worse", "p"] == pytest.approx(scipy_stats.t.sf(mean / se, df))
    assert ranked.at["worse", "p_adjusted"] == pytest.approx(2 * ranked.at["worse", "p"])  # Holm, the smaller of 2
    higher = rank({k: -v for k, v in tables.items()}, lower_is_better=False, alpha=0.05).set_index("case")
    assert higher["best"].to_dict() == ranked["best"].to_dict()


# the exact checks first, the simulations last: a mutant is caught at its first failing check
def check_ranking_names_the_best_within_each_class():
    """Over all cases the leader; within a class of what the methods know, its own leader."""
    rows = pd.concat(pd.DataFrame({"dataset": "d", "stage": "raw", "case": case, "seed": seed, "row": np.arange(4),
                                   "distance": table[seed]})
                     for case, table in (("a", REFERENCE), ("b", REFERENCE + 0.3 + NOISE), ("c", REFERENCE + 0.5))
                     for seed in range(3))
    ranked = stats.ranking(rows, "distance", 0.05, {"a": "features", "b": "nothing", "c": "nothing"})
    leaders = ranked.groupby("scope")["leader"].first().to_dict()
    assert leaders == {"all": "a", "nothing": "b"}  # "features" has one case: no ranking of its own
    assert ranked.groupby("scope")["comparisons"].first().to_dict() == {"all": 2, "nothing": 1}


CHECKS = [check_crossed_mean_adds_seed_and_row_variation, check_holm_matches_the_step_down_rule,
          check_a_supported_claim_by_hand, check_a_contradicted_claim_by_hand,
          check_decide_applies_holm_and_the_family_interval, check_the_mde_matches_the_noncentral_t,
          check_rank_ties_what_it_cannot_separate, check_ranking_names_the_best_within_each_class,
          check_no_effect_keeps_the_family_wise_error_below_alpha,
          check_a_real_effect_is_found_in_the_right_direction]


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
def test_statistics(check):
    check()


_crossed_mean, _mde = stats.crossed_mean, stats.mde


def _without_rows(values):
    """crossed_mean whose standard error forgets the scoring rows' variation."""
    mean, _, df = _crossed_mean(values)
    values = np.asarray(values, dtype=float)
    return mean, math.sqrt(values.mean(1).var(ddof=1) / values.shape[0]) if values.shape[0] > 1 else math.nan, df


MUTANTS = {
    "two-sided factor dropped": ("two_sided", lambda p: p),
    "Bonferroni factor dropped": ("bonferroni", lambda p, tests: p),
    "Holm removed": ("holm", lambda p: np.asarray(p, dtype=float)),
    "standard error without the rows": ("crossed_mean", _without_rows),
    "degrees of freedom off by one": ("degrees_of_freedom", lambda seeds, rows: min(seeds, rows)),
    "MDE 10% high": ("mde", lambda se, df, level: 1.1 * _mde(se, df, level)),
}


@pytest.mark.parametrize("mutant", MUTANTS)
def test_every_mutant_of_the_statistics_is_caught(mutant, monkeypatch):
    name, replacement = MUTANTS[mutant]
    monkeypatch.setattr(stats, name, replacement)
    for check in CHECKS:
        try:
            check()
        except AssertionError:
            return  # caught
    pytest.fail(f"no check fails with the mutant '{mutant}'")


def test_supported_needs_every_outside_level_beaten():
    rng = np.random.default_rng(2)
    decided = family(rng, [[0.5, 0.0]])  # far better than one outside level, equal to the other
    assert decided["decision"].iloc[0] == "no detectable difference"
    assert decided["best_outside"].iloc[0] == 1
    assert decided["mde_support"].iloc[0] > 0 and decided["mde_contradict"].iloc[0] > decided["mde_support"].iloc[0]


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


def test_verdicts_decide_on_the_primary_metric_and_orient_higher_is_better_metrics():
    """Coverage and precision (higher is better) 0.2 above at the reference level, the distance
    0.2 below: supported, positive effects; only the distance is primary."""
    rng = np.random.default_rng(3)
    levels = [{"variant": "fixed", "factor": "beta", "level": 1.1, "case": "center", "in_claim": True, "reference": True},
              {"variant": "fixed", "factor": "beta", "level": 0.5, "case": "low", "in_claim": False, "reference": False}]
    frames = []
    for case, coverage in (("center", 0.6), ("low", 0.4)):
        for seed in range(SEEDS):
            values = np.clip(coverage + rng.normal(0, 0.05, ROWS), 0, 1)
            frames.append(pd.DataFrame({"dataset": "d", "case": case, "seed": seed, "row": np.arange(ROWS),
                                        "coverage": values, "precision": values, "distance": 1 - values,
                                        "residual_l1": 1 - values}))
    scores = pd.concat(frames)
    table = verdicts(scores, levels, {"beta": "beta > 1"}, alpha=0.05, primary="distance")
    assert len(table) == 4 and set(table["decision"]) == {"supported"}
    assert table.set_index("metric")["role"].to_dict() == {
        "distance": "primary", "precision": "secondary", "coverage": "secondary", "residual_l1": "secondary"}
    assert table.set_index("metric")["tests"].to_dict() == {"distance": 1, "precision": 3, "coverage": 3,
                                                            "residual_l1": 3}
    coverage = table.set_index("metric").loc["coverage"]
    assert coverage["effect"] == pytest.approx(0.2, abs=0.03) and coverage["ci_low"] > 0
    summary = level_summary(scores, levels)
    assert len(summary) == 8
    assert (summary["ci_low"] < summary["mean"]).all() and (summary["mean"] < summary["ci_high"]).all()
