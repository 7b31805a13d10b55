"""The decisions' levels where the study's data live. Null studies are resampled from a finished
default study's own per-row scores (tests/data/study_rows.parquet, written by `python -m
sincvae.decide.power rows` from `snakemake --cores 2` with config/config.yaml): heavy-tailed rows on the
log scale, seed variances that differ between cases, every contender of a ranking (K = 23 per
dataset × stage) and 3 to 8 seeds a case.

Each table is first divided by its own mean, so every case (every level) has the same mean: the
null. A simulated ranking draws the scoring rows again (one draw per dataset, shared by every case,
as the rows are) and each contender's seeds again (independently), as the stability resamples
do. The claims' null keeps every level's six seeds and permutes the levels
within each seed instead (claim_family). The nominal levels must hold within three Monte Carlo
standard errors."""

import math

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from sincvae.decide.claims import decide, judge
from sincvae.decide.ranking import best_set, bootstrap_critical
from sincvae.decide.stats import level_table

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


def drawn(rng: np.random.Generator, tables: dict) -> dict:
    """One null ranking study: the rows drawn again (shared), each case's seeds its own draw."""
    rows = next(iter(tables.values())).shape[1]
    picked = rng.integers(0, rows, rows)
    return {case: table[rng.integers(0, len(table), len(table))][:, picked] for case, table in tables.items()}


def test_the_study_rows_are_the_regime_the_decisions_face(study_rows):
    """The fixture is what the simulations claim: K = 23 contenders per dataset × stage, 3 to 8
    seeds, heavy-tailed rows (a case's largest row many times its mean), and six claims' sweeps
    per dataset with six seeds a level."""
    ranked = study_rows[study_rows["kind"] == "ranking"]
    heaviest = []
    for _, part in ranked.groupby(["dataset", "stage"]):
        tables = null_tables(part)
        assert len(tables) == 23
        assert {len(t) for t in tables.values()} >= {3, 5, 8}
        heaviest.append(max(t.mean(0).max() for t in tables.values()))
    assert max(heaviest) > 10 and min(heaviest) > 3  # a row at ten times its case's mean
    claims = study_rows[study_rows["kind"] == "claim"]
    assert claims.groupby("dataset")["factor"].nunique().tolist() == [6, 6]
    assert set(claims.groupby("case")["seed"].nunique()) == {6}


def test_the_best_set_holds_the_best_on_the_studys_rows(study_rows):
    """Every contender tied (the least favourable configuration: each is a best): the best set
    of K = 23, its comparisons calibrated by the studentized bootstrap as rule rank_methods does
    (with fewer resamples), holds each of them in at least 95% of studies."""
    rng = np.random.default_rng(1)
    studies = 30
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
    """One null study of every claim × dataset on the primary metric, Holm over the family
    (claims.decide). Each sweep's judged levels (the reference and those outside the claim), each
    over its own mean, are exchangeable under the null: within every seed they are permuted at
    random (the pairs of seed s stay pairs), and the rows are drawn again, one draw per dataset.
    Six seeds are not redrawn with replacement: ties among so few make Student's t too narrow by
    construction (a normal sample of 6 so resampled rejects at 5× the Holm level). The outside
    levels are then set at `effect` times the reference's mean."""
    results = []
    for by_dataset in sweeps.values():
        rows = next(iter(next(iter(by_dataset.values()))["tables"].values())).shape[1]
        picked = rng.integers(0, rows, rows)
        for sweep in by_dataset.values():
            judged = [sweep["reference"], *sweep["outside"]]
            stacked = np.stack([sweep["tables"][case][:, picked] for case in judged])  # (levels, seeds, rows)
            order = rng.permuted(np.tile(np.arange(len(judged))[:, None], (1, stacked.shape[1])), axis=0)
            permuted = np.take_along_axis(stacked, order[:, :, None], axis=0)
            outside = {case: permuted[n + 1] * effect for n, case in enumerate(sweep["outside"])}
            results.append(judge(permuted[0], outside, "distance", MARGIN))
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
    families = 200
    wrong = sum(claim_family(rng, sweeps)["decision"].isin(["supported", "contradicted"]).any()
                for _ in range(families))
    assert wrong / families <= ALPHA + allowance(families)


@pytest.mark.parametrize("effect", [MARGIN, 1 / MARGIN], ids=["worse-by-the-margin", "better-by-the-margin"])
def test_equivalence_keeps_its_size_at_the_margin(sweeps, effect):
    """Every outside level at the margin itself: any claim called equivalent in at most 5% of
    studies."""
    rng = np.random.default_rng(3)
    families = 120
    wrong = sum((claim_family(rng, sweeps, effect)["decision"] == "equivalent").any() for _ in range(families))
    assert wrong / families <= ALPHA + allowance(families)
