from dataclasses import replace

import numpy as np
import pytest
import torch

from sincvae.problem.data import prior_lines, split_rng
from sincvae.learn.methods.cvae import CVAE, cvae_loss
from sincvae.learn.registry import settings_class
from sincvae.learn.train import TrainingDiverged, TrainSettings, bf16_supported, fit, resolve_device, spaced_epochs

CVAESettings = settings_class("cvae")


def _data(fmap, n, split):
    return prior_lines(fmap, n, split_rng(0, split))


CASE = {"method": "cvae", "loss": "l1_mean", "beta": 0.01, "wx": 1.0, "wy": 1.0, "latent_dim": 8, "lr": 1e-3,
        "batch_size": 50, "epochs": 3}
SETTINGS = TrainSettings.from_dict(CASE)
# A small case of each learned method.
SMALL = {"cvae": CASE, "line_cvae": {**CASE, "method": "line_cvae", "free_bits": 0.1, "hidden": 32},
         "flow": {**CASE, "method": "flow", "transforms": 2, "hidden": 32},
         "mdn": {**CASE, "method": "mdn", "components": 4, "hidden": 32},
         "autoregressive": {**CASE, "method": "autoregressive", "bins": 16, "hidden": 32}}


def test_training_is_reproducible_and_learns(data_1):
    train, val = _data(data_1, 400, "train"), _data(data_1, 100, "validation")
    model_a, history_a = fit(SETTINGS, data_1, train, val, torch.device("cpu"), log=lambda _: None)
    model_b, history_b = fit(SETTINGS, data_1, train, val, torch.device("cpu"), log=lambda _: None)
    assert _timeless(history_a) == _timeless(history_b)
    for a, b in zip(model_a.state_dict().values(), model_b.state_dict().values()):
        assert torch.equal(a, b)
    assert [row["epoch"] for row in history_a] == [1, 2, 3]
    assert history_a[-1]["train_x_loss"] < history_a[0]["train_x_loss"]


def test_a_long_run_validates_and_checkpoints_about_thirty_times_including_its_first_and_last_epochs():
    assert spaced_epochs(30) == set(range(1, 31))
    long = spaced_epochs(200)  # every 7th epoch
    assert len(long) == 30 and {1, 7, 14, 196, 200} <= long and 8 not in long


def test_skipping_validation_epochs_leaves_the_training_as_it_was(data_1, monkeypatch):
    """The validation of the 200-epoch methods draws no random numbers, so validating less
    often changes nothing but the history's val columns."""
    train, val = _data(data_1, 200, "train"), _data(data_1, 100, "validation")
    settings = TrainSettings.from_dict({**SMALL["autoregressive"], "epochs": 5})
    every_epoch, history = fit(settings, data_1, train, val, torch.device("cpu"), log=lambda _: None)
    monkeypatch.setattr("sincvae.learn.train.SPACED_POINTS", 2)  # every 3rd epoch, and the first and last
    sparse, sparse_history = fit(settings, data_1, train, val, torch.device("cpu"), log=lambda _: None)
    assert [row["epoch"] for row in sparse_history if "val_loss" in row] == [1, 3, 5]
    for row, full in zip(sparse_history, history):
        assert row["train_loss"] == full["train_loss"] and row.get("val_loss", full["val_loss"]) == full["val_loss"]
    for a, b in zip(every_epoch.state_dict().values(), sparse.state_dict().values()):
        assert torch.equal(a, b)


def test_bf16_support_follows_the_cpus_flags(monkeypatch, tmp_path):
    """The CPU check reads the kernel's flags: AVX512-BF16 or AMX-BF16 count, AVX2 alone does not."""
    import builtins

    real_open = builtins.open
    for flags, expected in (("fpu avx2 avx512f avx512_bf16", True), ("fpu avx2 amx_bf16 amx_tile", True),
                            ("fpu avx2 fma", False)):
        cpuinfo = tmp_path / "cpuinfo"
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        monkeypatch.setattr(builtins, "open", lambda path, *a, **k: real_open(cpuinfo if path == "/proc/cpuinfo" else path,
                                                                                *a, **k))
        assert bf16_supported(torch.device("cpu")) is expected
        monkeypatch.setattr(builtins, "open", real_open)


