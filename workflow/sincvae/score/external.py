"""Other people's generated samples, in the challenge's submission layout: torch.save of a
TensorDataset(X, Y), each (N·K, 1, 50, 2) float32, K consecutive rows per target y, the targets
in the order of the dataset's scoring split. Loaded safely, checked, and scored like a method."""

from __future__ import annotations

import numpy as np
import torch

from sincvae.problem.data import DataFileError, from_file_layout, load_dataset
from sincvae.problem.lines import POINTS


class SubmissionError(DataFileError):
    """A submission that cannot be scored; the message names the file and what is wrong."""


def load_submission(path, y_scoring: torch.Tensor, match: float = 1e-6) -> np.ndarray:
    """The generated lines of a submission as (N, K, 2, L), N the scoring split's rows.

    y_scoring: the scoring split's Y (N, 2, L). Refused, naming the file: anything but a
    TensorDataset of tensors (nothing else is unpickled), shapes other than (N·K, 1, 50, 2),
    non-finite values, or Y rows that are not the scoring split's, K at a time, in order.
    """
    try:
        xt, yt = load_dataset(path)
    except DataFileError as err:
        raise SubmissionError(str(err)) from None
    return submission_lines(path, xt, yt, y_scoring, match)


def submission_lines(path, xt: torch.Tensor, yt: torch.Tensor, y_scoring: torch.Tensor, match: float = 1e-6) -> np.ndarray:
    """load_submission's checks and lines, on the file's tensors already loaded (named by `path`)."""
    rows = len(y_scoring)
    for name, t in (("X", xt), ("Y", yt)):
        if t.ndim != 4 or tuple(t.shape[1:]) != (1, POINTS, 2) or t.shape[0] == 0 or t.shape[0] % rows:
            raise SubmissionError(f"{path}: {name} has shape {tuple(t.shape)}, expected (N·K, 1, {POINTS}, 2) with "
                                  f"N = {rows} scoring rows and K lines per y")
    if xt.shape[0] != yt.shape[0]:
        raise SubmissionError(f"{path}: X has {xt.shape[0]} rows but Y has {yt.shape[0]}")
    samples = xt.shape[0] // rows
    x = from_file_layout(xt.float()).double().numpy().reshape(rows, samples, 2, POINTS)
    y = from_file_layout(yt.float()).double().numpy().reshape(rows, samples, 2, POINTS)
    bad = ~np.isfinite(x).all((1, 2, 3))
    if bad.any():
        raise SubmissionError(f"{path}: X has non-finite values in the lines of scoring row {int(np.argmax(bad))}")
    difference = np.abs(y - y_scoring.double().numpy()[:, None]).max((1, 2, 3))
    if (difference > match).any():
        row = int(np.argmax(difference > match))  # the first
        raise SubmissionError(f"{path}: Y rows {row * samples}..{row * samples + samples - 1} are not scoring row "
                              f"{row}'s y (max difference {difference[row]:.3g}): K = {samples} consecutive rows per "
                              f"y, in the scoring split's order")
    return x
