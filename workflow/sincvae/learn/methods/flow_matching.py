"""Conditional flow matching over a line's 4 end-point coordinates θ (FMPE: Wildberger, Dax et
al. 2023): a velocity field v(θ_t, t, y) learns the straight paths θ_t = (1 − (1 − σ)t)·θ0 + t·θ1
from Gaussian noise θ0 to the data θ1 by regression; sampling integrates dθ/dt = v from t = 0 to
1. Regression, unlike a flow's likelihood, does not tie the model to one invertible map of
a Gaussian, so the field can split the noise into separate modes (the solutions of one y).
"""

from __future__ import annotations


import torch
from torch import nn

from .layers import CENTRE, SCALE, Fp32Linear, ends_of, silu_layers, sinusoids, y_embedding
from sincvae.problem.lines import lines_from_ends


SIGMA = 1e-3  # width of the paths at the data end
FREQUENCIES = 8  # sinusoidal features of t


class FlowMatching(nn.Module):
    def __init__(self, settings, context=None, embedding: int = 128):
        super().__init__()
        self.settings = settings
        self.embed = y_embedding(embedding)
        width = settings.hidden
        self.field = nn.Sequential(*silu_layers(4 + 2 * FREQUENCIES + embedding, width, settings.layers),
                                   Fp32Linear(width, 4))

    def velocity(self, theta: torch.Tensor, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """v(θ_t, t | y) for θ (N, 4), t (N, 1) and the y-embedding h (N, E)."""
        return self.field(torch.cat([theta, sinusoids(t, FREQUENCIES), h], -1))

    def _times(self, n: int, device) -> torch.Tensor:
        return torch.rand(n, 1, device=device) ** (1.0 / (1.0 + self.settings.time_power))

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Mean squared error of v against the path's velocity θ1 − (1 − σ)·θ0."""
        data = (ends_of(x) - CENTRE) / SCALE
        noise = torch.randn_like(data)
        t = self._times(len(data), data.device)
        theta = (1 - (1 - SIGMA) * t) * noise + t * data
        error = (self.velocity(theta, t, self.embed(y)).float() - (data - (1 - SIGMA) * noise)).pow(2).mean()
        return error, {"fm_loss": error}

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """y (B, 2, 50) -> K lines per y (B, K, 2, 50): noise from `generator` carried along the
        field by the midpoint rule, in fp32 between the field's evaluations."""
        batch = y.shape[0]
        h = self.embed(y).repeat_interleave(samples, 0)
        theta = torch.randn(batch * samples, 4, generator=generator, device=y.device)
        dt = 1.0 / self.settings.steps
        for step in range(self.settings.steps):
            t = torch.full((len(theta), 1), step * dt, device=y.device)
            half = theta + 0.5 * dt * self.velocity(theta, t, h).float()
            theta = theta + dt * self.velocity(half, t + 0.5 * dt, h).float()
        theta = (theta * SCALE + CENTRE).view(batch, samples, 4)
        return lines_from_ends(theta[..., :2], theta[..., 2:], y.shape[-1])
