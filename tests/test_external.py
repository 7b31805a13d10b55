"""Other people's samples in the challenge's layout: loaded safely, checked, or refused by name."""

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from sincvae.problem.data import from_file_layout, make_dataset, save_dataset, split_rng
from sincvae.score.external import SubmissionError, load_submission

K = 3


@pytest.fixture
def scoring(data_1):
    return make_dataset(data_1, 4, split_rng(0, "scoring"))  # file layout (N, 1, 50, 2)


def test_a_submission_gives_k_lines_per_scoring_y(tmp_path, scoring):
    x, y = scoring
    lines = x.repeat_interleave(K, 0) + torch.arange(4 * K).reshape(-1, 1, 1, 1) * 1e-3
    save_dataset(tmp_path / "mine.pt", lines, y.repeat_interleave(K, 0))
    got = load_submission(tmp_path / "mine.pt", from_file_layout(y))
    assert got.shape == (4, K, 2, 50)
    np.testing.assert_allclose(got[2, 1], from_file_layout(lines)[2 * K + 1].double().numpy())


@pytest.mark.parametrize("change, message", [
    (lambda x, y: (x, y.flip(0)), "Y rows 0..2 are not scoring row 0's y"),
    (lambda x, y: (x[:-1], y[:-1]), "X has shape (11, 1, 50, 2), expected (N·K, 1, 50, 2) with N = 4"),
    (lambda x, y: (x.index_fill(0, torch.tensor([7]), float("nan")), y), "non-finite values in the lines of scoring row 2"),
    (lambda x, y: (x[:, :, :, :1], y), "X has shape (12, 1, 50, 1)"),
])
def test_a_submission_that_cannot_be_scored_is_refused_by_name(tmp_path, scoring, change, message):
    x, y = scoring
    bad_x, bad_y = change(x.repeat_interleave(K, 0), y.repeat_interleave(K, 0))
    save_dataset(tmp_path / "bad.pt", bad_x, bad_y)
    with pytest.raises(SubmissionError, match=str(tmp_path / "bad.pt").replace(".", r"\.")) as err:
        load_submission(tmp_path / "bad.pt", from_file_layout(y))
    assert message in str(err.value)


def test_a_pickle_that_is_not_tensors_is_never_run(tmp_path, scoring, capsys):
    class Exploit:
        def __reduce__(self):
            return (print, ("unpickled",))

    torch.save({"X": Exploit()}, tmp_path / "evil.pt")
    with pytest.raises(SubmissionError, match="check 'readable' failed"):
        load_submission(tmp_path / "evil.pt", from_file_layout(scoring[1]))
    assert "unpickled" not in capsys.readouterr().out
    torch.save(TensorDataset(scoring[0]), tmp_path / "one.pt")
    with pytest.raises(SubmissionError, match="expected TensorDataset"):
        load_submission(tmp_path / "one.pt", from_file_layout(scoring[1]))
