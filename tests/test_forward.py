import math

import numpy as np
import pytest
import torch

from sincvae.problem.forward import ForwardMap, Term


def test_data_1_matches_the_equations_at_a_point(data_1):
    x = np.array([[[0.3], [0.7]]])  # (1, 2, 1): x0 = 0.3, x1 = 0.7
    y = data_1(x)
    assert y.shape == (1, 2, 1)
    assert y[0, 0, 0] == pytest.approx(math.sin(5 * 0.3 + 3 * 0.7))
    assert y[0, 1, 0] == pytest.approx(math.cos(4 * 0.3 + 8 * 0.7))


def test_data_2_matches_the_equations_at_a_point(data_2):
    y = data_2(np.array([[[0.9], [0.2]]]))
    assert y[0, 0, 0] == pytest.approx(math.cos(49 * 0.9 + 63 * 0.2))
    assert y[0, 1, 0] == pytest.approx(math.cos(4 * 0.9 + 8 * 0.2))


def test_numpy_and_torch_agree_and_torch_is_differentiable(data_2):
    x = np.random.default_rng(0).uniform(0.1, 1, (4, 2, 50))
    xt = torch.tensor(x, requires_grad=True)
    yt = data_2(xt)
    np.testing.assert_allclose(yt.detach().numpy(), data_2(x), rtol=1e-12)
    yt.sum().backward()
    assert xt.grad is not None and xt.grad.abs().sum() > 0


def test_config_rejects_unknown_function_and_wrong_term_count():
    with pytest.raises(ValueError, match="tan"):
        Term("tan", 1, 1)
    with pytest.raises(ValueError, match="exactly 2 terms"):
        ForwardMap.from_config({"terms": [{"fn": "sin", "a": 1, "b": 1}]})
