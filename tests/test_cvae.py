import pytest
import torch
from torch import nn

from sincvae.learn.methods.cvae import CVAE, HIDDEN, Decoder, he_init
from sincvae.learn.registry import settings_class

Settings = settings_class("cvae")


def cvae(latent_dim: int, variant: str = "fixed") -> CVAE:
    return CVAE(Settings("l1_mean", 1.0, 0.5, 0.5, latent_dim=latent_dim, variant=variant))


@pytest.mark.parametrize("latent_dim", [1, 60, 110])
@pytest.mark.parametrize("variant", ["fixed", "original_code"])
def test_shapes(latent_dim, variant):
    model = cvae(latent_dim, variant)
    x, y = torch.rand(7, 2, 50), torch.rand(7, 2, 50)
    x_hat, mean, logvar = model(x, y)
    assert x_hat.shape == (7, 2, 50)
    assert mean.shape == logvar.shape == (7, latent_dim)
    assert (x_hat >= 0).all()  # the original study's final ReLU
    assert model.generate(y, 4).shape == (7, 4, 2, 50)


def test_encoder_input_differs_by_variant():
    assert cvae(8, "fixed").encoder.conv[0].in_channels == 4
    assert cvae(8, "original_code").encoder.conv[0].in_channels == 2
    with pytest.raises(ValueError, match="variant"):
        cvae(8, "other")


def test_seed_flatten_size():
    assert HIDDEN == 64 * 28 == 1792


def test_conv1d_form_equals_the_seeds_conv2d():
    torch.manual_seed(0)
    conv2d = nn.Conv2d(1, 32, (16, 2))
    conv1d = nn.Conv1d(2, 32, 16)
    with torch.no_grad():  # Conv2d weight (32, 1, 16, 2) -> Conv1d weight (32, 2, 16)
        conv1d.weight.copy_(conv2d.weight[:, 0].transpose(1, 2))
        conv1d.bias.copy_(conv2d.bias)
    image = torch.rand(5, 1, 50, 2)  # the original study's layout
    expected = conv2d(image)  # (5, 32, 35, 1)
    got = conv1d(image[:, 0].transpose(1, 2))  # (5, 32, 35)
    torch.testing.assert_close(got, expected[..., 0])


def test_he_initialisation_only_for_the_fixed_variant():
    torch.manual_seed(0)
    fixed = cvae(100, "fixed").decoder.expand[0]
    assert torch.count_nonzero(fixed.bias) == 0
    # kaiming normal: std = sqrt(2 / fan_in)
    assert fixed.weight.std().item() == pytest.approx((2 / fixed.in_features) ** 0.5, rel=0.05)
    last = cvae(100, "fixed").decoder.deconv[1]  # ConvTranspose1d(32 -> 2, 16): fan-in 32 · 16
    assert last.weight.std().item() == pytest.approx((2 / (32 * 16)) ** 0.5, rel=0.1)
    head = cvae(100, "fixed").encoder.logvar
    assert torch.count_nonzero(head.bias) > 0  # the heads keep PyTorch's default
    default = cvae(100, "original_code").decoder.expand[0]
    assert torch.count_nonzero(default.bias) > 0


def test_generation_is_reproducible_with_a_generator():
    model = cvae(16).eval()
    y = torch.rand(3, 2, 50)
    a = model.generate(y, 5, torch.Generator().manual_seed(1))
    b = model.generate(y, 5, torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b)
    assert not torch.equal(a[:, 0], a[:, 1])  # samples differ


def decoders(latent_dim: int = 12) -> tuple[Decoder, Decoder]:
    """A composed decoder and one that runs the two layers, with the same (He) weights."""
    torch.manual_seed(0)
    composed = Decoder(latent_dim)
    composed.apply(he_init)
    nn.init.normal_(composed.deconv[0].bias)  # nonzero, so the first layer's bias is tested too
    layers = Decoder(latent_dim, composed=False)
    layers.load_state_dict(composed.state_dict())
    return composed, layers


def test_the_composed_decoder_is_the_two_transposed_convolutions():
    """Same lines and same gradients (fp32 rounding apart) as running the two layers."""
    composed, layers = decoders()
    z, y = torch.randn(9, 12), torch.rand(9, 2, 50)
    expected, got = layers(z, y), composed(z, y)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    assert (got > 0).any() and (got == 0).any()  # the final ReLU, both sides of it
    target = torch.rand(9, 2, 50)
    for model, out in ((layers, expected), (composed, got)):
        ((out - target) ** 2).sum().backward()
    for (name, a), b in zip(layers.named_parameters(), composed.parameters()):
        torch.testing.assert_close(b.grad, a.grad, atol=1e-4, rtol=1e-4, msg=name)


def test_the_composed_decoder_draws_lines_in_fp32_under_bf16_autocast():
    """The lines feed f, whose phases need more than bf16: fp32 out, no coarser than the
    two layers in fp32 up to the bf16 rounding of the hidden values."""
    composed, layers = decoders()
    z, y = torch.randn(9, 12), torch.rand(9, 2, 50)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = composed(z, y)
    assert got.dtype == torch.float32
    drawn = got[got > 0]
    assert (drawn != drawn.bfloat16().float()).float().mean() > 0.9  # not rounded to bf16's 8 bits
    torch.testing.assert_close(got, layers(z, y), atol=0.05, rtol=0.02)
