"""Scoring of stored lines against the exact solutions, and the tables they are stored in.
Scoring needs only the stored lines, not the model that drew them, so it runs in jobs of its own
(a change of a scoring setting retrains nothing) and scores someone's sample file the same way.
Torch-free: a scoring job starts without it, reading the scored rows' x and y from the table
the exact solver writes beside their solutions (targets_frame)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sincvae.problem.forward import ForwardMap
from sincvae.problem.lines import lines_from_ends
from sincvae.score.metrics import sample_scores, summarise, truth_table

Solutions = list[tuple[np.ndarray, np.ndarray]]  # per row: lines (S, 2, L), posterior weights (S,)
# A stored set of lines is kept as its end points when every line is that straight line to
# within float32 round-off (x0 = s + (e − s)·t computed in float32 is off by under 2 ulp).
STRAIGHT = 2.5e-7


def save_table(frame: pd.DataFrame, path) -> None:
    """A per-line table (samples, scores) in float32, byte-stream-split and zstd: a third of
    the default (snappy, float64) size; lossless for the float32 lines."""
    frame = frame.astype({c: np.float32 for c in frame.select_dtypes("float64").columns})
    floats = [c for c in frame.columns if frame[c].dtype == np.float32]
    frame.to_parquet(path, index=False, compression="zstd", use_byte_stream_split=floats,
                     use_dictionary=[c for c in frame.columns if c not in floats])


def lines_frame(lines: dict[tuple[str, str], np.ndarray]) -> pd.DataFrame:
    """Lines {(split, stage): (B, K, 2, L)} as one long table: split, stage, row, sample, point,
    x0, x1 in float32. A set whose lines are all straight keeps only points 0 and L − 1."""
    parts = []
    for (split, stage), x in lines.items():
        x = np.asarray(x, dtype=np.float32)
        length = x.shape[-1]
        ends = x[..., [0, -1]].astype(np.float64)
        rebuilt = lines_from_ends(ends[..., 0], ends[..., 1], length)
        # a line with a NaN end comes back all NaN: straight if it was all NaN (a sampler's failed line)
        same_gaps = np.array_equal(np.isnan(rebuilt), np.isnan(x))
        straight = same_gaps and np.nan_to_num(np.abs(rebuilt - x)).max(initial=0.0) <= STRAIGHT
        points = np.array([0, length - 1]) if straight else np.arange(length)
        kept = x[..., points]
        index = np.indices(kept.shape[:2] + (len(points),)).reshape(3, -1)
        parts.append(pd.DataFrame({
            "split": split, "stage": stage, "row": index[0].astype(np.int32), "sample": index[1].astype(np.int16),
            "point": points[index[2]].astype(np.int16), "x0": kept[:, :, 0].reshape(-1), "x1": kept[:, :, 1].reshape(-1),
        }))
    return pd.concat(parts, ignore_index=True)


def each_seed(frames: list[pd.DataFrame], seeds: list[int]) -> list[pd.DataFrame]:
    """The tables of a case's run jobs (each a batch of its seeds, a `seed` column) -> each seed's
    rows in the order of `seeds`, without the column."""
    grouped = pd.concat(frames, ignore_index=True).groupby("seed")
    return [grouped.get_group(seed).drop(columns="seed").reset_index(drop=True) for seed in seeds]


def lines_from_frame(frame: pd.DataFrame, length: int) -> dict[tuple[str, str], np.ndarray]:
    """Inverse of lines_frame -> {(split, stage): (B, K, 2, length) float64}."""
    lines = {}
    for (split, stage), part in frame.groupby(["split", "stage"], sort=False):
        part = part.sort_values(["row", "sample", "point"])
        rows, samples = part["row"].max() + 1, part["sample"].max() + 1
        kept = part["point"].nunique()
        x = part[["x0", "x1"]].to_numpy(np.float64).reshape(rows, samples, kept, 2).transpose(0, 1, 3, 2)
        lines[(split, stage)] = lines_from_ends(x[..., 0], x[..., -1], length) if kept < length else x
    return lines


def score_lines(fmap: ForwardMap, split: str, x_hat: np.ndarray, x: np.ndarray, y: np.ndarray,
                solutions: Solutions, match_tolerance: float, seed: int = 0) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Score lines x_hat (B, K, 2, L) for targets y against the true x and the exact solutions.

    Returns (per-sample scores, summary dict, per-row scores: every row score of
    metric_table.METRICS over the row's K lines). x: the true lines (NaN where not known);
    seed: the study's, for the rows' random draws (the diagnostics' ties).
    """
    scores = sample_scores(x_hat, y, x, fmap, match_tolerance)
    truth = truth_table(x_hat, scores, solutions, match_tolerance, truth=x, seed=seed)
    return scores.assign(split=split), summarise(scores, truth, match_tolerance), truth.assign(split=split)


def score_stored(fmap: ForwardMap, lines: dict[tuple[str, str], np.ndarray], splits: dict[str, tuple],
                 solutions: dict[str, Solutions], match_tolerance: float,
                 seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Score stored lines {(split, stage): (B, K, 2, L)} against splits {split: (x, y)} (the
    first B rows are scored) and their exact solutions. Returns (per-line scores, per-row
    scores, {stage: {split: summary}}), the tables with their split and stage."""
    scores, rows, summaries = [], [], {}
    for (split, stage), x_hat in lines.items():
        x, y = (np.asarray(t)[:len(x_hat)] for t in splits[split])
        line_scores, summary, row_scores = score_lines(fmap, split, x_hat, x, y, solutions[split][:len(x_hat)],
                                                      match_tolerance, seed)
        scores.append(line_scores.assign(stage=stage))
        rows.append(row_scores.assign(stage=stage))
        summaries.setdefault(stage, {})[split] = summary
    return pd.concat(scores, ignore_index=True), pd.concat(rows, ignore_index=True), summaries


def evaluate_exact(fmap: ForwardMap, x: np.ndarray, y: np.ndarray, solutions: Solutions,
                   match_tolerance: float, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """The enumerator as a method: its samples are the solutions, weighted by the posterior."""
    per_row = [sample_scores(lines[None], y[b:b + 1], x[b:b + 1], fmap, match_tolerance).assign(row=b)
               for b, (lines, _) in enumerate(solutions)]
    scores = pd.concat(per_row, ignore_index=True)
    truth = truth_table([lines for lines, _ in solutions], scores, solutions, match_tolerance,
                        sample_weights=[weights for _, weights in solutions], truth=x, seed=seed)
    return scores, summarise(scores, truth, match_tolerance)


def targets_frame(split: str, x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """The scored rows of a split, x and y (B, 2, L) as the data file has them (float32), as one
    long table: split, row, point, x0, x1, y1, y2."""
    rows, _, length = x.shape
    index = np.indices((rows, length)).reshape(2, -1)
    return pd.DataFrame({"split": split, "row": index[0].astype(np.int32), "point": index[1].astype(np.int16),
                         "x0": x[:, 0].reshape(-1), "x1": x[:, 1].reshape(-1),
                         "y1": y[:, 0].reshape(-1), "y2": y[:, 1].reshape(-1)})


def targets_by_split(frame: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Inverse of targets_frame for every split the table holds: {split: (x, y)}."""
    out = {}
    for split, part in frame.groupby("split", sort=False):
        part = part.sort_values(["row", "point"])
        rows, length = int(part["row"].max()) + 1, int(part["point"].max()) + 1
        x, y = (part[list(columns)].to_numpy().reshape(rows, length, 2).transpose(0, 2, 1)
                for columns in (("x0", "x1"), ("y1", "y2")))
        out[split] = (x, y)
    return out
