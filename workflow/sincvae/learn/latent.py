"""Looking inside a CVAE (the original study's or ours): encoder means in 2-D, and latent traversals."""

from __future__ import annotations

import numpy as np
import torch


@torch.no_grad()
def projected_means(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Encoder means of (x, y) rows projected on their first two principal axes.

    Returns (points (N, 2), explained variance share of each axis (2,)).
    """
    mean, _ = model.encode(x, y)
    centred = mean.double().numpy() - mean.double().numpy().mean(0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    share = singular ** 2 / (singular ** 2).sum()
    return centred @ axes[:2].T, share[:2]


@torch.no_grad()
def traversals(model: torch.nn.Module, y: torch.Tensor, dims: list[int], values: np.ndarray) -> np.ndarray:
    """Lines decoded for one y (2, L) with z = 0 except z[d] = v: (len(dims), len(values), 2, L)."""
    z = torch.zeros(len(dims), len(values), model.latent_dim)
    for i, dim in enumerate(dims):
        z[i, :, dim] = torch.as_tensor(values, dtype=z.dtype)
    flat = z.view(-1, model.latent_dim)
    lines = model.decode(flat, y.expand(len(flat), *y.shape))
    return lines.view(len(dims), len(values), *lines.shape[1:]).double().numpy()
