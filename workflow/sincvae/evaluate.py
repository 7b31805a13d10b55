"""Generation from the prior and its scores for one split."""

from __future__ import annotations

import torch

from .forward import ForwardMap
from .metrics import sample_scores, samples_frame, summarise
from .model import CVAE


def load_model(path, latent_dim: int, variant: str, device: torch.device) -> CVAE:
    model = CVAE(latent_dim, variant)
    model.load_state_dict(torch.load(path, weights_only=True, map_location="cpu"))
    return model.to(device).eval()


def evaluate_split(model: CVAE, fmap: ForwardMap, split: str, x: torch.Tensor, y: torch.Tensor,
                   samples: int, match_tolerance: float, generator: torch.Generator):
    """Generate `samples` lines per y (x, y: (B, 2, 50)) and score them.

    Returns (long samples frame, per-sample scores, summary dict).
    """
    x_hat = model.generate(y.to(generator.device), samples, generator).cpu().numpy()
    x_np, y_np = x.numpy(), y.numpy()
    scores = sample_scores(x_hat, y_np, x_np, fmap)
    return samples_frame(split, x_hat, y_np), scores.assign(split=split), summarise(scores, match_tolerance)
