"""Methods beyond the CVAE: nearest neighbours, prior lines, the conditional flow, and refinement."""

import math

import numpy as np
import pytest
import torch

from conftest import ROOT
from sincvae.problem.data import SolutionSets
from sincvae.problem.exact import solutions_frame, solve_lines, solve_split
from sincvae.learn.methods import nearest
from sincvae.learn.methods.flow import LineFlow
from sincvae.learn.methods.layers import ends_of
from sincvae.problem.lines import DOMAIN, POINTS, fit_lines, lines_from_ends, sample_lines
from sincvae.score.distances import line_distances
from sincvae.learn.methods.prior import PriorLines
from sincvae.learn.refine import refine_candidates
from sincvae.learn.methods.contract import Setting
from sincvae.learn.registry import Context, build, load_sampler, settings_class
from sincvae.learn.registry import settings as method_settings
from sincvae.learn.train import TrainSettings, fit

FlowSettings = settings_class("flow")


def fresh_model(settings: TrainSettings, fmap):
    return build(settings.method, settings.model, Context(fmap))


def lines(n, seed=0):
    return torch.from_numpy(sample_lines(n, np.random.default_rng(seed)).astype(np.float32))


def test_nearest_returns_the_training_lines_of_the_nearest_y_nearest_first(data_1):
    x = lines(300)
    y = data_1(x)
    sampler = nearest.NearestLines(settings_class("nearest")(), Context(data_1, train=(x, y)))
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
    settings = TrainSettings.from_dict({"method": "flow", "lr": 1e-3, "batch_size": 200, "epochs": 4,
                                        "transforms": 3, "hidden": 64})
    model, history = fit(settings, data_1, (train, data_1(train)), (val, data_1(val)), torch.device("cpu"))
    assert history[-1]["val_nll"] < history[0]["val_nll"] - 1
    samples = model.generate(data_1(val), 8, torch.Generator().manual_seed(0))
    assert samples.shape == (200, 8, 2, POINTS)
    residual = (data_1(samples) - data_1(val)[:, None]).abs().mean()
    untrained = fresh_model(settings, data_1).generate(data_1(val), 8, torch.Generator().manual_seed(0))
    assert residual < 0.5 * (data_1(untrained) - data_1(val)[:, None]).abs().mean()


def test_flow_sampling_repeats_with_the_generator_and_its_lines_are_straight(data_1):
    torch.manual_seed(0)
    flow = LineFlow(FlowSettings(transforms=2, hidden=32))
    y = data_1(lines(5))
    a = flow.generate(y, 3, torch.Generator().manual_seed(1))
    assert torch.equal(a, flow.generate(y, 3, torch.Generator().manual_seed(1)))
    assert not torch.equal(a, flow.generate(y, 3, torch.Generator().manual_seed(2)))
    assert torch.allclose(ends_of(lines(1))[0], torch.cat([lines(1)[0, :, 0], lines(1)[0, :, -1]]))
    _, fitted = fit_lines(a.double().numpy())
    assert np.abs(a.double().numpy() - fitted).max() < 1e-5


def test_load_sampler_restores_a_trained_flow(tmp_path, data_1):
    case = {"method": "flow", "lr": 1e-3, "batch_size": 100, "epochs": 1, "transforms": 2, "hidden": 32}
    model = fresh_model(TrainSettings.from_dict(case), data_1)
    torch.save(model.state_dict(), tmp_path / "model.pt")
    loaded = load_sampler(case, tmp_path / "model.pt", Context(data_1), torch.device("cpu"))
    y = data_1(lines(4))
    assert torch.equal(model.generate(y, 2, torch.Generator().manual_seed(0)),
                       loaded.generate(y, 2, torch.Generator().manual_seed(0)))


def test_an_unknown_method_is_named_with_the_known_ones():
    with pytest.raises(KeyError, match="unknown method 'vae'; methods are cvae, line_cvae, flow, "):
        load_sampler({"method": "vae"}, None, None, torch.device("cpu"))


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
    settings = TrainSettings.from_dict({"method": "line_cvae", "lr": 1e-3, "batch_size": 200, "epochs": 4,
                                        "beta": 1.0, "wx": 200.0, "wy": 1.0, "latent_dim": 4, "free_bits": 0.5,
                                        "hidden": 64})
    model, history = fit(settings, data_1, (train, data_1(train)), (val, data_1(val)), torch.device("cpu"))
    assert history[-1]["val_loss"] < 0.85 * history[0]["val_loss"]
    assert history[-1]["val_kl"] > 0.1
    samples = model.generate(data_1(val), 8, torch.Generator().manual_seed(0))
    _, fitted = fit_lines(samples.double().numpy())
    assert np.abs(samples.double().numpy() - fitted).max() < 1e-5
    untrained = fresh_model(settings, data_1).generate(data_1(val), 8, torch.Generator().manual_seed(0))
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
    model = fresh_model(settings, data_1).eval()
    y = data_1(lines(4))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        generated = model.generate(y, 8, torch.Generator().manual_seed(0))
    assert generated.dtype == torch.float32
    values = generated[generated != 0]  # an untrained CVAE's output ReLU zeroes many points
    assert len(values) > 100 and (values != values.bfloat16().float()).float().mean() > 0.9
    fp32 = model.generate(y, 8, torch.Generator().manual_seed(0))
    assert (generated - fp32).abs().max() < 0.2  # the same model, layers rounded to bf16


