"""The cheapest baseline: the K training lines whose y are nearest to the target."""

from __future__ import annotations


import torch
from torch import nn


class NearestLines(nn.Module):
    """The training lines whose y are nearest (Euclidean over all 100 values)."""

    def __init__(self, settings, context):
        super().__init__()
        x, y = context.train
        self.register_buffer("x", x)
        self.register_buffer("y", y.flatten(1))

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Deterministic: the K nearest, nearest first."""
        distances = torch.cdist(y.flatten(1), self.y)
        return self.x[distances.topk(samples, largest=False).indices]
