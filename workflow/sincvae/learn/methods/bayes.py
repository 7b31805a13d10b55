"""Bayes' rule with a learned prior: every solution of y from the map's equations (the exact
enumerator, exact.solve_lines), each drawn with weight p̂(θ), a density of a line's end points θ
learned from the training lines.

With y observed exactly, the posterior over the solutions θ_i of y is p(θ_i) / sqrt(det JᵀJ(θ_i))
(exact.posterior_weights). For sinusoidal terms the volume factor is the same for every solution
of a y: at each point |fn'(phase)| = sqrt(1 − y²), and the phase's gradient in θ is fixed by the
map's coefficients. So the map supplies the solutions, and all that is left to learn is the
prior p(θ), a density over 4 numbers that does not depend on y. p̂ is a mixture of Gaussians over
the end points mapped to the real line (each coordinate's logit over the box), fitted by maximum
likelihood. Every line drawn solves y, so its precision is the enumerator's; the learned prior
decides only how often each solution is drawn.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .layers import ends_of
from sincvae.problem.exact import solve_split
from sincvae.problem.lines import DOMAIN

EDGE = 1e-6  # end points closer to the box's edge are clipped before the logit


class LearnedPriorBayes(nn.Module):
    def __init__(self, settings, context):
        super().__init__()
        self.settings, self.fmap, self.tolerance = settings, context.fmap, context.tolerance
        count = settings.components
        self.logits = nn.Parameter(torch.zeros(count, dtype=torch.float64))
        self.means = nn.Parameter(torch.randn(count, 4, dtype=torch.float64))
        self.lower = nn.Parameter(torch.zeros(count, 4, 4, dtype=torch.float64))  # below the diagonal
        self.log_scales = nn.Parameter(torch.zeros(count, 4, dtype=torch.float64))

    def log_prior(self, theta: torch.Tensor) -> torch.Tensor:
        """log p̂ of end points θ (N, 4) in the box, float64; outside autocast, since the weights
        are ratios of these densities (bf16 keeps 3 digits)."""
        lo, hi = DOMAIN
        with torch.autocast(theta.device.type, enabled=False):
            unit = ((theta.double() - lo) / (hi - lo)).clamp(EDGE, 1 - EDGE)
            u = torch.log(unit) - torch.log1p(-unit)
            log_jacobian = -(torch.log(unit) + torch.log1p(-unit) + math.log(hi - lo)).sum(1)  # du/dθ
            scale = torch.tril(self.lower, -1) + torch.diag_embed(self.log_scales.exp())
            mixture = torch.distributions.MultivariateNormal(self.means, scale_tril=scale)
            joint = mixture.log_prob(u[:, None]) + torch.log_softmax(self.logits, 0)
            return torch.logsumexp(joint, 1) + log_jacobian

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Negative log-likelihood of the lines' end points under p̂ (y is not needed: the prior)."""
        nll = -self.log_prior(ends_of(x)).mean()
        return nll, {"nll": nll}

    @torch.no_grad()
    def weights(self, lines: np.ndarray) -> torch.Tensor:
        """The posterior weights under p̂ of the solutions (S, 2, L) of one y, summing to 1."""
        theta = torch.from_numpy(np.concatenate([lines[:, :, 0], lines[:, :, -1]], 1)).to(self.means.device)
        return torch.softmax(self.log_prior(theta), 0)

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """y (B, 2, L) -> (B, K, 2, L): each row's exact solutions (within the data's tolerance)
        drawn with replacement by their weights under p̂, with `generator`; a row without a
        solution raises exact.NoSolution naming it."""
        drawn = []
        for lines, _ in solve_split(self.fmap, y.double().cpu().numpy(), self.tolerance):
            weights = self.weights(lines).to(generator.device if generator else "cpu")
            picks = torch.multinomial(weights, samples, replacement=True, generator=generator)
            drawn.append(lines[picks.cpu().numpy()])
        return torch.as_tensor(np.stack(drawn), dtype=y.dtype, device=y.device)
