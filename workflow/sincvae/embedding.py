"""The y-embedding shared by the line-space methods: y (B, 2, 50) -> a feature vector (B, E)."""

from __future__ import annotations

from torch import nn

from .model import LENGTH


def y_embedding(features: int = 128) -> nn.Sequential:
    """Two same-length 1-D convolutions over the 50 points, then one linear layer: a y's local
    shape (its oscillations along the line) is what locates the line's end points."""
    return nn.Sequential(
        nn.Conv1d(2, 32, 5, padding=2), nn.ReLU(), nn.Conv1d(32, 64, 5, padding=2), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * LENGTH, features), nn.ReLU(),
    )
