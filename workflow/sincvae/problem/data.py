"""Dataset files: generation, safe loading and validation.

A file is ``torch.save(TensorDataset(X, Y))`` with float32 X, Y of shape
``(N, 1, 50, 2)`` (the original study's layout); in memory the library uses ``(N, 2, 50)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import TensorDataset

from sincvae.problem.forward import ForwardMap
from sincvae.paths import SPLITS
from sincvae.problem.lines import DOMAIN, POINTS, fit_lines, sample_lines

CHECKS = ("readable", "structure", "shape", "dtype", "finite", "domain",
          "x0 falling", "x1 rising", "straight evenly spaced", "equations")


class DataFileError(ValueError):
    """A dataset file is unreadable or fails a check; the message names file and check."""


def to_file_layout(a: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(N, 2, L) -> float32 tensor (N, 1, L, 2)."""
    return torch.as_tensor(a, dtype=torch.float32).transpose(1, 2).unsqueeze(1).contiguous()


def from_file_layout(t: torch.Tensor) -> torch.Tensor:
    """(N, 1, L, 2) -> contiguous (N, 2, L), done once so batches need no copies."""
    return t[:, 0].transpose(1, 2).contiguous()


def split_rng(seed: int, split: str) -> np.random.Generator:
    """One stream per split, the same for every dataset: datasets differ only in f."""
    return np.random.default_rng([seed, SPLITS.index(split)])


def generation_seed(seed: int, split: str) -> int:
    """The torch seed of a training seed's generated lines for one split: its own stream."""
    return seed * len(SPLITS) + SPLITS.index(split)


def online_rng(seed: int, epoch: int) -> np.random.Generator:
    """The fresh training lines of one epoch of training seed `seed` (train.online): a stream of
    its own, none of the splits' (those are seeded with two numbers, this with three)."""
    return np.random.default_rng([seed, epoch, len(SPLITS)])


def solutions_rng(seed: int, epoch: int) -> np.random.Generator:
    """The exact solutions drawn for one epoch of training seed `seed` (train targets:
    solutions): a stream of its own, apart from the splits' and the online lines'."""
    return np.random.default_rng([seed, epoch, len(SPLITS) + 1])


class SolutionSets:
    """Every exact solution of each y of a split with its posterior weight (exact.solve_split,
    stored by rule solve_train), flat for drawing one per y in a single vectorised step."""

    def __init__(self, frame: pd.DataFrame):
        """frame: exact.solutions_frame of one split (split, row, solution, point, x0, x1, weight)."""
        frame = frame.sort_values(["row", "solution", "point"])
        length = int(frame["point"].max()) + 1
        self.lines = torch.from_numpy(frame[["x0", "x1"]].to_numpy(np.float32).reshape(-1, length, 2)
                                      .transpose(0, 2, 1).copy())  # (R, 2, L)
        rows = frame["row"].to_numpy()[::length]
        if not np.array_equal(np.unique(rows), np.arange(rows.max() + 1)):
            raise ValueError("solution sets: a row of the split has no solution")
        weights = frame["weight"].to_numpy(np.float64)[::length]
        totals = np.bincount(rows, weights)
        cumulative = np.cumsum(weights) - np.repeat(np.cumsum(totals) - totals, np.bincount(rows))
        cumulative /= totals[rows]
        last = np.r_[rows[1:] != rows[:-1], True]
        cumulative[last] = 1.0  # no round-off past a row's end
        self.rows = int(rows.max()) + 1
        self._keys = rows + cumulative  # ascending: row r's solutions fill (r, r + 1]

    def __len__(self) -> int:
        return self.rows

    def draw(self, rng: np.random.Generator) -> torch.Tensor:
        """One solution of each y, each drawn by its posterior weight: (rows, 2, L)."""
        targets = np.arange(self.rows) + (1.0 - rng.random(self.rows))  # in (r, r + 1]
        return self.lines[np.searchsorted(self._keys, targets)]


def prior_lines(fmap: ForwardMap, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n lines from the prior and their images (f in float64), float32 (n, 2, L): the layout the
    library computes in, with no round trip through the file layout (an online epoch's lines)."""
    x = sample_lines(n, rng).astype(np.float32)
    y = fmap(x.astype(np.float64))
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.float32))


