"""Throughput, short form: CI runs each once as a test (--benchmark-disable); the full form is
the pipeline target results/benchmarks/throughput.csv. Measure here with
python -m pytest tests/test_benchmarks.py --benchmark-enable"""

import torch

from sincvae.problem.data import prior_lines, split_rng
from sincvae.problem.exact import solve_split
from sincvae.learn.methods.prior import PriorLines
from sincvae.learn.refine import refine_candidates
from sincvae.learn.throughput import exact_y_per_s, generation_samples_per_s, machine, training_samples_per_s
from sincvae.learn.train import TrainSettings

FINAL = TrainSettings.from_dict({"method": "cvae", "loss": "l1_mean", "beta": 1.1, "wx": 0.6, "wy": 0.6,
                                 "latent_dim": 110, "lr": 1e-3, "batch_size": 500, "epochs": 1})


def _rows(fmap, n):
    return prior_lines(fmap, n, split_rng(0, "validation"))


def test_exact_enumerator(benchmark, data_2):
    _, y = _rows(data_2, 200)
    solutions = benchmark(solve_split, data_2, y.numpy(), 1e-5)
    assert len(solutions) == 200 and all(len(lines) >= 1 for lines, _ in solutions)


def test_refinement(benchmark, data_2):
    """The default study's refinement of multi-start candidates: 120 per y, 30 kept, 30 steps.
    Goal: at most 0.5 ms per kept line, generation included."""
    _, y = _rows(data_2, 50)
    candidates = PriorLines().generate(y, 120, torch.Generator().manual_seed(0)).double().numpy()
    lines, converged = benchmark(refine_candidates, data_2, candidates, y.numpy(), 30, 30, 1e-4)
    assert lines.shape == (50, 30, 2, 50) and 0.05 < converged.mean() < 1


def test_throughput_measures_are_positive(data_1):
    x, y = _rows(data_1, 500)
    cpu = torch.device("cpu")
    assert training_samples_per_s(FINAL, data_1, x, y, steps=2, device=cpu) > 0
    assert generation_samples_per_s(FINAL, y[:20], 5, repeats=2, device=cpu) > 0
    assert exact_y_per_s(data_1, y[:20].numpy(), 1e-5) > 0
    assert machine()["torch"] == torch.__version__


def test_reference_epoch(benchmark):
    """The unit of the time budgets (sincvae.budget): one fp32 epoch of the original study's
    CVAE over 10,000 lines at batch 500 on one thread, leaving torch's threads as they were."""
    from sincvae.budget import reference_epoch_seconds

    threads = torch.get_num_threads()
    seconds = benchmark.pedantic(reference_epoch_seconds, rounds=1, iterations=1)
    assert seconds > 0 and torch.get_num_threads() == threads


def test_a_probe_times_each_learned_method_on_its_costliest_case(config):
    """python -m sincvae.plan.calibration probe: each learned method once, on the case of the plan that trains
    most, on the jobs' threads, with the reference epochs timed before and after it; torch's
    thread count left as it was."""
    from sincvae.budget import training_seconds
    from sincvae.plan.planning import plan

    cvae = {"method": "cvae", "loss": "l1_mean", "beta": 1, "wx": 0.5, "wy": 0.5}
    cases = [{"case": "short", **cvae, "epochs": 2}, {"case": "long", **cvae, "epochs": 4},
             {"case": "mixture", "method": "mdn", "epochs": 3, "online": True}, {"case": "prior", "method": "prior"}]
    small = {**config, "cases": cases, "reference_case": "long", "tuning": None, "ablations": None,
             "report": {**config["report"], "inspect_cases": []}}
    threads, said = torch.get_num_threads(), []
    reference = iter([1.0, 3.0, 2.0])
    measured = training_seconds(plan(small), small, epochs=2, rows=500, log=said.append,
                                reference=lambda: next(reference))
    assert set(measured) == {"cvae", "mdn"} and all(s > 0 for s, _ in measured.values())
    assert (measured["cvae"][1], measured["mdn"][1]) == (2.0, 2.5)  # in order: cvae between 1 and 3
    assert "cvae: case long, 2 epochs" in said and "mdn: case mixture, 2 epochs" in said
    assert sum(line.startswith("  epoch ") for line in said) == 4  # each epoch's losses logged
    assert torch.get_num_threads() == threads
