import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from sincvae.problem.data import (
    DataFileError,
    SolutionSets,
    from_file_layout,
    make_dataset,
    prior_lines,
    save_dataset,
    solutions_rng,
    split_rng,
    to_file_layout,
    validate_dataset,
)
from sincvae.problem.exact import solutions_frame, solve_split
from sincvae.problem.forward import ForwardMap
from sincvae.problem.lines import fit_lines, sample_lines

from conftest import SEED_SCORING


def test_sampled_lines_follow_the_seed_prior():
    x = sample_lines(20000, np.random.default_rng(1))
    assert x.shape == (20000, 2, 50)
    assert x.min() >= 0.1 and x.max() <= 1.0
    steps = np.diff(x, axis=-1)
    assert (steps[:, 0] <= 0).all() and (steps[:, 1] >= 0).all()
    _, fitted = fit_lines(x)
    assert np.abs(x - fitted).max() < 1e-12
    # end of x0 and start of x1 ~ U[0.1, 1]: mean 0.55, sd 0.26
    assert x[:, 0, -1].mean() == pytest.approx(0.55, abs=0.01)
    assert x[:, 1, 0].std() == pytest.approx(0.9 / np.sqrt(12), abs=0.01)
    # the other end ~ U[end, 1]: mean (0.55 + 1) / 2
    assert x[:, 0, 0].mean() == pytest.approx(0.775, abs=0.01)


def test_generation_is_deterministic_per_seed_and_split(data_1):
    a = make_dataset(data_1, 50, split_rng(3, "train"))
    b = make_dataset(data_1, 50, split_rng(3, "train"))
    c = make_dataset(data_1, 50, split_rng(3, "validation"))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_prior_lines_are_the_datasets_lines_in_the_training_layout(data_1):
    """An online epoch's lines (prior_lines) are what make_dataset would write, and y is f(x)
    evaluated in float64 and rounded once: f in float32 would move some of its values."""
    x, y = prior_lines(data_1, 200, split_rng(3, "train"))
    assert x.shape == y.shape == (200, 2, 50) and x.dtype == y.dtype == torch.float32
    written = make_dataset(data_1, 200, split_rng(3, "train"))
    assert torch.equal(x, from_file_layout(written[0])) and torch.equal(y, from_file_layout(written[1]))
    assert torch.equal(y, data_1(x.double()).float())
    assert not torch.equal(y, data_1(x))


def test_layout_round_trip():
    x = torch.arange(2 * 2 * 50, dtype=torch.float32).view(2, 2, 50)
    file_layout = to_file_layout(x)
    assert file_layout.shape == (2, 1, 50, 2)
    assert file_layout[1, 0, 7, 1] == x[1, 1, 7]
    assert torch.equal(from_file_layout(file_layout), x)


@pytest.fixture
def good(tmp_path, data_1):
    x, y = make_dataset(data_1, 40, split_rng(0, "scoring"))
    return tmp_path, x, y


def write(tmp_path, x, y, name="bad.pt"):
    path = tmp_path / name
    save_dataset(path, x, y)
    return path


def test_validator_accepts_a_generated_file(good, data_1):
    tmp_path, x, y = good
    summary = validate_dataset(write(tmp_path, x, y), data_1, 1e-4)
    assert summary["rows"] == 40
    assert summary["max_abs_y_error"] < 1e-6
    assert "equations" in summary["checks_passed"]


def _bump_row(t, row, fn):
    t = t.clone()
    t[row] = fn(t[row])
    return t


@pytest.mark.parametrize("check, make_bad", [
    ("shape", lambda x, y: (x[:, :, :49], y[:, :, :49])),
    ("dtype", lambda x, y: (x.double(), y)),
    ("finite", lambda x, y: (_bump_row(x, 5, lambda r: r * float("nan")), y)),
    ("finite", lambda x, y: (x, _bump_row(y, 5, lambda r: r + float("inf")))),
    ("x1 rising", lambda x, y: (_bump_row(x, 5, lambda r: torch.stack([r[:, :, 0], r[:, :, 1].flip(1)], -1)), y)),
    ("domain", lambda x, y: (_bump_row(x, 5, lambda r: r + 0.5), y)),
    ("x0 falling", lambda x, y: (_bump_row(x, 5, lambda r: r.flip(1)), y)),
    ("straight evenly spaced", lambda x, y: (_bump_row(x, 5, lambda r: 0.1 + (r - 0.1) ** 2), y)),
    ("equations", lambda x, y: (x, _bump_row(y, 5, lambda r: r + 0.01))),
])
def test_validator_rejects_each_kind_of_bad_file(good, data_1, check, make_bad):
    tmp_path, x, y = good
    path = write(tmp_path, *make_bad(x, y))
    with pytest.raises(DataFileError) as err:
        validate_dataset(path, data_1, 1e-4)
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message and f"check '{check}'" in message
    if check not in ("shape", "dtype"):
        assert "worst row 5" in message


