import pytest
import torch
from torch import nn

from sincvae.methods.cvae import CVAE, HIDDEN, Deconv, Settings


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


@pytest.mark.parametrize("bf16", ["conv", "fp32"])
def test_deconv_forms_compute_the_transposed_convolution(bf16):
    """Under CPU bf16 autocast a Deconv runs as a convolution or in fp32: the same map as the
    plain ConvTranspose1d, to bf16's precision (fp32 form: exactly)."""
    torch.manual_seed(0)
    layer = Deconv(8, 3, 5, bf16=bf16)
    x = torch.randn(4, 8, 12)
    plain = torch.nn.functional.conv_transpose1d(x, layer.weight, layer.bias)
    assert torch.equal(layer(x), plain)  # no autocast: the plain layer
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fast = layer(x)
    assert fast.shape == plain.shape == (4, 3, 16)
    if bf16 == "fp32":
        assert fast.dtype == torch.float32 and torch.equal(fast, plain)
    else:
        assert fast.dtype == torch.bfloat16 and torch.allclose(fast.float(), plain, atol=0.05, rtol=0.02)
