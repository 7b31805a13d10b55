"""The decisions' levels where the study's data live. Null studies are resampled from a finished
default study's own per-row scores (tests/data/study_rows.parquet, written by `python -m
sincvae.power rows` from `snakemake --cores 2` with config/config.yaml): heavy-tailed rows on the
log scale, seed variances that differ between cases, every contender of a ranking (K = 22 per
dataset × stage) and 3 to 8 seeds a case.

Each table is first divided by its own mean, so every case (every level) has the same mean: the
null. A simulated study then draws the scoring rows again (one draw per dataset, shared by every
case, as the rows are), each contender's seeds again (independently), and the ablation levels'
seeds once per dataset (shared: seed s of every level starts from the same streams), as the
stability resamples do. The nominal levels must hold within three Monte Carlo standard errors."""

import math

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from sincvae.stats import best_set, bootstrap_critical, decide, judge, level_table

ROWS_FILE = ROOT / "tests" / "data" / "study_rows.parquet"
ALPHA = 0.05
MARGIN = 1.25


def allowance(studies: int, level: float = ALPHA) -> float:
    """Three Monte Carlo standard errors of a rate at `level` over `studies`."""
    return 3 * math.sqrt(level * (1 - level) / studies)


@pytest.fixture(scope="module")
def study_rows() -> pd.DataFrame:
    return pd.read_parquet(ROWS_FILE)


def null_tables(part: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each case's (seeds, rows) table over its own mean: every case's mean is 1."""
    tables = {case: level_table(part, case, "value") for case in part["case"].unique()}
    return {case: table / table.mean() for case, table in tables.items()}


def drawn(rng: np.random.Generator, tables: dict, shared_seeds: bool = False) -> dict:
    rows = next(iter(tables.values())).shape[1]
    picked = rng.integers(0, rows, rows)
    seeds = {}

    def seeds_of(table):
        count = len(table)
        if not shared_seeds:
            return rng.integers(0, count, count)
        return seeds.setdefault(count, rng.integers(0, count, count))

    return {case: table[seeds_of(table)][:, picked] for case, table in tables.items()}


def test_the_study_rows_are_the_regime_the_decisions_face(study_rows):
    """The fixture is what the simulations claim: K = 22 contenders per dataset × stage, 3 to 8
    seeds, heavy-tailed rows (a case's largest row many times its mean), and six claims' sweeps
    per dataset with six seeds a level."""
    ranked = study_rows[study_rows["kind"] == "ranking"]
    for _, part in ranked.groupby(["dataset", "stage"]):
        tables = null_tables(part)
        assert len(tables) == 22
        assert {len(t) for t in tables.values()} >= {3, 5, 8}
        assert max(t.mean(0).max() for t in tables.values()) > 10  # a row at ten times its case's mean
    claims = study_rows[study_rows["kind"] == "claim"]
    assert claims.groupby("dataset")["factor"].nunique().tolist() == [6, 6]
    assert set(claims.groupby("case")["seed"].nunique()) == {6}


def test_the_best_set_holds_the_best_on_the_studys_rows(study_rows):
    """Every contender tied (the least favourable configuration: each is a best): the best set
    of K = 22, its comparisons calibrated by the studentized bootstrap as rule rank_methods does
    (with fewer resamples), holds each of them in at least 95% of studies."""
    rng = np.random.default_rng(1)
    studies = 40
    worst = 1.0
    for _, part in study_rows[study_rows["kind"] == "ranking"].groupby(["dataset", "stage"]):
        tables = null_tables(part)
        held = pd.Series(0, index=list(tables))
        for _ in range(studies):
            study = drawn(rng, tables)
            critical = bootstrap_critical(study, "distance", ALPHA, 399, rng)
            ranked = best_set(study, "distance", ALPHA, MARGIN, critical).set_index("case")
            held += ranked["in_best_set"].astype(int)
        worst = min(worst, held.min() / studies)
        # the rate over cases and studies: every case is a best, so each exclusion is an error
        assert held.sum() / (studies * len(tables)) >= 1 - ALPHA - allowance(studies * len(tables))
    assert worst >= 1 - ALPHA - allowance(studies)


def claim_family(rng: np.random.Generator, sweeps: dict, effect: float = 1.0) -> pd.DataFrame:
    """One null study of every claim × dataset on the primary metric: the outside levels at
    `effect` times the recommended level's mean, Holm over the family (stats.decide)."""
    results = []
    for dataset, by_dataset in sweeps.items():
        tables = {case: table for sweep in by_dataset.values() for case, table in sweep["tables"].items()}
        study = drawn(rng, tables, shared_seeds=True)
        for sweep in by_dataset.values():
            outside = {case: study[case] * effect for case in sweep["outside"]}
            results.append(judge(study[sweep["reference"]], outside, "distance", MARGIN))
    return decide(pd.DataFrame(results), ALPHA)


@pytest.fixture(scope="module")
def sweeps(study_rows) -> dict:
    """dataset -> factor -> its reference case, its outside cases and every level's null table."""
    out = {}
    claims = study_rows[study_rows["kind"] == "claim"]
    for dataset, by_dataset in claims.groupby("dataset"):
        out[dataset] = {}
        for factor, sweep in by_dataset.groupby("factor"):
            tables = null_tables(sweep)
            levels = sweep.drop_duplicates("case")
            out[dataset][factor] = {"reference": levels.loc[levels["reference"], "case"].iloc[0],
                                    "outside": levels.loc[~levels["in_claim"], "case"].tolist(), "tables": tables}
    return out


def test_the_claims_keep_their_family_wise_error(sweeps):
    """No level differs: the 12 primary tests (6 claims × 2 datasets) call any claim supported
    or contradicted in at most 5% of studies."""
    rng = np.random.default_rng(2)
    families = 300
    wrong = sum(claim_family(rng, sweeps)["decision"].isin(["supported", "contradicted"]).any()
                for _ in range(families))
    assert wrong / families <= ALPHA + allowance(families)


@pytest.mark.parametrize("effect", [MARGIN, 1 / MARGIN], ids=["worse-by-the-margin", "better-by-the-margin"])
def test_equivalence_keeps_its_size_at_the_margin(sweeps, effect):
    """Every outside level at the margin itself: any claim called equivalent in at most 5% of
    studies."""
    rng = np.random.default_rng(3)
    families = 200
    wrong = sum((claim_family(rng, sweeps, effect)["decision"] == "equivalent").any() for _ in range(families))
    assert wrong / families <= ALPHA + allowance(families)