TOY_MODULE = '''
import torch
from torch import nn

from sincvae.problem.lines import lines_from_ends


class Toy(nn.Module):
    """One straight line per y from a small MLP on y, trained on |f(x̂) − y|."""

    def __init__(self, settings, context):
        super().__init__()
        self.fmap = context.fmap
        self.net = nn.Sequential(nn.Linear(100, settings.width), nn.Tanh(), nn.Linear(settings.width, 4))

    def lines(self, y):
        theta = 0.55 + 0.4 * torch.tanh(self.net(y.flatten(1)))
        return lines_from_ends(theta[:, :2], theta[:, 2:], y.shape[-1])

    def loss(self, x, y):
        y_loss = (self.fmap(self.lines(y).float()) - y).abs().mean()
        return y_loss, {"y_loss": y_loss}

    @torch.no_grad()
    def generate(self, y, samples, generator=None):
        return self.lines(y)[:, None].expand(-1, samples, -1, -1)
'''


def test_a_new_method_needs_only_its_module_its_registry_line_and_a_config_row(tmp_path, monkeypatch, data_1):
    import yaml

    from sincvae.learn import registry
    from sincvae.plan.cost import Costs
    from sincvae.plan.jobs import job_table
    from sincvae.plan.planning import PlanError, plan
    from sincvae.score.summary import hyperparameters

    (tmp_path / "toy_method.py").write_text(TOY_MODULE)  # its module
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(registry.METHODS, "toy", registry.Method(  # its line, with its setting and its bound
        "toy_method", "Toy", "forward loss", {"width": Setting(int, 8, at_least=2)}))
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["cases"].append({"case": "toy-w16", "method": "toy", "width": 16, "epochs": 3})  # its config row
    case = plan(config).cases["toy-w16"]
    assert case["width"] == 16 and "toy-w16" in plan(config).learned and "width" in hyperparameters()
    # the plan prices it with no costs file touched: at an estimate, and says so
    priced = [job for job in job_table(plan(config), config, Costs.for_machine(ROOT / "config" / "costs", "any"))
              if job["case"] == "toy-w16"]
    assert priced and all(job["estimated"] and job["ref"] > 0 for job in priced)
    config["cases"].append({"case": "toy-bad", "method": "toy", "beta": 1.0})
    with pytest.raises(PlanError, match="beta not a setting of method toy"):
        plan(config)
    config["cases"][-1] = {"case": "toy-narrow", "method": "toy", "width": 1}  # the rule beside the setting
    with pytest.raises(PlanError, match="width = 1 must be at least 2"):
        plan(config)
    train, val = lines(2000, seed=8), lines(100, seed=9)
    settings = TrainSettings.from_dict({**case, "batch_size": 100, "precision": "fp32"})
    model, history = fit(settings, data_1, (train, data_1(train)), (val, data_1(val)), torch.device("cpu"),
                         log=lambda _: None)
    assert history[-1]["val_y_loss"] < history[0]["val_y_loss"]
    torch.save(model.state_dict(), tmp_path / "model.pt")
    sampler = load_sampler(case, tmp_path / "model.pt", Context(data_1), torch.device("cpu"))
    assert sampler.generate(data_1(val), 3).shape == (100, 3, 2, POINTS)


