"""The seed's conditional VAE in Conv1d form.

The seed's Conv2d with a (k, 2) kernel over a (50, 2) image equals a Conv1d
with 2 input channels and kernel k over length 50; the Conv1d form is the
same function and several times faster on a CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LENGTH = 50
HIDDEN_LENGTH = LENGTH - 16 + 1 - 8 + 1  # 28 after kernels 16 and 8
HIDDEN = 64 * HIDDEN_LENGTH  # 1792, the seed's flatten size

VARIANTS = ("fixed", "seed_code")


class Encoder(nn.Module):
    """(B, C, 50) -> mean, log-variance (B, latent_dim); C = 4 for x and y, 2 for x only."""

    def __init__(self, in_channels: int, latent_dim: int):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(in_channels, 32, 16), nn.ReLU(), nn.Conv1d(32, 64, 8), nn.ReLU(), nn.Flatten()
        )
        self.mean = nn.Linear(HIDDEN, latent_dim)
        self.logvar = nn.Linear(HIDDEN, latent_dim)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.conv(inputs)
        return self.mean(h), self.logvar(h)


class Deconv(nn.ConvTranspose1d):
    """A stride-1, unpadded ConvTranspose1d whose form under CPU bf16 autocast is chosen for speed.

    oneDNN's bf16 transposed convolutions ran slower than fp32 on this project's CPU (one thread,
    batch 500, forward and backward): 64→32 channels 13.1 ms against 8.6 ms as the equivalent
    convolution over the padded input with the flipped kernel (`bf16="conv"`), and 32→2
    channels 7.2 ms against 3.2 ms in fp32 (`bf16="fp32"`: the layer runs outside autocast).
    Same parameters and function either way; other precisions and devices use the plain layer.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bf16: str):
        super().__init__(in_channels, out_channels, kernel_size)
        self.bf16 = bf16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or not torch.is_autocast_enabled("cpu"):
            return super().forward(x)
        if self.bf16 == "fp32":
            with torch.autocast("cpu", enabled=False):
                return super().forward(x.float())
        pad = self.kernel_size[0] - 1
        return F.conv1d(F.pad(x, (pad, pad)), self.weight.flip(-1).transpose(0, 1).contiguous(), self.bias)


class Fp32Linear(nn.Linear):
    """A Linear layer that runs in fp32 under autocast: an output head whose values must keep
    more than bf16's 8 bits (a line's end points: 0.004 apart in bf16, a phase error of up to
    0.25 rad at data_2's frequency 63). Same parameters as nn.Linear."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x.float())


class Decoder(nn.Module):
    """z (B, latent_dim), y (B, 2, 50) -> x̂ (B, 2, 50), non-negative (final ReLU as in the seed)."""

    def __init__(self, latent_dim: int):
        super().__init__()
        self.expand = nn.Sequential(nn.Linear(latent_dim + 2 * LENGTH, HIDDEN), nn.ReLU())
        # No activation between the two transposed convolutions, as in the seed.
        self.deconv = nn.Sequential(Deconv(64, 32, 8, bf16="conv"), Deconv(32, 2, 16, bf16="fp32"), nn.ReLU())

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # y.flatten(1) orders values channel by channel instead of the seed's point-by-point
        # interleaving: a fixed permutation of the Linear layer's inputs, so the same function class.
        h = self.expand(torch.cat([z, y.flatten(1)], 1))
        return self.deconv(h.view(-1, 64, HIDDEN_LENGTH))


class CVAE(nn.Module):
    """variant "fixed": encoder sees x and y, He initialisation (the README's intent);
    variant "seed_code": encoder sees x only, PyTorch default initialisation (the seed's code)."""

    def __init__(self, latent_dim: int, variant: str = "fixed"):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.latent_dim = latent_dim
        self.variant = variant
        self.encoder = Encoder(4 if variant == "fixed" else 2, latent_dim)
        self.decoder = Decoder(latent_dim)
        if variant == "fixed":
            # The Gaussian heads keep PyTorch's default: they feed no ReLU, and He-scaled
            # log-variances (order ±10) blew up the noise and killed the output ReLU in our runs.
            self.encoder.conv.apply(he_init)
            self.decoder.apply(he_init)

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = torch.cat([x, y], 1) if self.variant == "fixed" else x
        return self.encoder(inputs)

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dim), y (B, 2, 50) -> x̂ (B, 2, 50)."""
        return self.decoder(z, y)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction pass for training: x̂, mean, log-variance."""
        mean, logvar = self.encode(x, y)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        return self.decoder(z, y), mean, logvar

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """y (B, 2, 50) -> K lines per y from the prior z ~ N(0, I): (B, K, 2, 50)."""
        batch = y.shape[0]
        z = torch.randn(batch * samples, self.latent_dim, generator=generator, device=y.device)
        y_rep = y.repeat_interleave(samples, 0)
        return self.decoder(z, y_rep).view(batch, samples, 2, LENGTH)


def he_init(module: nn.Module) -> None:
    """Kaiming normal with the true fan-in, zero bias."""
    if isinstance(module, (nn.Conv1d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    elif isinstance(module, nn.ConvTranspose1d):
        # torch reads a transposed weight (in, out, k) backwards: its "fan_out" is the fan-in here.
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    else:
        return
    nn.init.zeros_(module.bias)
