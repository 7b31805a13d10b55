import pandas as pd

from sincvae.verdicts import CLAIMS, contrasts, judge, verdicts

LATENT = next(c for c in CLAIMS if c.name == "latent")
EPOCHS = next(c for c in CLAIMS if c.name == "epochs")


def _table(residuals):
    """residuals: {latent_dim: (mean, half-width)} -> a comparison table with one case each."""
    rows = [{"dataset": "d", "case": f"z{z}", "method": "cvae", "latent_dim": z, "epochs": 10, "beta": 1.0,
             "wx": 0.6, "wy": 0.6, "loss": "l1_mean",
             "r": mean, "r_ci_low": mean - half, "r_ci_high": mean + half}
            for z, (mean, half) in residuals.items()]
    return pd.DataFrame(rows + [{"dataset": "d", "case": "exact", "method": "exact", "r": 0.0}])


def test_separated_intervals_support_or_contradict():
    assert judge(_table({110: (0.1, 0.01), 60: (0.3, 0.01)}), LATENT, "r")["verdict"] == "supported"
    contradicted = judge(_table({110: (0.3, 0.01), 60: (0.1, 0.01)}), LATENT, "r")
    assert contradicted["verdict"] == "contradicted" and "z60 0.1 [0.09, 0.11]" in contradicted["evidence"]
    assert contradicted["deciding_run"] == ""


def test_overlapping_intervals_are_inconclusive_and_name_a_deciding_run():
    result = judge(_table({110: (0.1, 0.1), 60: (0.15, 0.1)}), LATENT, "r")
    assert result["verdict"] == "inconclusive" and "latent_dim 60, 85, 110 and 150" in result["deciding_run"]


def test_a_claim_no_case_tests_is_inconclusive():
    result = judge(_table({110: (0.1, 0.01), 60: (0.3, 0.01)}), EPOCHS, "r")  # every case has 10 epochs
    assert result["verdict"] == "inconclusive" and "every case fails the condition" in result["evidence"]


def test_the_exact_row_is_never_a_contender_and_higher_can_be_better():
    assert judge(_table({110: (0.3, 0.01), 60: (0.1, 0.01)}), LATENT, "r", lower_is_better=False)["verdict"] == "supported"
    table = _table({110: (0.1, 0.01), 60: (0.3, 0.01)}).assign(variant="fixed")
    assert len(verdicts(table, "r")) == len(CLAIMS)
    assert len(verdicts(pd.concat([table, table.assign(variant="seed_code")]), "r")) == 2 * len(CLAIMS)


def test_contrasts_pair_cases_that_differ_in_one_setting_only():
    base = {"dataset": "d", "method": "cvae", "loss": "l1_mean", "beta": 0.0, "wx": 1.0, "latent_dim": 100}
    rows = [
        {**base, "case": "fixed-wy0", "variant": "fixed", "wy": 0.0, "r": 0.30},
        {**base, "case": "fixed-wy1", "variant": "fixed", "wy": 1.0, "r": 0.20},
        {**base, "case": "seed-wy0", "variant": "seed_code", "wy": 0.0, "r": 0.25},
        {**base, "case": "seed-wy1", "variant": "seed_code", "wy": 1.0, "r": 0.25},
        {**base, "case": "other", "variant": "fixed", "wy": 1.0, "beta": 1.0, "r": 0.1},
    ]
    table = pd.DataFrame(rows).assign(r_ci_low=lambda t: t["r"] - 0.01, r_ci_high=lambda t: t["r"] + 0.01)
    settings = ("loss", "beta", "wx", "wy", "latent_dim", "variant")
    wy = contrasts(table, "wy", ("r",), settings)
    assert sorted(zip(wy["case A"], wy["case B"])) == [("fixed-wy0", "fixed-wy1"), ("seed-wy0", "seed-wy1")]
    assert wy.set_index("case A")["intervals overlap"].to_dict() == {"fixed-wy0": False, "seed-wy0": True}
    variant = contrasts(table, "variant", ("r",), settings)
    assert len(variant) == 2 and "other" not in set(variant["case A"]) | set(variant["case B"])