def test_a_new_method_runs_end_to_end_in_a_copy_of_the_workflow(tmp_path):
    """The toy method added to a copy of the workflow in three places (its module, its registry
    line, its config row) and no costs file: the plan prices its jobs at an estimate and says
    so, and Snakemake trains it, draws and scores its lines into its metrics.json."""
    import pandas as pd
    import yaml

    from conftest import QUICK_STUDY, add_to, snakemake_in, workflow_copy

    copy = workflow_copy(tmp_path)
    (copy / "workflow" / "sincvae" / "learn" / "methods" / "toy_method.py").write_text(TOY_MODULE)  # its module
    add_to(copy / "workflow" / "sincvae" / "learn" / "registry.py", "METHODS: dict[str, Method] = {\n",  # its entry
           '    "toy": Method("toy_method", "Toy", "forward loss", dict(width=Setting(int, 8, at_least=2))),\n')
    toy = {"case": "toy-w16", "method": "toy", "width": 16, "epochs": 2, "seeds": 2}
    overlay = tmp_path / "toy.yaml"
    overlay.write_text(yaml.safe_dump({"cases": [*QUICK_STUDY["cases"], toy]}))  # its config row
    ran = snakemake_in(copy, "results/plan.csv", "results/data_1/toy-w16/metrics.json", "--cores", "2",
                       overlays=(overlay,))
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "priced at an estimate" in ran.stderr
    planned = pd.read_csv(copy / "results" / "plan.csv").query("case == 'toy-w16'")
    assert set(planned["rule"]) == {"train", "score"} and planned["estimated"].all() and (planned["ref"] > 0).all()
    metrics = yaml.safe_load((copy / "results" / "data_1" / "toy-w16" / "metrics.json").read_text())
    raw = metrics["stages"]["raw"]
    assert raw["seeds"] == [0, 1] and 0 <= raw["summary"]["scoring_precision"]["mean"] <= 1


def test_posterior_draws_are_exact_solutions_in_proportion_to_their_weights(data_2):
    from sincvae.learn.methods.posterior import PosteriorDraws
    Settings = settings_class("posterior")

    truth = sample_lines(30, np.random.default_rng(11))
    y = torch.from_numpy(data_2(truth))
    sampler = PosteriorDraws(Settings(), Context(data_2, tolerance=1e-6))
    drawn = sampler.generate(y, 400, torch.Generator().manual_seed(0)).numpy()
    assert drawn.shape == (30, 400, 2, POINTS) and np.abs(data_2(drawn) - y.numpy()[:, None]).max() < 1e-6
    row = next(r for r in range(30) if len(solve_lines(data_2, y[r].numpy(), 1e-6)) >= 3)
    solutions = solve_lines(data_2, y[row].numpy(), 1e-6)
    from sincvae.problem.exact import posterior_weights

    share = np.bincount(line_distances(drawn[row], solutions).argmin(1), minlength=len(solutions)) / 400
    assert np.abs(share - posterior_weights(data_2, solutions)).max() < 0.08  # 400 draws: sd ≤ 0.025
    assert torch.equal(sampler.generate(y[:3], 5, torch.Generator().manual_seed(1)),
                       sampler.generate(y[:3], 5, torch.Generator().manual_seed(1)))


def test_the_posterior_weights_of_a_sinusoidal_map_are_its_prior_over_the_solutions(data_1, data_2):
    """The volume factor sqrt(det JᵀJ) is the same for every solution of a y when the terms are
    sines and cosines (methods/bayes.py): the posterior weights are the prior's density at the
    solutions, renormalised, on both maps."""
    for fmap in (data_1, data_2):
        solved = solve_split(fmap, fmap(sample_lines(20, np.random.default_rng(12))), 1e-6)
        for lines_, weights in solved:
            prior = 1 / ((1 - lines_[:, 0, -1]) * (1 - lines_[:, 1, 0]))  # the generator's (exact.posterior_weights)
            assert np.allclose(weights, prior / prior.sum(), rtol=1e-3)  # solved to 1e-6, not exactly
        assert any(np.ptp(w) > 0.05 for _, w in solved)  # solutions of unequal weight


def test_bayes_draws_exact_solutions_at_weights_it_learns_from_the_lines(data_2):
    """A 16-Gaussian prior fitted to 30 epochs of fresh data_2 lines: every line drawn solves y,
    and the weights it gives each y's solutions are 0.069 in total variation from the posterior's
    on average (100 fresh y), an untrained one's 0.40, equal weights' 0.25."""
    from sincvae.problem.exact import posterior_weights

    settings = TrainSettings.from_dict({"method": "bayes", "components": 16, "lr": 1e-2, "batch_size": 500,
                                        "epochs": 30, "schedule": "cosine", "online": True})
    x = torch.from_numpy(sample_lines(10000, np.random.default_rng(0)).astype(np.float32))
    model, _ = fit(settings, data_2, (x, data_2(x)), None, torch.device("cpu"), log=lambda _: None, tolerance=1e-4)
    y = data_2(lines(100, seed=5))
    solutions = [s for s, _ in solve_split(data_2, y.double().numpy(), 1e-4)]
    untrained = build("bayes", method_settings({"method": "bayes", "components": 16}), Context(data_2, 1e-4))
    distance = {name: np.mean([np.abs(m.weights(s).numpy() - posterior_weights(data_2, s)).sum() / 2 for s in solutions])
                for name, m in (("trained", model), ("untrained", untrained))}
    assert distance["trained"] < 0.1 and distance["untrained"] > 0.3, distance
    drawn = model.generate(y[:10], 30, torch.Generator().manual_seed(0)).double()
    assert (data_2(drawn) - y[:10, None].double()).abs().max() < 1e-4