@pytest.mark.parametrize("method", list(SMALL))
def test_bf16_training_repeats_exactly(data_1, method):
    """bf16 autocast: the same run twice gives the same weights; on a CPU with bf16 instructions
    it trains differently from fp32 (autocast is on), on one without it falls back to fp32."""
    train, val = _data(data_1, 200, "train"), _data(data_1, 50, "validation")
    settings = TrainSettings.from_dict({**SMALL[method], "epochs": 2, "precision": "bf16"})
    cpu = torch.device("cpu")
    messages = []
    runs = [fit(settings, data_1, train, val, cpu, log=messages.append) for _ in range(2)]
    _, fp32 = fit(replace(settings, precision="fp32"), data_1, train, val, cpu, log=lambda _: None)
    for a, b in zip(runs[0][0].state_dict().values(), runs[1][0].state_dict().values()):
        assert torch.equal(a, b)
    assert _timeless(runs[0][1]) == _timeless(runs[1][1])
    if bf16_supported(cpu):
        assert _timeless(runs[0][1]) != _timeless(fp32)
        assert runs[0][1][-1]["train_loss"] == pytest.approx(fp32[-1]["train_loss"], rel=0.2)
    else:
        assert _timeless(runs[0][1]) == _timeless(fp32)
        assert "no bf16 instructions: running in fp32" in messages[0]


@pytest.mark.parametrize("variant, flows", [("fixed", True), ("original_code", False)])
def test_wy_gradient_flows_only_in_the_fixed_variant(data_1, variant, flows):
    """With beta = wx = 0 the y-loss is the only term: the original study's code trained nothing from it."""
    torch.manual_seed(0)
    model = CVAE(CVAESettings("mse", 0.0, 0.0, 1.0, latent_dim=8, variant=variant))
    x, y = _data(data_1, 20, "train")
    x_hat, mean, logvar = model(x, y)
    y_hat = data_1(x_hat)
    if variant == "original_code":
        y_hat = y_hat.detach()
    total, _ = cvae_loss(x, x_hat, y, y_hat, mean, logvar, loss="mse", beta=0.0, wx=0.0, wy=1.0)
    total.backward()
    assert (model.decoder.expand[0].weight.grad.abs().sum() > 0) == flows


def test_a_nan_loss_stops_training_with_the_epoch(data_1):
    x, y = _data(data_1, 100, "train")
    x[3, 0, 0] = float("nan")
    with pytest.raises(TrainingDiverged, match="epoch 1"):
        fit(SETTINGS, data_1, (x, y), (x, y), torch.device("cpu"), log=lambda _: None)


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_training_on_cuda(data_1):
    train = _data(data_1, 200, "train")
    model, history = fit(SETTINGS, data_1, train, train, torch.device("cuda"), log=lambda _: None)
    assert next(model.parameters()).device.type == "cpu"
    assert all(torch.isfinite(torch.tensor(row["train_loss"])) for row in history)


def _timeless(history):
    return [{k: v for k, v in row.items() if k not in ("seconds", "samples_per_s")} for row in history]


@pytest.mark.parametrize("points, epochs, killed_after, resumed_after", [(30, 4, 2, 2), (2, 5, 4, 3)],
                         ids=["checkpoint every epoch", "spaced checkpoints"])
