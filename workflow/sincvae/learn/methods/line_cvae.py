"""Our CVAE: the original study's idea on a line's 4 end-point coordinates instead of its 100 values.

Changes from the original study's model, and why:
- it generates θ = (start, end) of a straight line, so every sample is a valid straight line
  and the decoder's capacity goes to where the line is, not to its shape;
- encoder and decoder are MLPs on θ and a learned embedding of y (embedding.py);
- the latent is small (latent_dim, e.g. 4) with "free bits" (Kingma et al. 2016): each latent
  dimension's batch-mean KL counts only above `free_bits` nats, so the optimiser has no reason
  to switch the latent off; the original study's CVAE collapses onto one mean line per y (MMD ~1,
  coverage 0), and a used latent is what lets one y map to several solution lines.
"""

from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import nn

from .layers import CENTRE, SCALE, Fp32Linear, ends_of, y_embedding
from sincvae.problem.lines import lines_from_ends


def line_cvae_loss(x, x_hat, y, y_hat, mean, logvar, *, beta: float, wx: float, wy: float, free_bits: float):
    """Per-sample means: beta·KL (each latent dimension's batch-mean KL floored at free_bits
    nats) + wx·mean squared point error + wy·mean |f(x̂) − y|. Returns the total and its parts."""
    kl_per_dim = (-0.5 * (1 + logvar - mean.pow(2) - logvar.exp())).mean(0)
    kl = kl_per_dim.sum()
    x_loss = F.mse_loss(x_hat, x)
    y_loss = F.l1_loss(y_hat, y)
    total = beta * kl_per_dim.clamp(min=free_bits).sum() + wx * x_loss + wy * y_loss
    return total, {"kl": kl, "x_loss": x_loss, "y_loss": y_loss}


def _mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    """Two hidden layers; the output layer in fp32 under autocast (end points, log-variances)."""
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         Fp32Linear(hidden, outputs))


class LineCVAE(nn.Module):
    def __init__(self, settings, context=None, embedding: int = 128):
        super().__init__()
        self.settings = settings
        self.fmap = context.fmap if context else None  # the loss's f; generation needs none
        self.latent_dim = latent_dim = settings.latent_dim
        self.embed = y_embedding(embedding)
        self.encoder = _mlp(4 + embedding, settings.hidden, 2 * latent_dim)
        self.decoder = _mlp(latent_dim + embedding, settings.hidden, 4)

    def _lines(self, z: torch.Tensor, h: torch.Tensor, length: int) -> torch.Tensor:
        theta = self.decoder(torch.cat([z, h], -1)) * SCALE + CENTRE
        return lines_from_ends(theta[..., :2], theta[..., 2:], length)

    def _encode(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(torch.cat([(ends_of(x) - CENTRE) / SCALE, h], -1)).chunk(2, -1)

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | x, y): mean, log-variance (B, latent_dim)."""
        return self._encode(x, self.embed(y))

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dim), y (B, 2, L) -> lines (B, 2, L)."""
        return self._lines(z, self.embed(y), y.shape[-1])

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction pass for training: x̂ (B, 2, L), mean, log-variance."""
        h = self.embed(y)  # once for encoder and decoder
        mean, logvar = self._encode(x, h)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        return self._lines(z, h, x.shape[-1]), mean, logvar

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict]:
        x_hat, mean, logvar = (t.float() for t in self(x, y))
        s = self.settings
        return line_cvae_loss(x, x_hat, y, self.fmap(x_hat), mean, logvar, beta=s.beta, wx=s.wx, wy=s.wy,
                              free_bits=s.free_bits)

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """y (B, 2, 50) -> K lines per y from the prior z ~ N(0, I): (B, K, 2, 50)."""
        h = self.embed(y)[:, None].expand(-1, samples, -1)
        z = torch.randn(y.shape[0], samples, self.latent_dim, generator=generator, device=y.device)
        return self._lines(z, h, y.shape[-1])