def learns_on_data_1(data_1, case: dict, seeds: tuple[int, int]) -> tuple[list[dict], float]:
    """Train a small case on data_1 (4,000 lines, 8 epochs); check that its samples repeat with
    the generator. Returns its history and its lines' mean residual over an untrained model's."""
    train, val = lines(4000, seed=seeds[0]), lines(200, seed=seeds[1])
    settings = TrainSettings.from_dict({"lr": 2e-3, "batch_size": 200, "epochs": 8, **case})
    model, history = fit(settings, data_1, (train, data_1(train)), (val, data_1(val)), torch.device("cpu"),
                         log=lambda _: None)
    samples = model.generate(data_1(val), 8, torch.Generator().manual_seed(0))
    assert samples.shape == (200, 8, 2, POINTS)
    assert torch.equal(samples, model.generate(data_1(val), 8, torch.Generator().manual_seed(0)))
    untrained = fresh_model(settings, data_1).eval().generate(data_1(val), 8, torch.Generator().manual_seed(0))
    residual = (data_1(samples) - data_1(val)[:, None]).abs().mean()
    return history, float(residual / (data_1(untrained) - data_1(val)[:, None]).abs().mean())


def test_flow_matching_learns_the_line_end_points_given_y(data_1):
    """A few epochs of conditional flow matching on data_1: the regression loss falls and the
    ODE sampler's lines beat an untrained field's."""
    history, ratio = learns_on_data_1(data_1, {"method": "flow_matching", "hidden": 128, "layers": 3, "steps": 8},
                                      (12, 13))
    assert history[-1]["val_fm_loss"] < 0.9 * history[0]["val_fm_loss"] and ratio < 0.8


def test_mixture_density_samples_its_components_by_weight_and_scores_their_density():
    """A mixture that ignores y (zero head weights): two components with weights 1/4 and 3/4.
    At temperature 0 every sample is a component's mean, in proportion to its weight; the loss
    is the mixture's negative log-density, computed here by hand."""
    from sincvae.learn.methods.layers import CENTRE, SCALE
    from sincvae.learn.methods.mdn import MixtureDensity
    Settings = settings_class("mdn")

    model = MixtureDensity(Settings(components=2, hidden=8, layers=1, temperature=0.0, embedding="arccos"))
    means = torch.tensor([[0.8, 0.2, 0.3, 0.9], [0.6, 0.4, 0.5, 0.7]])
    log_scales = torch.tensor([[-3.0] * 4, [-2.0] * 4])
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.cat([torch.log(torch.tensor([[0.25], [0.75]])),
                                         (means - CENTRE) / SCALE, log_scales], 1).flatten())
    y = torch.rand(4000, 2, POINTS) * 2 - 1
    drawn = model.generate(y, 1, torch.Generator().manual_seed(0))[:, 0]
    theta = ends_of(drawn)
    first = (theta - means[0]).abs().amax(1) < 1e-6
    second = (theta - means[1]).abs().amax(1) < 1e-6
    assert (first | second).all() and abs(first.float().mean().item() - 0.25) < 0.03  # sd 0.007
    x = drawn[:2]  # one line of each component
    standard = (ends_of(x) - CENTRE) / SCALE
    density = sum(w * torch.exp(torch.distributions.Normal((m - CENTRE) / SCALE, s.exp()).log_prob(standard).sum(1))
                  for w, m, s in zip((0.25, 0.75), means, log_scales))
    assert model.loss(x, y[:2])[0].item() == pytest.approx(-density.log().mean().item(), rel=1e-5)


def test_mixture_density_learns_the_line_end_points_given_y(data_1):
    """A few epochs on data_1: the negative log-likelihood falls and the mixture's lines beat
    an untrained one's."""
    history, ratio = learns_on_data_1(data_1, {"method": "mdn", "components": 4, "hidden": 64, "schedule": "cosine"},
                                      (14, 15))
    assert history[-1]["val_nll"] < history[0]["val_nll"] - 2 and ratio < 0.6


