"""The ideal sampler, a reference row: K independent draws from the exact solutions of each y
(exact.solve_lines) with their posterior weights. Its MMD and coverage are the floor a
method's K lines can reach: a perfect sampler still misses a rare solution in K draws."""

from __future__ import annotations


import numpy as np
import torch
from torch import nn

from sincvae.problem.exact import solve_split


class PosteriorDraws(nn.Module):
    def __init__(self, settings, context):
        super().__init__()
        self.fmap, self.tolerance = context.fmap, context.tolerance

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """y (B, 2, L) -> (B, K, 2, L): each row's solutions drawn with replacement by weight."""
        drawn = []
        for lines, weights in solve_split(self.fmap, y.cpu().numpy(), self.tolerance):
            weights = torch.as_tensor(weights, device=generator.device if generator else "cpu")
            picks = torch.multinomial(weights, samples, replacement=True, generator=generator)
            drawn.append(lines[picks.cpu().numpy()])
        return torch.as_tensor(np.stack(drawn), dtype=y.dtype, device=y.device)
