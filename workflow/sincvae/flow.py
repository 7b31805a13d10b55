"""Conditional normalizing flow p(θ | y) over a line's 4 end-point coordinates (zuko's NSF).

A straight evenly spaced line is fixed by θ = (x0_start, x1_start, x0_end, x1_end), so a
density over 4 numbers covers the whole answer set, where one over the 100 point values
would spend its capacity on 96 exact constraints. y (2 × 50) is embedded by a small 1-D
convolution network (embedding.py) trained with the flow.
"""

from __future__ import annotations

import torch
import zuko
from torch import nn

from .embedding import y_embedding
from .lines import lines_from_ends

# The box [0.1, 1] mapped to about [-1.7, 1.7]: well inside the splines' [-5, 5].
CENTRE, SCALE = 0.55, 0.26


def ends_of(x: torch.Tensor) -> torch.Tensor:
    """Lines (B, 2, L) -> θ (B, 4): start point, then end point."""
    return torch.cat([x[..., 0], x[..., -1]], -1)


class LineFlow(nn.Module):
    def __init__(self, transforms: int = 5, hidden: int = 256, embedding: int = 128):
        super().__init__()
        self.embed = y_embedding(embedding)
        self.flow = zuko.flows.NSF(4, embedding, transforms=transforms, hidden_features=(hidden, hidden))

    def log_prob(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """log p(θ | y) of the lines x (B, 2, L), in the standardised coordinates: (B,)."""
        return self.flow(self.embed(y)).log_prob((ends_of(x) - CENTRE) / SCALE)

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """y (B, 2, 50) -> K lines per y: (B, K, 2, 50). Noise from `generator`, so runs repeat."""
        dist = self.flow(self.embed(y))
        noise = torch.randn(samples, y.shape[0], 4, generator=generator, device=y.device)
        theta = dist.transform.inv(noise).transpose(0, 1) * SCALE + CENTRE
        return lines_from_ends(theta[..., :2], theta[..., 2:], y.shape[-1])