def test_autoregressive_bins_sample_each_coordinate_by_its_bin_weights_and_score_their_likelihood():
    """A model whose heads ignore their inputs (zero last-layer weights): each end-point
    coordinate in bin a with probability 1/4 and bin b with 3/4. Samples fall in those bins in
    that proportion, and the loss is the bins' negative log-likelihood, computed here by hand."""
    from sincvae.learn.methods.autoregressive import AutoregressiveBins
    Settings = settings_class("autoregressive")

    bins = 32
    model = AutoregressiveBins(Settings(bins=bins, hidden=8, layers=1))
    picked = [(3, 20), (5, 9), (0, 31), (17, 12)]  # per coordinate: (a, b)
    with torch.no_grad():
        for head, (a, b) in zip(model.heads, picked):
            head[-1].weight.zero_()
            head[-1].bias.fill_(-1e4)
            head[-1].bias[a], head[-1].bias[b] = math.log(0.25), math.log(0.75)
    y = torch.rand(4000, 2, POINTS) * 2 - 1
    drawn = model.generate(y, 1, torch.Generator().manual_seed(0))[:, 0]
    lo, hi = DOMAIN
    drawn_bins = ((ends_of(drawn) - lo) / (hi - lo) * bins).floor()
    for j, (a, b) in enumerate(picked):
        assert ((drawn_bins[:, j] == a) | (drawn_bins[:, j] == b)).all()
        assert abs((drawn_bins[:, j] == a).float().mean().item() - 0.25) < 0.03  # sd 0.007
    expected = -sum(math.log(0.25 if drawn_bins[0, j] == a else 0.75) for j, (a, _) in enumerate(picked))
    assert model.loss(drawn[:1], y[:1])[0].item() == pytest.approx(expected, rel=1e-5)


def test_autoregressive_bins_learn_the_line_end_points_given_y(data_1):
    """A few epochs on data_1: the bins' negative log-likelihood falls and the lines beat an
    untrained model's."""
    history, ratio = learns_on_data_1(data_1, {"method": "autoregressive", "bins": 64, "hidden": 64,
                                               "schedule": "cosine"}, (16, 17))
    assert history[-1]["val_nll"] < history[0]["val_nll"] - 2 and ratio < 0.6


def test_a_method_that_breaks_the_contract_is_refused_when_loaded(tmp_path, monkeypatch):
    """A learning method whose model has no loss fails when its module is loaded, naming the
    method and what is missing; a registry entry that names no module, knows something unknown,
    puts a required setting after a default or gives a default its own bound refuses fails when
    it is read."""
    from sincvae.learn import registry

    (tmp_path / "lossless_method.py").write_text(TOY_MODULE.replace("def loss(", "def objective("))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(registry.METHODS, "lossless", registry.Method("lossless_method", "Toy", "forward loss"))
    with pytest.raises(TypeError, match="method 'lossless': its model lossless_method.Toy has no loss"):
        registry.load("lossless")
    monkeypatch.setitem(registry.METHODS, "missing", registry.Method("no_such_method", "Toy", "forward loss"))
    with pytest.raises(ModuleNotFoundError, match="no method module 'no_such_method'"):
        registry.load("missing")
    with pytest.raises(ValueError, match="knows = 'everything' must be one of nothing, forward loss"):
        registry.Method("toy_method", "Toy", "everything")
    with pytest.raises(ValueError, match="required settings must come before those with a default"):
        registry.Method("toy_method", "Toy", "nothing", {"width": Setting(int, 8), "depth": Setting(int)})
    with pytest.raises(ValueError, match="setting default 1 must be at least 2"):
        Setting(int, 1, at_least=2)
    with pytest.raises(ValueError, match="setting default 'wide' must be one of narrow, deep"):
        Setting(("narrow", "deep"), "wide")
    with pytest.raises(TypeError, match="setting kind <class 'str'> is not int, float or a tuple of choices"):
        Setting(str, "x")


def test_phase_branches_solve_each_exact_solution_back_from_its_labels_and_y(data_1, data_2):
    """A line's four branch labels and its y give back the line: the end points solved in the
    labelled half periods, for sine and cosine terms alike; the map's own y, to float32's precision."""
    from sincvae.learn.methods.branches import PhaseBranches
    Settings = settings_class("branches")

    for fmap in (data_1, data_2):
        model = PhaseBranches(Settings(hidden=8, layers=1), Context(fmap))
        x = sample_lines(40, np.random.default_rng(3))
        y = fmap(x)
        for lines, _ in solve_split(fmap, y, 1e-6, known=x):
            own_y = torch.from_numpy(fmap(lines)).float()
            labels = model.labels(torch.from_numpy(lines))
            assert ((labels >= 0) & (labels < torch.tensor(model.classes))).all()
            theta = model.ends(labels, own_y)
            back = lines_from_ends(theta[:, :2], theta[:, 2:], POINTS).numpy()
            assert np.abs(back - lines).max() < 1e-5


