"""Methods beyond the CVAE: nearest neighbours, prior lines, the conditional flow, and refinement."""

import numpy as np
import pytest
import torch

from conftest import ROOT
from sincvae.exact import solve_lines
from sincvae.flow import LineFlow, ends_of
from sincvae.lines import DOMAIN, POINTS, fit_lines, sample_lines
from sincvae.methods import NearestLines, PriorLines, build_model, load_sampler
from sincvae.metrics import line_distances
from sincvae.refine import refine_candidates
from sincvae.train import TrainSettings, fit


def lines(n, seed=0):
    return torch.from_numpy(sample_lines(n, np.random.default_rng(seed)).astype(np.float32))


def test_nearest_returns_the_training_lines_of_the_nearest_y_nearest_first(data_1):
    x = lines(300)
    y = data_1(x)
    sampler = NearestLines(x, y)
    queries = y[[7, 42]] + 1e-4  # just off two training rows
    found = sampler.generate(queries, 3)
    assert found.shape == (2, 3, 2, POINTS)
    assert torch.equal(found[0, 0], x[7]) and torch.equal(found[1, 0], x[42])
    distances = [(data_1(found[0, k]) - queries[0]).norm() for k in range(3)]
    assert distances == sorted(distances)


def test_prior_lines_follow_the_data_generator_and_repeat_with_the_seed():
    y = torch.zeros(500, 2, POINTS)
    drawn = PriorLines().generate(y, 4, torch.Generator().manual_seed(3))
    again = PriorLines().generate(y, 4, torch.Generator().manual_seed(3))
    assert torch.equal(drawn, again) and drawn.shape == (500, 4, 2, POINTS)
    x = drawn.double().numpy()
    lo, hi = DOMAIN
    assert ((x >= lo - 1e-6) & (x <= hi + 1e-6)).all()
    slope, fitted = fit_lines(x)
    assert (slope[..., 0] <= 0).all() and (slope[..., 1] >= 0).all() and np.abs(x - fitted).max() < 1e-6
    # the generator's marginals: x0 end uniform on the box, mean 0.55; x0 start above it, mean 0.775
    assert abs(x[:, :, 0, -1].mean() - 0.55) < 0.02 and abs(x[:, :, 0, 0].mean() - 0.775) < 0.02


def test_refinement_moves_perturbed_solutions_onto_the_exact_ones_and_keeps_converged_first(data_2):
    truth = sample_lines(6, np.random.default_rng(1))  # float64: exactly straight
    y = data_2(truth)
    rng = np.random.default_rng(0)
    # 3 candidates per y: far off (will not converge), close to the truth, close again
    far = np.broadcast_to(np.array([[0.9], [0.15]]), truth.shape) + 0 * truth
    candidates = np.stack([far, truth + rng.normal(0, 1e-3, truth.shape), truth + rng.normal(0, 1e-3, truth.shape)], 1)
    kept, converged = refine_candidates(data_2, candidates, y, samples=2, steps=30, converged=1e-6)
    assert kept.shape == (6, 2, 2, POINTS)
    assert np.abs(data_2(kept) - y[:, None]).max() < 1e-6
    assert np.abs(kept - truth[:, None]).max() < 1e-5
    assert (converged >= 2 / 3).all()


def test_refined_prior_lines_find_data_1_solutions(data_1):
    """Multi-start least squares: every kept line of a converged row is one of the exact solutions."""
    truth = lines(5, seed=2)
    y = data_1(truth).double().numpy()
    candidates = PriorLines().generate(torch.from_numpy(y), 40, torch.Generator().manual_seed(0)).double().numpy()
    kept, converged = refine_candidates(data_1, candidates, y, samples=10, steps=30, converged=1e-6)
    for row in range(5):
        if converged[row] >= 0.25:  # at least the 10 kept lines converged
            solutions = solve_lines(data_1, y[row])
            assert (line_distances(kept[row], solutions).min(1) < 1e-4).all()
    assert converged.mean() > 0.25


def test_flow_learns_the_line_end_points_given_y(data_1):
    """A few epochs on data_1 raise the validation likelihood and put samples near the truth."""
    train, val = lines(4000, seed=3), lines(200, seed=4)
    settings = TrainSettings(method="flow", lr=1e-3, batch_size=200, epochs=4, transforms=3, hidden=64)
    model, history = fit(settings, data_1, (train, data_1(train)), (val, data_1(val)), torch.device("cpu"))
    assert history[-1]["val_nll"] < history[0]["val_nll"] - 1
    samples = model.generate(data_1(val), 8, torch.Generator().manual_seed(0))
    assert samples.shape == (200, 8, 2, POINTS)
    residual = (data_1(samples) - data_1(val)[:, None]).abs().mean()
    untrained = build_model(settings).generate(data_1(val), 8, torch.Generator().manual_seed(0))
    assert residual < 0.5 * (data_1(untrained) - data_1(val)[:, None]).abs().mean()


