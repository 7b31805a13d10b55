"""Bins with offsets (the action head of Behavior Transformers, Shafiullah et al. 2022): the
autoregressive bins over a line's 4 end-point coordinates θ, where each head also predicts,
for every bin, where inside it the coordinate lies; the offset's loss counts on the true bin
only, and a sample is its drawn bin at the offset predicted for that bin, not a uniform point
in it. Uniform jitter caps the bins' precision at their width (0.9 / 256 = 0.0035; on data_2 a
coordinate must be right to about 1e-5 for a line to solve y); offsets let fewer, wider bins
choose among solutions while a regression places the point.
"""

from __future__ import annotations


import torch
from torch import nn

from .autoregressive import COORDINATES, AutoregressiveBins
from .layers import Fp32Linear, draw_class, ends_of
from sincvae.problem.lines import DOMAIN, lines_from_ends


class OffsetBins(AutoregressiveBins):
    def __init__(self, settings, context=None):
        super().__init__(settings, context)
        for head in self.heads:  # each head: the bins' logits, then each bin's offset
            head[-1] = Fp32Linear(settings.hidden, 2 * settings.bins)

    def _split(self, h: torch.Tensor, theta: torch.Tensor, j: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Coordinate j's bin logits and each bin's offset in [0, 1] (fp32, the head's)."""
        out = self._logits(h, theta, j)
        return out[:, :self.settings.bins], torch.sigmoid(out[:, self.settings.bins:])

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Negative log-likelihood of the lines' bins and the squared error of the true bin's
        offset (in bin widths), each coordinate given the true earlier ones."""
        lo, hi = DOMAIN
        theta = ends_of(x)
        h = self.trunk(self.embed(y))
        target = self._bin(theta)
        within = (theta - lo) / (hi - lo) * self.settings.bins - target  # where in its bin, [0, 1]
        nll, offset = [], []
        for j in range(COORDINATES):
            logits, offsets = self._split(h, theta, j)
            nll.append(nn.functional.cross_entropy(logits, target[:, j]))
            predicted = offsets.gather(1, target[:, j:j + 1])[:, 0]
            offset.append(((predicted - within[:, j].float()) ** 2).mean())
        nll, offset = torch.stack(nll).sum(), torch.stack(offset).sum()
        return nll + self.settings.offset_weight * offset, {"nll": nll, "offset_mse": offset}

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """y (B, 2, 50) -> K lines per y (B, K, 2, 50): each coordinate's bin drawn from its softmax
        at `temperature` with `generator`, placed at the offset its head predicts for that bin."""
        lo, hi = DOMAIN
        width = (hi - lo) / self.settings.bins
        h = self.trunk(self.embed(y)).repeat_interleave(samples, 0)
        theta = torch.zeros(len(h), COORDINATES, device=y.device)
        for j in range(COORDINATES):
            logits, offsets = self._split(h, theta, j)
            picks = draw_class(logits, self.settings.temperature, generator)
            theta[:, j] = lo + (picks + offsets.gather(1, picks[:, None])[:, 0]) * width
        theta = theta.view(len(y), samples, COORDINATES)
        return lines_from_ends(theta[..., :2], theta[..., 2:], y.shape[-1])