def test_phase_branches_trained_on_the_exact_solutions_draw_lines_that_solve_y(data_1):
    """targets: solutions on 2,000 data_1 lines, 40 epochs: well over half the raw lines pass the
    forward test, well more than an untrained model's (admissible lines at random, about half on
    data_1's few branches). Labels as the heads draw them (draw: labels, ends: learned): drawn
    among the solutions, or with ends checked, nearly every line solves y, trained or not."""
    train = sample_lines(2000, np.random.default_rng(21))
    sets = SolutionSets(solutions_frame("train", solve_split(data_1, data_1(train), 1e-5, known=train)))
    x = torch.from_numpy(train.astype(np.float32))
    settings = TrainSettings.from_dict({"method": "branches", "hidden": 64, "lr": 3e-3, "batch_size": 200,
                                        "epochs": 40, "schedule": "cosine", "targets": "solutions", "draw": "labels",
                                        "ends": "learned"})
    model, history = fit(settings, data_1, (x, data_1(x)), None, torch.device("cpu"), log=lambda _: None,
                         solutions=sets)
    y = data_1(lines(200, seed=22))
    solves = {}
    for name, sampler in (("trained", model.eval()), ("untrained", fresh_model(settings, data_1).eval())):
        drawn = sampler.generate(y, 8, torch.Generator().manual_seed(0))
        solves[name] = float(((data_1(drawn) - y[:, None]).abs().amax((2, 3)) < 1e-4).float().mean())
    assert history[-1]["train_nll"] < history[0]["train_nll"] - 1
    assert solves["trained"] > 0.6 and solves["trained"] > solves["untrained"] + 0.15, solves


def test_phase_branches_draw_only_lines_inside_the_box_and_directed(data_1, data_2):
    """Sampling label by label draws each label among the classes that keep the line admissible:
    even an untrained model's lines all lie in the box with x0 falling and x1 rising (the scoring's own
    test of a line's shape, metrics.forward_valid's), on both maps; the labels the heads would
    otherwise draw put most of them outside."""
    from sincvae.learn.methods.branches import PhaseBranches
    Settings = settings_class("branches")
    from sincvae.score.metrics import LINE_SLACK

    for fmap in (data_1, data_2):
        model = PhaseBranches(Settings(hidden=32, draw="labels"), Context(fmap)).eval()
        y = fmap(lines(100, seed=5))
        drawn = model.generate(y, 16, torch.Generator().manual_seed(0)).double()
        starts, ends = drawn[..., 0], drawn[..., -1]
        assert ((drawn >= 0.1 - LINE_SLACK) & (drawn <= 1 + LINE_SLACK)).all()
        assert ((ends[..., 0] <= starts[..., 0] + LINE_SLACK) & (ends[..., 1] >= starts[..., 1] - LINE_SLACK)).all()
        # labels drawn over all classes instead: most such lines leave the box or turn back
        labels = torch.stack([torch.randint(0, c, (len(y),), generator=torch.Generator().manual_seed(c))
                              for c in model.classes], 1)
        theta = model.ends(labels, y)
        admissible = (((theta >= 0.1) & (theta <= 1)).all(1) & (theta[:, 2] <= theta[:, 0]) & (theta[:, 3] >= theta[:, 1]))
        assert admissible.float().mean() < 0.5


def test_phase_branches_draw_the_end_labels_at_their_own_temperature(data_2):
    """Heads that ignore their inputs (zero last-layer weights, random biases as logits): at
    end_temperature 0 every line's end labels are, given its start, the most probable admissible
    classes, while the start labels, at temperature 1, still vary; at end_temperature 1 the ends
    vary too. temperature 0 makes the start labels the most probable admissible ones."""
    from sincvae.learn.methods.branches import LABELS, PhaseBranches
    Settings = settings_class("branches")

    def draw(**temperatures):
        model = PhaseBranches(Settings(hidden=8, layers=1, draw="labels", ends="learned", **temperatures), Context(data_2)).eval()
        generator = torch.Generator().manual_seed(4)
        for head in model.heads:
            torch.nn.init.zeros_(head[-1].weight)
            head[-1].bias.data = torch.randn(head[-1].bias.shape, generator=generator)
        y = data_2(lines(20, seed=6))
        labels = model.labels(model.generate(y, 50, generator).flatten(0, 1).double())
        domain = tuple(t.repeat_interleave(50, 0) for t in model._domain(y))
        best = []  # the most probable admissible class of each label, given the drawn earlier ones
        for j in range(LABELS):
            admissible = model._admissible(j, domain, [labels[:, i] for i in range(j)])
            best.append(model.heads[j][-1].bias.detach().masked_fill(~admissible, -torch.inf).argmax(1))
        return labels, torch.stack(best, 1)

    labels, best = draw(end_temperature=0.0)
    assert (labels[:, 2:] == best[:, 2:]).all()
    assert (labels[:, :2] != best[:, :2]).any(1).float().mean() > 0.2
    labels, best = draw(end_temperature=1.0)
    assert (labels[:, 2:] != best[:, 2:]).any(1).float().mean() > 0.2
    labels, best = draw(temperature=0.0, end_temperature=1.0)
    assert (labels[:, :2] == best[:, :2]).all()


