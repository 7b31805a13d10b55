"""No learning: lines from the data's prior, whatever y is; refined, it is multi-start least
squares, the bar a learned method must beat."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..lines import lines_from_ends, sample_ends


@dataclass(frozen=True)
class Settings:
    """No settings."""


class PriorLines(nn.Module):
    def __init__(self, settings: Settings | None = None, context=None):
        super().__init__()

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        ends = sample_ends((y.shape[0], samples), generator)
        return lines_from_ends(ends[..., :2], ends[..., 2:], y.shape[-1]).to(y.dtype)
