"""Autoregressive binned density over a line's 4 end-point coordinates θ: p(θ | y) =
Π_j p(θ_j | θ_<j, y), each factor a softmax over `bins` equal bins of the box [0.1, 1].

The exact solutions of one y are separate points of θ-space whose number and places change
abruptly with y. A mixture's components have no fixed identity, so its means must jump as y
moves; a bin has one, so a factor is a classification that may switch sharply. Bins of
0.9 / 256 = 0.0035 sit well inside the 0.02 a matched line may miss by. Later coordinates see
the earlier ones through sinusoidal features, so one can pin the next within a bin.
"""

from __future__ import annotations


import torch
from torch import nn

from .layers import Arccos, draw_class, ends_of, silu_layers, sinusoids
from sincvae.problem.lines import DOMAIN, POINTS, lines_from_ends

COORDINATES = 4
FREQUENCIES = 6  # sin/cos(2^m π θ) for m < 6: periods from 2 down to 1/16, finer than a phase of 63·θ


class AutoregressiveBins(nn.Module):
    def __init__(self, settings, context=None):
        super().__init__()
        self.settings = settings
        width = settings.hidden
        self.embed = Arccos()
        self.trunk = nn.Sequential(*silu_layers(4 * POINTS, width, settings.layers))
        self.heads = nn.ModuleList(
            nn.Sequential(*silu_layers(width + j * (1 + 2 * FREQUENCIES), width, 2), nn.Linear(width, settings.bins))
            for j in range(COORDINATES))

    def _logits(self, h: torch.Tensor, theta: torch.Tensor, j: int) -> torch.Tensor:
        """Coordinate j's bin logits, as fp32, given the trunk's h and the earlier coordinates. The
        head's last layer runs in the autocast dtype: logits need no more than bf16's 8 bits."""
        if j == 0:
            return self.heads[0](h).float()
        earlier = theta[:, :j]
        return self.heads[j](torch.cat([h, earlier, sinusoids(earlier, FREQUENCIES)], 1)).float()

    def _bin(self, theta: torch.Tensor) -> torch.Tensor:
        lo, hi = DOMAIN
        return ((theta - lo) / (hi - lo) * self.settings.bins).long().clamp(0, self.settings.bins - 1)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Negative log-likelihood of the lines' bins, each coordinate given the true earlier ones."""
        theta = ends_of(x)
        h = self.trunk(self.embed(y))
        target = self._bin(theta)
        parts = [nn.functional.cross_entropy(self._logits(h, theta, j), target[:, j]) for j in range(COORDINATES)]
        nll = torch.stack(parts).sum()
        return nll, {"nll": nll}

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """y (B, 2, 50) -> K lines per y (B, K, 2, 50): each coordinate's bin drawn from its softmax
        at `temperature`, then a uniform point in it; noise from `generator`, so runs repeat."""
        lo, hi = DOMAIN
        width = (hi - lo) / self.settings.bins
        h = self.trunk(self.embed(y)).repeat_interleave(samples, 0)
        theta = torch.zeros(len(h), COORDINATES, device=y.device)
        for j in range(COORDINATES):
            picks = draw_class(self._logits(h, theta, j), self.settings.temperature, generator)
            jitter = torch.rand(len(h), generator=generator, device=y.device)
            theta[:, j] = lo + (picks + jitter) * width
        theta = theta.view(len(y), samples, COORDINATES)
        return lines_from_ends(theta[..., :2], theta[..., 2:], y.shape[-1])