def test_phase_branches_with_checked_ends_complete_every_right_start_to_a_solution(data_2):
    """Heads that ignore their inputs (zero last-layer weights, random biases as logits) draw
    starts at random. With ends checked, every drawn line whose start labels are an exact
    solution's solves y at every point; with ends learned, the heads' random end labels leave
    most of those lines off y."""
    from sincvae.learn.methods.branches import PhaseBranches
    Settings = settings_class("branches")

    y = data_2(lines(20, seed=6))
    solutions = [solve_lines(data_2, row.double().numpy()) for row in y]
    solved = {}
    for ends in ("checked", "learned"):
        model = PhaseBranches(Settings(hidden=8, layers=1, draw="labels", ends=ends), Context(data_2)).eval()
        generator = torch.Generator().manual_seed(4)
        for head in model.heads:
            torch.nn.init.zeros_(head[-1].weight)
            head[-1].bias.data = torch.randn(head[-1].bias.shape, generator=generator)
        drawn = model.generate(y, 50, generator).double()
        residual = (data_2(drawn) - y[:, None].double()).abs().amax((-2, -1))
        starts = model.labels(drawn.flatten(0, 1))[:, :2].view(len(y), -1, 1, 2)
        right_start = torch.stack([(starts[b] == model.labels(torch.from_numpy(solutions[b]))[:, :2]).all(-1).any(-1)
                                   for b in range(len(y))])
        solved[ends] = residual[right_start] < 1e-4
    assert len(solved["checked"]) >= 20 and solved["checked"].all()
    assert len(solved["learned"]) >= 20 and solved["learned"].float().mean() < 0.5


def test_phase_branches_with_checked_ends_move_a_start_that_no_end_completes_to_a_solution_beside_it(data_1, data_2):
    """Every exact solution's start labels, one phase moved by one class: a start that some end
    in the box completes to a line solving y is an exact solution's start and is kept; any other
    is moved to the nearest exact solution's start among the classes beside it, or kept if none
    is there."""
    from sincvae.learn.methods.branches import NEIGHBOURS, PhaseBranches
    Settings = settings_class("branches")

    for fmap in (data_1, data_2):
        model = PhaseBranches(Settings(hidden=8, layers=1), Context(fmap)).eval()
        y = fmap(lines(20, seed=7))
        solutions = [model.labels(torch.from_numpy(solve_lines(fmap, row.double().numpy())))[:, :2] for row in y]
        rows = [b for b, labels in enumerate(solutions) for _ in labels for _ in range(4)]
        moved = torch.cat([labels.repeat_interleave(4, 0) + torch.tensor([[1, 0], [-1, 0], [0, 1], [0, -1]]).repeat(
            len(labels), 1) for labels in solutions]).clamp(min=0)
        moved = torch.minimum(moved, torch.tensor(model.classes[:2]) - 1)
        repeated = y[rows]
        domain = model._domain(repeated)
        picked, _ = model._complete(repeated, [moved[:, 0], moved[:, 1]], domain)
        picked = torch.stack(picked, 1)
        changed = 0
        for i, b in enumerate(rows):
            is_solution = (solutions[b] == picked[i]).all(1).any()
            beside = [(moved[i] + torch.tensor([d0, d1])) for d0 in NEIGHBOURS for d1 in NEIGHBOURS]
            any_beside = any((solutions[b] == start).all(1).any() for start in beside)
            if (picked[i] != moved[i]).any():
                changed += 1
                assert is_solution
            else:
                assert is_solution == (solutions[b] == moved[i]).all(1).any() and (is_solution or not any_beside)
        assert changed >= 10


def test_phase_branches_drawn_among_the_solutions_find_every_exact_solution_and_draw_by_the_heads(data_1, data_2):
    """draw: solutions: the labels the formula lists for a y give back every exact solution of it
    (the enumerator's, within 1e-3) and nothing that misses y; the lines drawn all solve y, each
    as often as the heads' probability of its labels, renormalised over the solutions, says."""
    from sincvae.learn.methods.branches import PhaseBranches
    Settings = settings_class("branches")

    for fmap in (data_1, data_2):
        model = PhaseBranches(Settings(hidden=8, layers=1), Context(fmap)).eval()
        y = fmap(lines(20, seed=8))
        found = model._solutions(y)
        for row, labels in zip(y, found):
            theta = model.ends(labels, row.expand(len(labels), -1, -1))
            listed = lines_from_ends(theta[:, :2], theta[:, 2:], POINTS).numpy()
            exact = solve_lines(fmap, row.double().numpy())
            assert np.abs(fmap(listed) - row.double().numpy()).max() < 1e-4
            assert line_distances(exact, listed).min(1).max() < 1e-3
        generator = torch.Generator().manual_seed(3)
        for head in model.heads:  # heads that ignore their inputs: random biases as logits
            torch.nn.init.zeros_(head[-1].weight)
            head[-1].bias.data = torch.randn(head[-1].bias.shape, generator=generator)
        row = max(range(len(y)), key=lambda b: len(found[b]))
        drawn = model.generate(y[row:row + 1], 2000, generator).double()[0]
        assert (fmap(drawn) - y[row].double()).abs().max() < 1e-4
        theta = model.ends(found[row], y[row].expand(len(found[row]), -1, -1))
        listed = lines_from_ends(theta[:, :2], theta[:, 2:], POINTS).double().numpy()
        share = np.bincount(line_distances(drawn.numpy(), listed).argmin(1), minlength=len(listed)) / 2000
        with torch.no_grad():
            expected = torch.softmax(model._log_probability(model.trunk(model.embed(y[row:row + 1])).expand(
                len(found[row]), -1), found[row]), 0).numpy()
        assert len(listed) >= 2 and np.abs(share - expected).max() < 0.05  # 2,000 draws: sd ≤ 0.012