def make_dataset(fmap: ForwardMap, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n lines from the prior and their images, in file layout."""
    x, y = prior_lines(fmap, n, rng)
    return to_file_layout(x), to_file_layout(y)


def save_dataset(path: str | Path, x: torch.Tensor, y: torch.Tensor) -> None:
    torch.save(TensorDataset(x, y), path)


def load_dataset(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Load (X, Y) in file layout without unpickling anything but tensors and TensorDataset."""
    try:
        with torch.serialization.safe_globals([TensorDataset]):
            obj = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as err:  # torch raises several types for corrupt or unsafe pickles
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataFileError(f"{path}: check 'readable' failed: {first_line}") from None
    if not isinstance(obj, TensorDataset) or len(obj.tensors) != 2:
        raise DataFileError(
            f"{path}: check 'structure' failed: expected TensorDataset(X, Y), got {type(obj).__name__}"
        )
    return obj.tensors


def _fail(path, check: str, errors: np.ndarray, tolerance: float, what: str, hint: str = "") -> None:
    worst = int(np.argmax(errors))
    raise DataFileError(
        f"{path}: check '{check}' failed: worst row {worst} has {what} {errors[worst]:.3g}"
        f" > tolerance {tolerance:g}{hint}"
    )


def validate_dataset(path: str | Path, fmap: ForwardMap, tolerance: float, line_tolerance: float = 1e-5) -> dict:
    """Check a dataset file against the domain, the line prior and y = f(x).

    Returns a summary; raises DataFileError naming the first failed check.
    """
    xt, yt = load_dataset(path)
    expected = (1, POINTS, 2)
    for name, t in (("X", xt), ("Y", yt)):
        if t.ndim != 4 or tuple(t.shape[1:]) != expected or t.shape[0] == 0:
            raise DataFileError(
                f"{path}: check 'shape' failed: {name} has shape {tuple(t.shape)}, expected (N, 1, {POINTS}, 2)"
            )
        if t.dtype != torch.float32:
            raise DataFileError(f"{path}: check 'dtype' failed: {name} is {t.dtype}, expected torch.float32")
    if xt.shape[0] != yt.shape[0]:
        raise DataFileError(f"{path}: check 'shape' failed: X has {xt.shape[0]} rows but Y has {yt.shape[0]}")

    x = from_file_layout(xt).double().numpy()
    y = from_file_layout(yt).double().numpy()
    nonfinite = (~np.isfinite(x)).sum((1, 2)) + (~np.isfinite(y)).sum((1, 2))
    if nonfinite.any():
        _fail(path, "finite", nonfinite.astype(float), 0, "non-finite values:")

    lo, hi = DOMAIN
    outside = np.maximum(lo - x, x - hi).max((1, 2))
    if (outside > line_tolerance).any():
        _fail(path, "domain", outside, line_tolerance, f"a value outside [{lo}, {hi}] by")
    steps = np.diff(x, axis=-1)
    rise0 = steps[:, 0].max(-1)
    if (rise0 > line_tolerance).any():
        _fail(path, "x0 falling", rise0, line_tolerance, "an x0 step up of")
    fall1 = (-steps[:, 1]).max(-1)
    if (fall1 > line_tolerance).any():
        _fail(path, "x1 rising", fall1, line_tolerance, "an x1 step down of")
    _, fitted = fit_lines(x)
    line_error = np.abs(x - fitted).max((1, 2))
    if (line_error > line_tolerance).any():
        _fail(path, "straight evenly spaced", line_error, line_tolerance, "a distance to its fitted line of")
    y_error = np.abs(y - fmap(x)).max((1, 2))
    if (y_error > tolerance).any():
        _fail(path, "equations", y_error, tolerance, "|Y - f(X)| =", f" (expected {fmap})")

    return {
        "file": str(path),
        "rows": int(x.shape[0]),
        "checks_passed": list(CHECKS),
        "max_abs_y_error": float(y_error.max()),
        "max_line_error": float(line_error.max()),
    }


def load_split(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """A validated file as in-memory tensors x, y: (N, 2, L) float32."""
    xt, yt = load_dataset(path)
    return from_file_layout(xt), from_file_layout(yt)
