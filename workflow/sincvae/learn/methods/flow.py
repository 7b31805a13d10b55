"""Conditional normalizing flow p(θ | y) over a line's 4 end-point coordinates (zuko's NSF).

A straight evenly spaced line is fixed by θ = (x0_start, x1_start, x0_end, x1_end), so a
density over 4 numbers covers the whole answer set, where one over the 100 point values
would spend its capacity on 96 exact constraints. y (2 × 50) is embedded by a small 1-D
convolution network (layers.py) trained with the flow.
"""

from __future__ import annotations


import torch
import zuko
from torch import nn

from .layers import CENTRE, SCALE, ends_of, y_embedding
from sincvae.problem.lines import lines_from_ends


class LineFlow(nn.Module):
    def __init__(self, settings, context=None, embedding: int = 128):
        super().__init__()
        self.embed = y_embedding(embedding)
        self.flow = zuko.flows.NSF(4, embedding, transforms=settings.transforms,
                                   hidden_features=(settings.hidden, settings.hidden))

    def log_prob(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """log p(θ | y) of the lines x (B, 2, L), in the standardised coordinates: (B,)."""
        return self.flow(self.embed(y)).log_prob((ends_of(x) - CENTRE) / SCALE)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Maximum likelihood: the mean negative log-density of the lines' θ."""
        nll = -self.log_prob(x, y).float().mean()
        return nll, {"nll": nll}

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """y (B, 2, 50) -> K lines per y: (B, K, 2, 50). Noise from `generator`, so runs repeat."""
        dist = self.flow(self.embed(y))
        noise = torch.randn(samples, y.shape[0], 4, generator=generator, device=y.device)
        theta = dist.transform.inv(noise).transpose(0, 1) * SCALE + CENTRE
        return lines_from_ends(theta[..., :2], theta[..., 2:], y.shape[-1])
