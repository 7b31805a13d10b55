"""The original study's conditional VAE in Conv1d form, and its loss: beta·KL + wx·L(x, x̂) + wy·L(y, f(x̂)).

The original study's Conv2d with a (k, 2) kernel over a (50, 2) image equals a Conv1d
with 2 input channels and kernel k over length 50; the Conv1d form is the
same function with fewer, larger kernels on a CPU.
"""

from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import nn

from sincvae.problem.lines import POINTS

HIDDEN_LENGTH = POINTS - 16 + 1 - 8 + 1  # 28 after kernels 16 and 8
HIDDEN = 64 * HIDDEN_LENGTH  # 1792, the original study's flatten size

VARIANTS = ("fixed", "original_code")


RECONSTRUCTION = {
    "l1_mean": lambda a, b: F.l1_loss(a, b, reduction="mean"),
    "mse": lambda a, b: F.mse_loss(a, b, reduction="mean"),
    "l1_sum": lambda a, b: F.l1_loss(a, b, reduction="sum"),
}


def kl_divergence(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)), summed over batch and latent dims as in the original study."""
    return -0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp())


def cvae_loss(x, x_hat, y, y_hat, mean, logvar, *, loss: str, beta: float, wx: float, wy: float):
    """Total loss and its parts; y_hat = f(x̂), detached by the caller for the original_code variant."""
    reconstruction = RECONSTRUCTION[loss]
    kl = kl_divergence(mean, logvar)
    x_loss = reconstruction(x_hat, x)
    y_loss = reconstruction(y_hat, y)
    total = beta * kl + wx * x_loss + wy * y_loss
    return total, {"kl": kl, "x_loss": x_loss, "y_loss": y_loss}


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


DECONV_KERNELS = (8, 16)
TAIL_KERNEL = sum(DECONV_KERNELS) - 1  # 23: two stride-1 transposed convolutions make one
DECONV_LENGTH = HIDDEN_LENGTH + DECONV_KERNELS[0] - 1  # 35, between the two


def _tail_positions() -> torch.Tensor:
    """(28, 50): the composed kernel's tap from input position i to output position j (j - i),
    TAIL_KERNEL (a zero tap) where the kernel does not reach."""
    offset = torch.arange(POINTS)[None, :] - torch.arange(HIDDEN_LENGTH)[:, None]
    return torch.where((offset >= 0) & (offset < TAIL_KERNEL), offset, TAIL_KERNEL)


class Decoder(nn.Module):
    """z (B, latent_dim), y (B, 2, 50) -> x̂ (B, 2, 50), non-negative (final ReLU as in the original study).

    The two transposed convolutions have no activation between them (as in the original study),
    so together they are one linear map of the 64 × 28 hidden values to the 2 × 50 outputs.
    `composed` (the default) computes it as one fp32 matrix product whose matrix is built from
    both layers' weights and biases at each call: the same function of the same parameters, with
    the same gradients up to rounding. It is faster than the two layers (oneDNN's bf16
    transposed convolutions are slower than fp32 on CPUs) and keeps the line off bf16's 8-bit
    grid. `composed=False` runs the two layers, as the reference epoch (sincvae.budget) does.
    """

    def __init__(self, latent_dim: int, composed: bool = True):
        super().__init__()
        self.expand = nn.Sequential(nn.Linear(latent_dim + 2 * POINTS, HIDDEN), nn.ReLU())
        first, second = DECONV_KERNELS
        self.deconv = nn.Sequential(nn.ConvTranspose1d(64, 32, first), nn.ConvTranspose1d(32, 2, second), nn.ReLU())
        self.composed = composed
        self.register_buffer("tail_positions", _tail_positions(), persistent=False)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # y.flatten(1) orders values channel by channel instead of the original study's point-by-point
        # interleaving: a fixed permutation of the Linear layer's inputs, so the same function class.
        h = self.expand(torch.cat([z, y.flatten(1)], 1))
        if not self.composed:
            return self.deconv(h.view(-1, 64, HIDDEN_LENGTH))
        # fp32: the lines feed f, whose phases need more than bf16's 8 bits
        with torch.autocast(h.device.type, enabled=False):
            matrix, bias = self.tail()
            return F.relu(torch.addmm(bias, h.float(), matrix)).view(-1, 2, POINTS)

    def tail(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The two transposed convolutions as one affine map: matrix (64·28, 2·50), bias (2·50)."""
        first, second = self.deconv[0], self.deconv[1]
        kernel = F.conv_transpose1d(first.weight, second.weight)  # (64, 2, 23): the two kernels convolved
        # the first layer's bias, constant over its 35 outputs, through the second layer
        bias = F.conv_transpose1d(first.bias[None, :, None].expand(1, -1, DECONV_LENGTH), second.weight, second.bias)
        taps = F.pad(kernel, (0, 1))[:, :, self.tail_positions]  # (64, 2, 28, 50)
        return taps.transpose(1, 2).reshape(HIDDEN, 2 * POINTS), bias.flatten()


class CVAE(nn.Module):
    """variant "fixed": encoder sees x and y, He initialisation (the README's intent);
    variant "original_code": encoder sees x only, PyTorch default initialisation (the original study's code).
    composed: the decoder's two transposed convolutions as one matrix product (Decoder)."""

    def __init__(self, settings, context=None, composed: bool = True):
        super().__init__()
        latent_dim, variant = settings.latent_dim, settings.variant
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.settings = settings
        self.fmap = context.fmap if context else None  # the loss's f; generation needs none
        self.latent_dim = latent_dim
        self.variant = variant
        self.encoder = Encoder(4 if variant == "fixed" else 2, latent_dim)
        self.decoder = Decoder(latent_dim, composed)
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

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """The original study's loss of a reconstruction pass, in fp32 (f's phases need more than bf16)."""
        x_hat, mean, logvar = (t.float() for t in self(x, y))
        y_hat = self.fmap(x_hat)
        if self.variant == "original_code":
            y_hat = y_hat.detach()  # the original study computed y_loss in NumPy: no gradient
        s = self.settings
        return cvae_loss(x, x_hat, y, y_hat, mean, logvar, loss=s.loss, beta=s.beta, wx=s.wx, wy=s.wy)

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """y (B, 2, 50) -> K lines per y from the prior z ~ N(0, I): (B, K, 2, 50)."""
        batch = y.shape[0]
        z = torch.randn(batch * samples, self.latent_dim, generator=generator, device=y.device)
        y_rep = y.repeat_interleave(samples, 0)
        return self.decoder(z, y_rep).view(batch, samples, 2, POINTS)


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
