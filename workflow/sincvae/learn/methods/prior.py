"""No learning: lines from the data's prior, whatever y is; refined, it is multi-start least
squares, the bar a learned method must beat."""

from __future__ import annotations


import torch
from torch import nn

from sincvae.problem.lines import ends_from_uniforms, lines_from_ends


class PriorLines(nn.Module):
    def __init__(self, settings=None, context=None):
        super().__init__()

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        # the original study's generator, from uniforms of the seed's torch stream
        uniforms = torch.rand(y.shape[0], samples, 4, generator=generator, device=generator.device, dtype=torch.float64)
        ends = ends_from_uniforms(uniforms)
        return lines_from_ends(ends[..., :2], ends[..., 2:], y.shape[-1]).to(y.dtype)
