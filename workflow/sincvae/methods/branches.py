"""Phase branches: which solution of the map's equations, learned; where it lies, solved.

Each term's phase p = a·x0 + b·x1 at a line's end point satisfies fn(p) = y there, so p is fixed
by y up to its branch: the half period h = floor((p − offset) / π) it lies in (offset 0 for cos,
π/2 for sin, where fn is monotonic between turning points). Given h,

    p = offset + h·π + (q if h is even else π − q),  q = arccos(fn shifted to a cosine of y),

exactly, and the end point is M⁻¹·(p1, p2), M the map's coefficients. A line is its two end
points: four branch labels (h1, h2 at the start, h1, h2 at the end), drawn autoregressively
like the bins' coordinates (each head sees the earlier labels). Only the branches are learned,
a classification with a handful of classes per label; the continuous values come from y
through the map's formula, so a line with the right branches solves y to the precision of y
itself. It needs an invertible M (two independent phases), which every map of two terms in
general position has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import torch
from torch import nn

from .contract import AtLeast
from .layers import Arccos, Fp32Linear, ends_of, silu_layers
from ..exact import phase_range
from ..lines import POINTS, lines_from_ends

LABELS = 4  # a half-period branch for each of the 2 phases at each of the 2 end points


@dataclass(frozen=True)
class Settings:
    hidden: Annotated[int, AtLeast(1)] = 256  # width of the hidden layers (the y trunk and each label's head)
    layers: Annotated[int, AtLeast(1)] = 3  # hidden layers of the y trunk; each head has 2
    temperature: Annotated[float, AtLeast(0)] = 1.0  # of the branches' softmax when sampling


class PhaseBranches(nn.Module):
    def __init__(self, settings: Settings, context):
        super().__init__()
        self.settings = settings
        fmap = context.fmap
        matrix = fmap.coefficients
        if abs(np.linalg.det(matrix)) < 1e-9 * np.abs(matrix).max() ** 2:
            raise ValueError(f"method branches needs two independent phases; the map {fmap} has a singular "
                             f"coefficient matrix {matrix.tolist()}")
        self.register_buffer("inverse", torch.tensor(np.linalg.inv(matrix)), persistent=False)
        self.register_buffer("matrix", torch.tensor(matrix), persistent=False)
        offsets = [0.0 if term.fn == "cos" else math.pi / 2 for term in fmap.terms]
        lows, counts = [], []
        for term, offset in zip(fmap.terms, offsets):
            lo, hi = phase_range(term)
            first, last = math.floor((lo - offset) / math.pi), math.floor((hi - offset) / math.pi)
            lows.append(first)
            counts.append(last - first + 1)
        # per label (phase 1 and 2 at the start, then at the end)
        self.register_buffer("offsets", torch.tensor(offsets * 2, dtype=torch.float64), persistent=False)
        self.register_buffer("lows", torch.tensor(lows * 2), persistent=False)
        self.classes = counts * 2
        width = settings.hidden
        self.embed = Arccos()
        self.trunk = nn.Sequential(*silu_layers(4 * POINTS, width, settings.layers))
        self.heads = nn.ModuleList(
            nn.Sequential(*silu_layers(width + sum(self.classes[:j]), width, 2), Fp32Linear(width, self.classes[j]))
            for j in range(LABELS))

    def labels(self, x: torch.Tensor) -> torch.Tensor:
        """Lines (B, 2, L) -> their branch labels (B, 4), each in 0 .. classes − 1."""
        theta = ends_of(x).double()
        phase = torch.cat([theta[:, :2] @ self.matrix.T, theta[:, 2:] @ self.matrix.T], 1)
        half = torch.floor((phase - self.offsets) / math.pi).long() - self.lows
        return torch.stack([half[:, j].clamp(0, self.classes[j] - 1) for j in range(LABELS)], 1)

    def ends(self, labels: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Branch labels (N, 4) and the y each answers (N, 2, L) -> the end points θ (N, 4), float64:
        each phase solved from y at its end point in its half period, then M⁻¹."""
        values = torch.cat([y[..., 0], y[..., -1]], 1).double().clamp(-1, 1)  # (N, 4): y1, y2 at each end
        half = labels + self.lows
        odd = half % 2 == 1
        # fn(p) = cos(p − offset): a sine is a cosine a quarter period later
        q = torch.arccos(values)
        phase = self.offsets + half * math.pi + torch.where(odd, math.pi - q, q)
        return torch.cat([phase[:, :2] @ self.inverse.T, phase[:, 2:] @ self.inverse.T], 1)

    def _logits(self, h: torch.Tensor, earlier: list[torch.Tensor], j: int) -> torch.Tensor:
        """Label j's logits (fp32, the head's) given the trunk's h and the earlier labels, one-hot."""
        inputs = [h] + [nn.functional.one_hot(e, self.classes[i]).to(h.dtype) for i, e in enumerate(earlier)]
        return self.heads[j](torch.cat(inputs, 1))

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Negative log-likelihood of the lines' branch labels, each given the true earlier ones."""
        target = self.labels(x)
        h = self.trunk(self.embed(y))
        earlier = [target[:, i] for i in range(LABELS)]
        parts = [nn.functional.cross_entropy(self._logits(h, earlier[:j], j), target[:, j]) for j in range(LABELS)]
        nll = torch.stack(parts).sum()
        return nll, {"nll": nll}

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """y (B, 2, L) -> K lines per y (B, K, 2, L): branches drawn label by label from their
        softmax at `temperature` with `generator`, end points solved from y."""
        h = self.trunk(self.embed(y)).repeat_interleave(samples, 0)
        picked: list[torch.Tensor] = []
        for j in range(LABELS):
            probs = torch.softmax(self._logits(h, picked, j).float() / self.settings.temperature, -1)
            picked.append(torch.multinomial(probs, 1, generator=generator)[:, 0])
        theta = self.ends(torch.stack(picked, 1), y.repeat_interleave(samples, 0))
        theta = theta.view(len(y), samples, LABELS)
        return lines_from_ends(theta[..., :2], theta[..., 2:], y.shape[-1]).to(y.dtype)
