"""Every method behind one interface: generate(y, samples, generator) -> lines (B, K, 2, L)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from .flow import LineFlow
from .line_cvae import LineCVAE
from .lines import lines_from_ends, sample_ends
from .model import CVAE
from .planning import LEARNED, METHODS

if TYPE_CHECKING:
    from .train import TrainSettings

class NearestLines(nn.Module):
    """The cheapest baseline: the training lines whose y are nearest (Euclidean, all 100 values)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        super().__init__()
        self.register_buffer("x", x)
        self.register_buffer("y", y.flatten(1))

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Deterministic: the K nearest, nearest first."""
        distances = torch.cdist(y.flatten(1), self.y)
        return self.x[distances.topk(samples, largest=False).indices]


class PriorLines(nn.Module):
    """No learning: lines drawn from the data's prior, whatever y is. Refined, it is multi-start
    least squares, the bar a learned method must beat."""

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        ends = sample_ends((y.shape[0], samples), generator)
        return lines_from_ends(ends[..., :2], ends[..., 2:], y.shape[-1]).to(y.dtype)


def build_model(settings: TrainSettings) -> nn.Module:
    """A fresh, untrained model of a learned method."""
    if settings.method == "cvae":
        return CVAE(settings.latent_dim, settings.variant)
    if settings.method == "line_cvae":
        return LineCVAE(settings.latent_dim, settings.hidden)
    if settings.method == "flow":
        return LineFlow(settings.transforms, settings.hidden)
    raise ValueError(f"method {settings.method!r} has no training; learned methods are {LEARNED}")


def load_sampler(settings: TrainSettings, model_path, train: tuple[torch.Tensor, torch.Tensor] | None,
                 device: torch.device) -> nn.Module:
    """A case's trained (or training-free) sampler, on `device`, in eval mode.

    model_path: the learned methods' state dict; train: (x, y) of the train split, for nearest.
    """
    method = settings.method
    if method in LEARNED:
        sampler = build_model(settings)
        sampler.load_state_dict(torch.load(model_path, weights_only=True, map_location="cpu"))
    elif method == "nearest":
        sampler = NearestLines(*train)
    elif method == "prior":
        sampler = PriorLines()
    else:
        raise ValueError(f"unknown method {method!r}; methods are {METHODS}")
    return sampler.to(device).eval()