def test_flow_sampling_repeats_with_the_generator_and_its_lines_are_straight(data_1):
    torch.manual_seed(0)
    flow = LineFlow(transforms=2, hidden=32)
    y = data_1(lines(5))
    a = flow.generate(y, 3, torch.Generator().manual_seed(1))
    assert torch.equal(a, flow.generate(y, 3, torch.Generator().manual_seed(1)))
    assert not torch.equal(a, flow.generate(y, 3, torch.Generator().manual_seed(2)))
    assert torch.allclose(ends_of(lines(1))[0], torch.cat([lines(1)[0, :, 0], lines(1)[0, :, -1]]))
    _, fitted = fit_lines(a.double().numpy())
    assert np.abs(a.double().numpy() - fitted).max() < 1e-5


def test_load_sampler_restores_a_trained_flow(tmp_path, data_1):
    settings = TrainSettings(method="flow", lr=1e-3, batch_size=100, epochs=1, transforms=2, hidden=32)
    model = build_model(settings)
    torch.save(model.state_dict(), tmp_path / "model.pt")
    loaded = load_sampler(settings, tmp_path / "model.pt", None, torch.device("cpu"))
    y = data_1(lines(4))
    assert torch.equal(model.generate(y, 2, torch.Generator().manual_seed(0)),
                       loaded.generate(y, 2, torch.Generator().manual_seed(0)))


def test_training_free_methods_have_no_model_to_build():
    with pytest.raises(ValueError, match="method 'prior' has no training"):
        build_model(TrainSettings(method="prior", lr=1e-3, batch_size=1, epochs=1))


def test_refinement_keeps_one_line_per_distinct_solution_before_repeats(data_2):
    rng = np.random.default_rng(5)
    truth = sample_lines(40, rng)
    y = data_2(truth)
    row = next(r for r in range(40) if len(solve_lines(data_2, y[r])) >= 2)
    first, second = solve_lines(data_2, y[row])[:2]
    near = [line + rng.normal(0, 1e-4, line.shape) for line in (first, first, first, second)]
    kept, _ = refine_candidates(data_2, np.stack(near)[None], y[row][None], samples=2, steps=30, converged=1e-6)
    assert line_distances(kept[0], np.stack([first, second])).argmin(1).tolist() == [0, 1]


def test_line_cvae_learns_and_uses_its_latent(data_1):
    """A few epochs on data_1: the loss falls, generated lines beat an untrained model, the latent
    carries information (KL above zero), and every sample is a straight line."""
    train, val = lines(4000, seed=6), lines(200, seed=7)
    settings = TrainSettings(method="line_cvae", lr=1e-3, batch_size=200, epochs=4, beta=1.0, wx=200.0, wy=1.0,
                             latent_dim=4, free_bits=0.5, hidden=64)
    model, history = fit(settings, data_1, (train, data_1(train)), (val, data_1(val)), torch.device("cpu"))
    assert history[-1]["val_loss"] < 0.85 * history[0]["val_loss"]
    assert history[-1]["val_kl"] > 0.1
    samples = model.generate(data_1(val), 8, torch.Generator().manual_seed(0))
    _, fitted = fit_lines(samples.double().numpy())
    assert np.abs(samples.double().numpy() - fitted).max() < 1e-5
    untrained = build_model(settings).generate(data_1(val), 8, torch.Generator().manual_seed(0))
    residual = (data_1(samples) - data_1(val)[:, None]).abs().mean()
    assert residual < 0.5 * (data_1(untrained) - data_1(val)[:, None]).abs().mean()


@pytest.mark.parametrize("method", ["cvae", "line_cvae", "flow"])
def test_bf16_generation_keeps_fp32_lines(data_1, method):
    """Under bf16 autocast (generation in the training precision) the layers run in bf16 but the
    lines come out in fp32, finer than bf16's 8 bits: a generated line can still be a solution."""
    settings = TrainSettings.from_dict({"method": method, "loss": "l1_mean", "beta": 1.0, "wx": 1.0, "wy": 1.0,
                                        "latent_dim": 4, "lr": 1e-3, "batch_size": 50, "epochs": 1,
                                        "hidden": 32, "transforms": 2})
    torch.manual_seed(0)
    model = build_model(settings).eval()
    y = data_1(lines(4))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        generated = model.generate(y, 8, torch.Generator().manual_seed(0))
    assert generated.dtype == torch.float32
    values = generated[generated != 0]  # an untrained CVAE's output ReLU zeroes many points
    assert len(values) > 100 and (values != values.bfloat16().float()).float().mean() > 0.9
    fp32 = model.generate(y, 8, torch.Generator().manual_seed(0))
    assert (generated - fp32).abs().max() < 0.2  # the same model, layers rounded to bf16