def test_an_interrupted_run_resumes_to_the_same_result(data_1, tmp_path, monkeypatch, points, epochs, killed_after,
                                                       resumed_after):
    """A run killed after an epoch resumes from its last checkpoint: every epoch of a short run,
    spaced ones of a long run (2 points of 5 epochs: after epochs 1, 3 and 5)."""
    monkeypatch.setattr("sincvae.learn.train.SPACED_POINTS", points)
    settings = replace(SETTINGS, epochs=epochs)
    train, val = _data(data_1, 300, "train"), _data(data_1, 100, "validation")
    cpu = torch.device("cpu")
    reference, reference_history = fit(settings, data_1, train, val, cpu, log=lambda _: None)

    checkpoint = tmp_path / "checkpoint.pt"

    def die(message):
        if message.startswith(f"epoch {killed_after}/{epochs}"):
            raise KeyboardInterrupt  # as a SIGTERM/SIGINT would, after that epoch's checkpoint if it has one
    with pytest.raises(KeyboardInterrupt):
        fit(settings, data_1, train, val, cpu, log=die, checkpoint=checkpoint)

    messages = []
    model, history = fit(settings, data_1, train, val, cpu, log=messages.append, checkpoint=checkpoint)
    assert messages[0] == f"resuming from {checkpoint} after epoch {resumed_after}"
    assert [m.split()[1] for m in messages[1:]] == [f"{e}/{epochs}" for e in range(resumed_after + 1, epochs + 1)]
    assert _timeless(history) == _timeless(reference_history)
    for a, b in zip(model.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(a, b)


def test_a_checkpoint_of_other_settings_is_ignored(data_1, tmp_path):
    train = _data(data_1, 200, "train")
    checkpoint = tmp_path / "checkpoint.pt"
    fit(SETTINGS, data_1, train, train, torch.device("cpu"), log=lambda _: None, checkpoint=checkpoint)
    other = TrainSettings.from_dict({**CASE, "beta": 0.5})
    messages = []
    _, history = fit(other, data_1, train, train, torch.device("cpu"), log=messages.append, checkpoint=checkpoint)
    assert messages[0].startswith("ignoring") and len(history) == SETTINGS.epochs


def test_progress_bar_shows_each_epochs_batches_when_asked(capsys, data_1):
    train, val = _data(data_1, 400, "train"), _data(data_1, 50, "validation")
    settings = replace(SETTINGS, epochs=1, batch_size=100)
    fit(settings, data_1, train, val, torch.device("cpu"), log=lambda _: None, progress=True)
    bar = capsys.readouterr().err
    assert "epoch 1/1" in bar and "0/4 [" in bar  # 400 rows in batches of 100
    fit(settings, data_1, train, val, torch.device("cpu"), log=lambda _: None, progress=False)
    assert capsys.readouterr().err == ""


def test_online_training_draws_fresh_reproducible_lines_every_epoch(data_1):
    train, val = _data(data_1, 200, "train"), _data(data_1, 50, "validation")
    online = replace(SETTINGS, online=True)
    runs = [fit(online, data_1, train, val, torch.device("cpu"), log=lambda _: None) for _ in range(2)]
    _, split_history = fit(SETTINGS, data_1, train, val, torch.device("cpu"), log=lambda _: None)
    assert _timeless(runs[0][1]) == _timeless(runs[1][1])
    assert [row["lines_seen"] for row in runs[0][1]] == [200, 400, 600]
    assert [row["lines_seen"] for row in split_history] == [200, 200, 200]
    assert runs[0][1][0]["train_loss"] != split_history[0]["train_loss"]  # other lines than the split's


def test_a_cosine_schedule_decays_the_lr_to_zero_and_resumes_only_its_own_run(data_1, tmp_path):
    from sincvae.learn.train import learning_rate

    cosine = replace(SETTINGS, schedule="cosine", epochs=4)
    assert [learning_rate(cosine, step, 8) for step in (0, 4)] == [1e-3, pytest.approx(5e-4)]
    assert learning_rate(cosine, 7, 8) == pytest.approx(1e-3 * 0.5 * (1 + np.cos(np.pi * 7 / 8)))
    assert learning_rate(SETTINGS, 7, 8) == 1e-3
    train, val = _data(data_1, 200, "train"), _data(data_1, 50, "validation")

    def last_epoch_step(settings):
        weights = []
        fit(settings, data_1, train, val, torch.device("cpu"), log=lambda _: None,
            epoch_end=lambda _, model: weights.append(torch.cat([p.detach().flatten() for p in model.parameters()])))
        return (weights[-1] - weights[-2]).norm()

    # the last epoch's lr falls from 0.15·lr to 0: Adam's steps, about lr each, shrink with it
    assert last_epoch_step(cosine) < 0.3 * last_epoch_step(replace(SETTINGS, epochs=4))
    checkpoint = tmp_path / "checkpoint.pt"
    fit(replace(cosine, epochs=2), data_1, train, val, torch.device("cpu"), log=lambda _: None, checkpoint=checkpoint)
    messages = []
    fit(cosine, data_1, train, val, torch.device("cpu"), log=messages.append, checkpoint=checkpoint)
    assert messages[0].startswith("ignoring")  # 2 cosine epochs are not the first half of 4
