import pytest
import torch
from torch.distributions import Normal, kl_divergence as torch_kl

from sincvae.learn.methods.cvae import RECONSTRUCTION, cvae_loss, kl_divergence

A = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
B = torch.tensor([[1.5, 1.0], [3.0, 6.0]])  # differences 0.5, -1, 0, 2


@pytest.mark.parametrize("name, expected", [
    ("l1_mean", (0.5 + 1 + 0 + 2) / 4),
    ("mse", (0.25 + 1 + 0 + 4) / 4),
    ("l1_sum", 0.5 + 1 + 0 + 2),
])
def test_reconstruction_losses_by_hand(name, expected):
    assert RECONSTRUCTION[name](A, B).item() == pytest.approx(expected)


def test_kl_is_zero_at_the_prior_and_matches_the_closed_form():
    zeros = torch.zeros(3, 5)
    assert kl_divergence(zeros, zeros).item() == 0
    mean = torch.tensor([[0.5, -1.0], [2.0, 0.0]])
    logvar = torch.tensor([[0.0, -1.0], [1.0, 0.3]])
    expected = torch_kl(Normal(mean, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum()
    assert kl_divergence(mean, logvar).item() == pytest.approx(expected.item(), rel=1e-6)
    # by hand for one entry: 0.5 * (mean² + var - 1 - logvar)
    assert kl_divergence(torch.tensor([[2.0]]), torch.tensor([[1.0]])).item() == pytest.approx(
        0.5 * (4 + torch.e - 1 - 1))


def test_total_weights_the_parts():
    x, x_hat = A, B
    y, y_hat = A, A + 0.1
    mean, logvar = torch.ones(2, 3), torch.zeros(2, 3)
    total, parts = cvae_loss(x, x_hat, y, y_hat, mean, logvar, loss="l1_mean", beta=2.0, wx=3.0, wy=5.0)
    assert parts["kl"].item() == pytest.approx(0.5 * 6)
    assert parts["x_loss"].item() == pytest.approx(0.875)
    assert parts["y_loss"].item() == pytest.approx(0.1)
    assert total.item() == pytest.approx(2 * 3 + 3 * 0.875 + 5 * 0.1)
