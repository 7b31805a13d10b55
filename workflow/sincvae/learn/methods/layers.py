"""Pieces shared by the methods: θ (a line's 4 end-point coordinates) standardised, the
y-embedding of the θ-space methods, SiLU MLP layers, sinusoidal features, an fp32 output head,
a class drawn from logits at a temperature."""

from __future__ import annotations

import math

import torch
from torch import nn

from sincvae.problem.lines import POINTS

# The box [0.1, 1] mapped to about [-1.7, 1.7]: well inside a spline flow's [-5, 5].
CENTRE, SCALE = 0.55, 0.26


def draw_class(logits: torch.Tensor, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
    """A class per row (N,) from logits (N, C), drawn from their softmax at `temperature` with
    `generator`; at temperature 0 the most probable one."""
    if temperature == 0:
        return logits.argmax(1)
    return torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=generator)[:, 0]


def ends_of(x: torch.Tensor) -> torch.Tensor:
    """Lines (B, 2, L) -> θ (B, 4): start point, then end point."""
    return torch.cat([x[..., 0], x[..., -1]], -1)


def y_embedding(features: int = 128) -> nn.Sequential:
    """Two same-length 1-D convolutions over the 50 points, then one linear layer: a y's local
    shape (its oscillations along the line) is what locates the line's end points."""
    return nn.Sequential(
        nn.Conv1d(2, 32, 5, padding=2), nn.ReLU(), nn.Conv1d(32, 64, 5, padding=2), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * POINTS, features), nn.ReLU(),
    )


def silu_layers(inputs: int, width: int, hidden: int) -> list[nn.Module]:
    """`hidden` Linear + SiLU layers of `width` units on `inputs` features, for nn.Sequential."""
    layers: list[nn.Module] = [nn.Linear(inputs, width), nn.SiLU()]
    for _ in range(hidden - 1):
        layers += [nn.Linear(width, width), nn.SiLU()]
    return layers


def sinusoids(x: torch.Tensor, frequencies: int) -> torch.Tensor:
    """(N, d) -> (N, 2·d·frequencies): sin, then cos, of 2^m π x for m < frequencies."""
    angles = x[..., None] * (math.pi * 2.0 ** torch.arange(frequencies, device=x.device))
    return torch.cat([angles.sin().flatten(-2), angles.cos().flatten(-2)], -1)


class Arccos(nn.Module):
    """y (B, 2, L) -> (B, 4L): the values and their arccos (fixed, nothing learned). The arccos
    of a cosine term is its phase folded into [0, π], piecewise linear along a line."""

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        y = y.flatten(1).float()
        return torch.cat([y, torch.arccos(y.clamp(-1, 1))], 1)


class Fp32Linear(nn.Linear):
    """A Linear layer that runs in fp32 under autocast: an output head whose values must keep
    more than bf16's 8 bits (a line's end points: 0.004 apart in bf16, a phase error of up to
    0.25 rad at data_2's frequency 63). Same parameters as nn.Linear."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x.float())
