"""The seed's loss: beta·KL + wx·L(x, x̂) + wy·L(y, f(x̂)); and our line CVAE's, with free bits."""

from __future__ import annotations

import torch
import torch.nn.functional as F

RECONSTRUCTION = {
    "l1_mean": lambda a, b: F.l1_loss(a, b, reduction="mean"),
    "mse": lambda a, b: F.mse_loss(a, b, reduction="mean"),
    "l1_sum": lambda a, b: F.l1_loss(a, b, reduction="sum"),
}


def kl_divergence(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)), summed over batch and latent dims as in the seed."""
    return -0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp())


def cvae_loss(x, x_hat, y, y_hat, mean, logvar, *, loss: str, beta: float, wx: float, wy: float):
    """Total loss and its parts; y_hat = f(x̂), detached by the caller for the seed_code variant."""
    reconstruction = RECONSTRUCTION[loss]
    kl = kl_divergence(mean, logvar)
    x_loss = reconstruction(x_hat, x)
    y_loss = reconstruction(y_hat, y)
    total = beta * kl + wx * x_loss + wy * y_loss
    return total, {"kl": kl, "x_loss": x_loss, "y_loss": y_loss}


def line_cvae_loss(x, x_hat, y, y_hat, mean, logvar, *, beta: float, wx: float, wy: float, free_bits: float):
    """Per-sample means: beta·KL (each latent dimension's batch-mean KL floored at free_bits
    nats) + wx·mean squared point error + wy·mean |f(x̂) − y|. Returns the total and its parts."""
    kl_per_dim = (-0.5 * (1 + logvar - mean.pow(2) - logvar.exp())).mean(0)
    kl = kl_per_dim.sum()
    x_loss = F.mse_loss(x_hat, x)
    y_loss = F.l1_loss(y_hat, y)
    total = beta * kl_per_dim.clamp(min=free_bits).sum() + wx * x_loss + wy * y_loss
    return total, {"kl": kl, "x_loss": x_loss, "y_loss": y_loss}
