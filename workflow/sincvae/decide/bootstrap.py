"""Critical values for the ranking's comparisons from a studentized bootstrap of the study itself.

On the study's own scores the per-row distances are heavy-tailed: a few rows hold much of a
case's mean. A sample that misses such a row has both a low mean and a low error, so Student's t
on the Satterthwaite df is too narrow (docs/levels.md). The
bootstrap-t takes the t statistics' spread from the data instead: each resample draws the
scoring rows again (one draw shared by every case, as the rows are) and each case's seeds again
(independently), recomputes every pair's contrast and error exactly as stats.difference does
(the method-of-moments components, on the log scale each table over its own mean), and studentizes
it about the study's own estimate. Case i's critical value is the 1 − alpha quantile of its
largest |t| over its K − 1 comparisons (the simultaneous statement the MCB needs of the best
case). Vectorised over resamples as weighted sums, so a resample copies no table. Torch-free.
"""

from __future__ import annotations

import numpy as np


def _case_parts(table: np.ndarray, rows_w: np.ndarray, seeds_w: np.ndarray) -> dict[str, np.ndarray]:
    """One case's weighted sums in every resample: its mean, its seed-averaged row profile, its
    seed and interaction mean squares (rows_w: (B, R) counts, seeds_w: (B, S) counts)."""
    seeds, rows = table.shape
    profile = seeds_w @ table / seeds  # (B, R): the resample's seed average per row
    seed_means = (rows_w @ table.T) / rows  # (B, S): each seed's mean over the resampled rows
    mean = (seeds_w * seed_means).sum(1) / seeds
    seed_ss = rows * (seeds_w * (seed_means - mean[:, None]) ** 2).sum(1)
    # interaction sum of squares as weighted sums: sum_r w_r (sum_s v_s y² − S·profile²) − R sum_s v_s ζ²
    within = ((seeds_w @ table ** 2) - seeds * profile ** 2) * rows_w
    drift = seed_means - mean[:, None]
    inter_ss = within.sum(1) - rows * (seeds_w * drift ** 2).sum(1)
    return {"mean": mean, "profile": profile, "seed_ms": seed_ss / (seeds - 1),
            "inter_ms": np.maximum(inter_ss, 0.0) / ((seeds - 1) * (rows - 1)), "seeds": seeds}


def _pair_t(a: dict, b: dict, rows_w: np.ndarray, estimate: float, log: bool) -> np.ndarray:
    """The studentized contrast of case a against case b in every resample, about `estimate`."""
    rows = rows_w.shape[1]
    scale_a, scale_b = (a["mean"], b["mean"]) if log else (np.ones_like(a["mean"]), np.ones_like(b["mean"]))
    d = a["profile"] / scale_a[:, None] - b["profile"] / scale_b[:, None]
    centre = (rows_w * d).sum(1) / rows
    row_ms = (rows_w * (d - centre[:, None]) ** 2).sum(1) / (rows - 1)
    inter = [part["inter_ms"] / scale ** 2 for part, scale in ((a, scale_a), (b, scale_b))]
    held = sum(e / part["seeds"] for e, part in zip(inter, (a, b)))
    row_ms = np.maximum(row_ms, held)  # the rows' own component not below zero
    variance = row_ms / rows
    for part, scale, e in zip((a, b), (scale_a, scale_b), inter):
        seed = (part["seed_ms"] / scale ** 2 - e) / rows
        variance = variance + np.maximum(seed, 0.0) / part["seeds"]
    contrast = np.log(a["mean"] / b["mean"]) if log else a["mean"] - b["mean"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(variance > 0, (contrast - estimate) / np.sqrt(variance), 0.0)


def critical_values(tables: dict[str, np.ndarray], estimates: dict[tuple[str, str], float], log: bool,
                    alpha: float, resamples: int, rng: np.random.Generator) -> dict[str, float]:
    """Per case, the 1 − alpha quantile over `resamples` bootstrap studies of its largest |t|
    against the others (tables: case -> (seeds, rows), each with at least 2 seeds, positive
    means on a log scale; estimates: (i, j) -> the study's contrast of i against j for i before
    j in the tables' order)."""
    cases = list(tables)
    rows = next(iter(tables.values())).shape[1]
    rows_w = rng.multinomial(rows, np.full(rows, 1 / rows), size=resamples).astype(float)
    parts = {}
    for case, table in tables.items():
        seeds_w = rng.multinomial(len(table), np.full(len(table), 1 / len(table)), size=resamples).astype(float)
        parts[case] = _case_parts(np.asarray(table, dtype=float), rows_w, seeds_w)
    largest = {case: np.zeros(resamples) for case in cases}
    for n, i in enumerate(cases):
        for j in cases[n + 1:]:
            t = np.abs(_pair_t(parts[i], parts[j], rows_w, estimates[i, j], log))
            largest[i] = np.maximum(largest[i], t)
            largest[j] = np.maximum(largest[j], t)
    return {case: float(np.quantile(values, 1 - alpha)) for case, values in largest.items()}
