"""Generation from the prior, the exact reference, and their scores for one split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .forward import ForwardMap
from .metrics import sample_scores, samples_frame, summarise, truth_table
from .model import CVAE

Solutions = list[tuple[np.ndarray, np.ndarray]]  # per row: lines (S, 2, L), posterior weights (S,)


def evaluated_splits(validation_rows: int) -> list[tuple[str, int | None]]:
    """(split, rows scored): every scoring row, the first validation rows. The exact solver and
    every method's evaluation use this one list, so their rows line up."""
    return [("scoring", None), ("validation", validation_rows)]


def load_model(path, latent_dim: int, variant: str, device: torch.device) -> CVAE:
    model = CVAE(latent_dim, variant)
    model.load_state_dict(torch.load(path, weights_only=True, map_location="cpu"))
    return model.to(device).eval()


def evaluate_split(model: CVAE, fmap: ForwardMap, split: str, x: torch.Tensor, y: torch.Tensor,
                   solutions: Solutions, samples: int, match_tolerance: float, generator: torch.Generator):
    """Generate `samples` lines per y (x, y: (B, 2, 50)) and score them against x and the exact solutions.

    Returns (long samples frame, per-sample scores, summary dict).
    """
    x_hat = model.generate(y.to(generator.device), samples, generator).cpu().numpy()
    x_np, y_np = x.numpy(), y.numpy()
    scores = sample_scores(x_hat, y_np, x_np, fmap)
    truth = truth_table(x_hat, solutions, match_tolerance)
    return samples_frame(split, x_hat, y_np), scores.assign(split=split), summarise(scores, truth, match_tolerance)


def evaluate_exact(fmap: ForwardMap, x: np.ndarray, y: np.ndarray, solutions: Solutions,
                   match_tolerance: float) -> tuple[pd.DataFrame, dict]:
    """The enumerator as a method: its samples are the solutions, weighted by the posterior."""
    scores = pd.concat([
        sample_scores(lines[None], y[b:b + 1], x[b:b + 1], fmap).assign(row=b)
        for b, (lines, _) in enumerate(solutions)
    ], ignore_index=True)
    truth = truth_table([lines for lines, _ in solutions], solutions, match_tolerance,
                        sample_weights=[weights for _, weights in solutions])
    return scores, summarise(scores, truth, match_tolerance)
