"""results/power.csv before anything trains: variance components measured from a study's scores
give, at the study's own seeds, exactly the errors its ranking and claims used, and at other
seed counts what those counts detect; config/variance.csv covers the default study."""

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT
from sincvae.decide import claims, power, stats
from sincvae.plan.planning import plan
from sincvae.plan.rule_files import power_settings

CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
ROWS = 40


def scores(rng, cases: dict[str, tuple[int, float, float]]) -> pd.DataFrame:
    """Per-row distances of cases: case -> (seeds, mean, seed sd on the log scale), rows shared."""
    hardness = rng.normal(0, 0.5, ROWS)
    frames = []
    for case, (seeds, mean, seed_sd) in cases.items():
        for seed in range(seeds):
            values = mean * np.exp(hardness + rng.normal(0, seed_sd) + rng.normal(0, 0.3, ROWS))
            frames.append(pd.DataFrame({"dataset": "d", "stage": "raw", "split": "scoring", "case": case,
                                        "seed": seed, "row": range(ROWS), "distance": values}))
    return pd.concat(frames, ignore_index=True)


LEVELS = [{"variant": "fixed", "factor": "beta", "level": 1.1, "case": "center", "in_claim": True, "reference": True},
          {"variant": "fixed", "factor": "beta", "level": 0.5, "case": "beta0.5", "in_claim": False,
           "reference": False}]


def study(seed=0):
    rng = np.random.default_rng(seed)
    ranked = scores(rng, {"leader": (4, 0.01, 0.2), "close": (3, 0.012, 0.4), "far": (3, 0.5, 0.3)})
    # a sweep's levels share their seeds: the same seed effects, a level's own noise
    rng_sweep = np.random.default_rng(seed + 100)
    sweep = scores(rng_sweep, {"center": (5, 0.2, 0.3)})
    other = sweep.assign(case="beta0.5", distance=sweep["distance"] * 1.3 * np.exp(rng.normal(0, 0.1, len(sweep))))
    return pd.concat([ranked, sweep, other], ignore_index=True)


def test_at_the_studys_own_seeds_power_has_the_errors_its_decisions_used():
    rows = study()
    table = power.measure(rows, ["leader", "close", "far"], LEVELS, "distance", "distance")
    ranked = table[table["kind"] == "ranking"]
    assert set(ranked["against"]) == {"leader"} and set(ranked["case"]) == {"close", "far"}
    seeds = {"leader": 4, "close": 3, "far": 3, "center": 5, "beta0.5": 5}
    planned = power.power(table, seeds, ROWS, 3, 0.05, 1, 0.05).set_index("case")
    tables = {case: stats.level_table(rows, case, "distance") for case in seeds}
    for case in ("close", "far"):
        own = stats.difference(tables[case], tables["leader"], "distance")
        assert (planned.loc[case, "se"], planned.loc[case, "df"]) == pytest.approx((own.se, own.df))
        # one side of the MCB's interval for one of the K - 1 comparisons, the detectable ratio
        # back from the log scale
        assert planned.loc[case, "level"] == pytest.approx(0.05 / 4)
        assert planned.loc[case, "detectable"] == pytest.approx(math.exp(stats.detectable(own, 0.05 / 4)))
    claim = claims.judge(tables["center"], {0.5: tables["beta0.5"]}, "distance", 1.25)
    assert (planned.loc["beta0.5", "se"], planned.loc["beta0.5", "df"]) == pytest.approx((claim["se"], claim["df"]))
    assert planned.loc["beta0.5", "level"] == pytest.approx(0.05 / 2)


def test_more_seeds_detect_smaller_effects_and_fewer_rows_larger():
    rows = study(1)
    table = power.measure(rows, ["leader", "close", "far"], LEVELS, "distance", "distance")
    base = {"leader": 4, "close": 3, "far": 3, "center": 5, "beta0.5": 5}
    at = {n: power.power(table, {**base, "close": n, "center": n, "beta0.5": n}, ROWS, 3, 0.05, 1, 0.05)
          .set_index("case")["detectable"] for n in (2, 3, 8)}
    for case in ("close", "beta0.5"):
        assert at[2][case] > at[3][case] > at[8][case] > 1
    every = power.power(table, base, ROWS, 3, 0.05, 1, 0.05)["detectable"]
    assert (power.power(table, base, ROWS // 4, 3, 0.05, 1, 0.05)["detectable"] > every).all()


def test_a_case_the_plan_drops_or_a_sweep_planned_unpaired_is_left_out():
    table = power.measure(study(2), ["leader", "close", "far"], LEVELS, "distance", "distance")
    planned = power.power(table, {"leader": 4, "close": 3, "center": 5}, ROWS, 3, 0.05, 1, 0.05)
    assert list(planned["case"]) == ["close"]


def test_the_default_plan_has_stored_components_for_every_decision():
    study_plan = plan(CONFIG)
    settings = power_settings(study_plan, CONFIG)
    assert settings["claim_tests"] == len(study_plan.claims) * len(CONFIG["datasets"])
    assert settings["seeds"]["bayes-c32-lr1e-2-cos-online-e200"] == 8 and settings["seeds"]["tuned"] == CONFIG["seeds"]
    table = power.power(pd.read_csv(ROOT / "config" / "variance.csv"), **settings)
    ranked = table[table["kind"] == "ranking"]
    for (dataset, stage), part in ranked.groupby(["dataset", "stage"]):
        assert set(part["case"]) | set(part["against"]) == set(study_plan.contenders), (dataset, stage)
    outside = {lv.case for lv in study_plan.levels if not lv.in_claim}
    assert set(table[table["kind"] == "claim"]["case"]) == outside
    assert table["detectable"].gt(0).all() and table["df"].ge(1).all()


def test_store_names_a_study_that_is_not_finished(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    with pytest.raises(SystemExit, match=r"rows\.parquet: not a finished study of this config"):
        power.main(["store", "--config", str(config), "--results", str(tmp_path / "results"),
                    "--out", str(tmp_path / "variance.csv")])
    assert not (tmp_path / "variance.csv").exists()