def test_phase_branches_need_two_independent_phases():
    from sincvae.problem.forward import ForwardMap
    from sincvae.learn.methods.branches import PhaseBranches
    Settings = settings_class("branches")

    parallel = ForwardMap.from_config({"terms": [{"fn": "cos", "a": 2, "b": 4}, {"fn": "sin", "a": 1, "b": 2}]})
    with pytest.raises(ValueError, match="singular coefficient matrix"):
        PhaseBranches(Settings(), Context(parallel))


def test_offset_bins_place_each_drawn_bin_at_its_predicted_offset_and_score_both():
    """A model whose heads ignore their inputs (zero last-layer weights): each coordinate in bin a
    (probability 1/4) or b (3/4), at offsets sigmoid(±1) inside them. Samples land exactly there,
    in that proportion, and the loss is the bins' negative log-likelihood plus offset_weight
    times the true bins' squared offset errors, computed here by hand."""
    from sincvae.learn.methods.offset_bins import OffsetBins
    Settings = settings_class("offset_bins")

    bins, weight = 16, 10.0
    model = OffsetBins(Settings(bins=bins, hidden=8, layers=1, offset_weight=weight))
    picked = [(3, 12), (5, 9), (0, 15), (7, 2)]  # per coordinate: (a, b)
    with torch.no_grad():
        for head, (a, b) in zip(model.heads, picked):
            head[-1].weight.zero_()
            head[-1].bias.zero_()
            head[-1].bias[:bins] = -1e4
            head[-1].bias[a], head[-1].bias[b] = math.log(0.25), math.log(0.75)
            head[-1].bias[bins + a], head[-1].bias[bins + b] = 1.0, -1.0
    y = torch.rand(4000, 2, POINTS) * 2 - 1
    theta = ends_of(model.generate(y, 1, torch.Generator().manual_seed(0))[:, 0])
    lo, hi = DOMAIN
    width = (hi - lo) / bins
    for j, (a, b) in enumerate(picked):
        at_a = (theta[:, j] - (lo + (a + torch.sigmoid(torch.tensor(1.0))) * width)).abs() < 1e-5
        at_b = (theta[:, j] - (lo + (b + torch.sigmoid(torch.tensor(-1.0))) * width)).abs() < 1e-5
        assert (at_a | at_b).all() and abs(at_a.float().mean().item() - 0.25) < 0.03
    # one line whose coordinates sit at the middle of bin a of each coordinate
    line = torch.tensor([[lo + (a + 0.5) * width for a, _ in picked]], dtype=torch.float32)
    x = lines_from_ends(line[:, :2], line[:, 2:], POINTS)
    nll = -4 * math.log(0.25)
    offsets = 4 * (torch.sigmoid(torch.tensor(1.0)).item() - 0.5) ** 2
    total, parts = model.loss(x, y[:1])
    assert parts["nll"].item() == pytest.approx(nll, rel=1e-5)
    assert parts["offset_mse"].item() == pytest.approx(offsets, rel=1e-3)
    assert total.item() == pytest.approx(nll + weight * offsets, rel=1e-3)


def test_offset_bins_learn_the_line_end_points_given_y(data_1):
    """A few epochs on data_1: the bins' negative log-likelihood and the offsets' error fall, and
    the lines beat an untrained model's."""
    history, ratio = learns_on_data_1(data_1, {"method": "offset_bins", "bins": 4, "hidden": 64,
                                               "schedule": "cosine"}, (18, 19))
    assert history[-1]["val_nll"] < history[0]["val_nll"] - 0.5
    assert history[-1]["val_offset_mse"] < 0.6 * history[0]["val_offset_mse"] and ratio < 0.6