def test_validator_rejects_corrupt_and_foreign_files(tmp_path, data_1):
    truncated = tmp_path / "truncated.pt"
    good = write(tmp_path, *make_dataset(data_1, 5, split_rng(0, "train")), name="good.pt")
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(DataFileError, match="check 'readable'"):
        validate_dataset(truncated, data_1, 1e-4)
    plain = tmp_path / "dict.pt"
    torch.save({"X": torch.zeros(1)}, plain)
    with pytest.raises(DataFileError, match="check 'structure'"):
        validate_dataset(plain, data_1, 1e-4)


class _Marker:
    """Unpickling this creates a file: proof that the loader ran foreign code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_that_would_run_code_is_refused_without_running(tmp_path, data_1):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump(_Marker(str(marker)), f)
    with pytest.raises(DataFileError, match="check 'readable'"):
        validate_dataset(path, data_1, 1e-4)
    assert not marker.exists()
    # The file does execute when unpickled unsafely: the test would notice a loader that did.
    with open(path, "rb") as f:
        pickle.load(f)
    assert marker.exists()


@pytest.mark.skipif(not SEED_SCORING.exists(), reason="the original study's scoring file (../shared) is absent")
def test_seed_scoring_file_follows_other_equations(data_1):
    with pytest.raises(DataFileError, match="check 'equations' failed"):
        validate_dataset(SEED_SCORING, data_1, 1e-4)
    challenge = ForwardMap.from_config(
        {"terms": [{"fn": "cos", "a": 49, "b": 42}, {"fn": "cos", "a": 56, "b": 63}]}
    )
    summary = validate_dataset(SEED_SCORING, challenge, 1e-4)
    assert summary["rows"] == 50 and summary["max_abs_y_error"] < 1e-5


def test_tensor_dataset_file_layout_is_the_seeds(tmp_path, data_1):
    path = write(tmp_path, *make_dataset(data_1, 3, split_rng(0, "train")), name="f.pt")
    with torch.serialization.safe_globals([TensorDataset]):
        loaded = torch.load(path, weights_only=True)
    assert isinstance(loaded, TensorDataset)
    assert [tuple(t.shape) for t in loaded.tensors] == [(3, 1, 50, 2)] * 2
    assert all(t.dtype == torch.float32 for t in loaded.tensors)


def test_solution_sets_draw_each_rows_solutions_by_their_weights(data_2):
    """targets: solutions: each epoch one exact solution per y, in proportion to its posterior
    weight; rows keep their order, and each epoch of each seed has its own stream."""
    x = sample_lines(6, np.random.default_rng(5))
    solutions = solve_split(data_2, data_2(x), 1e-5, known=x)
    sets = SolutionSets(solutions_frame("train", solutions))
    assert len(sets) == 6
    draws = np.stack([sets.draw(solutions_rng(0, epoch)).double().numpy() for epoch in range(2000)])  # (E, 6, 2, L)
    for row, (lines, weights) in enumerate(solutions):
        # which of the row's solutions each draw is
        picked = np.abs(draws[:, row, None] - lines[None]).max((2, 3)).argmin(1)
        assert np.abs(draws[:, row] - lines[picked]).max() < 1e-6  # always one of its own
        shares = np.bincount(picked, minlength=len(lines)) / len(draws)
        assert np.abs(shares - weights / weights.sum()).max() < 0.04, (row, shares, weights)
    assert max(len(lines) for lines, _ in solutions) > 1  # some row has a choice to make
    assert torch.equal(sets.draw(solutions_rng(3, 1)), sets.draw(solutions_rng(3, 1)))
    assert not torch.equal(sets.draw(solutions_rng(3, 1)), sets.draw(solutions_rng(3, 2)))


def test_solution_sets_refuse_a_row_without_solutions(data_1):
    x = sample_lines(3, np.random.default_rng(0))
    frame = solutions_frame("train", solve_split(data_1, data_1(x), 1e-5, known=x))
    with pytest.raises(ValueError, match="a row of the split has no solution"):
        SolutionSets(frame[frame["row"] != 1])
