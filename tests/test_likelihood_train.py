r"""Tests of aigc_course.train.likelihood.train_likelihood (CPU, a few hundred tiny steps)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import nn
from torch.distributions import Bernoulli

from aigc_course.models.baselines import PixelBernoulli
from aigc_course.train.errors import TrainingDiverged
from aigc_course.train.likelihood import LikelihoodTrainConfig, train_likelihood


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Hundreds of steps on (16, 12) tensors: intra-op threads only add synchronisation cost, which on a
    # busy 2-core machine made each step ~1000x slower. Results do not depend on the thread count.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _data(n=64, d=12, seed=0):
    gen = torch.Generator().manual_seed(seed)
    probs = torch.linspace(0.15, 0.85, d)
    x = (torch.rand(n, 1, 1, d, generator=gen) < probs).float()
    freq = x.reshape(n, -1).mean(0)
    assert torch.all((freq > 0) & (freq < 1))  # the MLE is attainable with finite logits
    return x


def _cfg(**kw):
    base = dict(epochs=2, batch_size=16, lr=0.05, seed=0, progress=False)
    base.update(kw)
    return LikelihoodTrainConfig(**base)


def test_config_defaults_and_frozen():
    cfg = LikelihoodTrainConfig()
    assert (cfg.epochs, cfg.batch_size, cfg.lr, cfg.seed, cfg.progress) == (5, 128, 0.05, 0, True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.epochs = 3


def test_train_pixel_bernoulli_reaches_closed_form_nll():
    x = _data()
    freq = x.reshape(len(x), -1).mean(0)
    # Oracle: at the MLE (pi = empirical frequency) the mean NLL is the sum of Bernoulli entropies.
    optimum = float(Bernoulli(probs=freq).entropy().sum())
    torch.testing.assert_close(
        -PixelBernoulli.fit(x, alpha=0).log_prob(x).mean(),
        torch.tensor(optimum),
        rtol=1e-5,
        atol=1e-5,
    )
    model = PixelBernoulli((1, 1, 12))
    start = float(-model.log_prob(x).mean().detach())
    history = train_likelihood(model, x, _cfg(epochs=60, batch_size=16, lr=0.05))
    with torch.no_grad():
        final = float(-model.log_prob(x).mean())
    assert start == pytest.approx(12 * math.log(2))
    # Never below the optimum (it is the minimum), and within 0.02 nats of it (start is ~0.6 above).
    assert optimum - 1e-5 <= final < optimum + 0.02, (final, optimum)
    torch.testing.assert_close(model.probs.detach(), freq, atol=0.05, rtol=0)
    # The recorded mini-batch losses came down as well.
    assert sum(history[-8:]) / 8 < start - 0.4


@pytest.mark.parametrize("n,batch,epochs", [(50, 16, 3), (48, 16, 2), (5, 16, 4), (7, 1, 1)])
def test_history_length_is_epochs_times_batches(n, batch, epochs):
    history = train_likelihood(
        PixelBernoulli((1, 1, 12)), _data(n=64)[:n], _cfg(epochs=epochs, batch_size=batch)
    )
    assert len(history) == epochs * math.ceil(n / batch)
    assert all(isinstance(v, float) for v in history)


def test_history_records_loss_before_each_step():
    # With zero logits every pixel has probability 1/2, so the first loss is D log 2 whatever the batch.
    history = train_likelihood(PixelBernoulli((1, 1, 12)), _data(), _cfg(epochs=1))
    assert history[0] == pytest.approx(12 * math.log(2), rel=1e-6)
    assert history[1] != pytest.approx(history[0])


def test_first_step_is_an_adam_step_down_the_nll():
    # One full-batch Adam step from zero moves each logit by lr * sign(-grad), up to Adam's eps.
    x = _data()
    model = PixelBernoulli((1, 1, 12))
    lr = 0.1
    train_likelihood(model, x, _cfg(epochs=1, batch_size=len(x), lr=lr))
    freq = x.reshape(len(x), -1).mean(0)
    # d(NLL)/d(logit) = pi - freq = 0.5 - freq, so descent raises the logit where freq > 1/2.
    expected = lr * torch.sign(freq - 0.5)
    torch.testing.assert_close(model.logits.detach(), expected, rtol=0, atol=1e-5)


def test_same_seed_same_history_different_seed_different_history():
    x = _data()
    runs = [train_likelihood(PixelBernoulli((1, 1, 12)), x, _cfg(seed=s)) for s in (3, 3, 4)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_training_does_not_modify_data():
    x = _data()
    before = x.clone()
    train_likelihood(PixelBernoulli((1, 1, 12)), x, _cfg(epochs=1))
    assert torch.equal(x, before)


def test_progress_bar_enabled_runs(capsys):
    history = train_likelihood(
        PixelBernoulli((1, 1, 12)), _data(n=16), _cfg(epochs=1, progress=True)
    )
    assert len(history) == 1
    assert "max-likelihood" in capsys.readouterr().err


def test_model_without_log_prob_is_rejected():
    with pytest.raises(TypeError, match="model must have method.s. log_prob; a Linear has not"):
        train_likelihood(nn.Linear(3, 1), torch.zeros(4, 3), _cfg())


@pytest.mark.parametrize(
    "kw",
    [
        dict(epochs=0),
        dict(epochs=-1),
        dict(batch_size=0),
        dict(lr=0.0),
        dict(lr=-0.01),
        dict(lr=float("nan")),
    ],
)
def test_bad_config_is_rejected(kw):
    model = PixelBernoulli((1, 1, 12))
    before = model.logits.detach().clone()
    with pytest.raises(
        ValueError,
        match=r"LikelihoodTrainConfig\.(epochs|batch_size|lr) must be (an int|> 0|finite)",
    ):
        train_likelihood(model, _data(), _cfg(**kw))
    assert torch.equal(model.logits.detach(), before)


class _Broken(nn.Module):
    r"""A model whose log_prob becomes ``value`` from call number ``after`` on."""

    def __init__(self, value: float, after: int = 0) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.value, self.after, self.calls = value, after, 0

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        lp = -(x.reshape(len(x), -1) - self.w).pow(2).sum(1)
        if self.calls > self.after:
            lp = lp + self.value
        return lp


@pytest.mark.parametrize("value,shown", [(-math.inf, "inf"), (math.nan, "nan"), (math.inf, "-inf")])
def test_non_finite_loss_raises_floating_point_error(value, shown):
    with pytest.raises(
        TrainingDiverged, match=rf"loss became {shown} at step 1: lower cfg.lr \(now 0.05\)"
    ):
        train_likelihood(_Broken(value), torch.zeros(8, 2), _cfg())


def test_non_finite_loss_reports_the_first_bad_step():
    # The losses are checked once per logging interval (no host sync per step), so the guard
    # names the first bad step exactly, though a few more steps may have run on NaN weights.
    model = _Broken(math.nan, after=3)
    with pytest.raises(FloatingPointError, match="at step 4:") as info:
        train_likelihood(model, torch.ones(8, 2), _cfg(batch_size=2, lr=0.5))
    assert info.value.step == 4 and info.value.loss_name == "loss"


class _Recorder(nn.Module):
    r"""Records every batch it is asked to score; its log_prob is a trivial differentiable function."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.seen: list[torch.Tensor] = []

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return -((x[:, 0] - self.w) ** 2)


def test_every_example_once_per_epoch_in_a_fresh_seeded_order():
    n, batch, epochs = 10, 4, 3
    data = torch.arange(n, dtype=torch.float32).reshape(n, 1)
    model = _Recorder()
    train_likelihood(model, data, _cfg(epochs=epochs, batch_size=batch, seed=7))
    per_epoch = math.ceil(n / batch)
    assert len(model.seen) == epochs * per_epoch
    orders = []
    for e in range(epochs):
        order = torch.cat(model.seen[e * per_epoch : (e + 1) * per_epoch])[:, 0]
        assert sorted(order.tolist()) == list(range(n))  # a permutation: each example exactly once
        orders.append(order.tolist())
    # A new order each epoch (the chance that 3 random permutations of 10 coincide is negligible).
    assert orders[0] != orders[1] != orders[2]
    # Same seed, fresh model: the same sequence of batches.
    again = _Recorder()
    train_likelihood(again, data, _cfg(epochs=epochs, batch_size=batch, seed=7))
    assert all(torch.equal(a, b) for a, b in zip(model.seen, again.seen, strict=False))


def test_pixel_data_is_checked_once_before_training_and_never_per_step(monkeypatch):
    import aigc_course.models.baselines as baselines

    checked = []
    real_check = baselines.check_range

    def counting_check(x, *args, **kwargs):
        checked.append(x.shape[0])
        return real_check(x, *args, **kwargs)

    monkeypatch.setattr(baselines, "check_range", counting_check)
    x = _data(n=64)
    history = train_likelihood(PixelBernoulli((1, 1, 12)), x, _cfg(epochs=3, batch_size=16))
    assert len(history) == 12  # 3 epochs of 4 steps ...
    assert checked == [16, 16, 16, 16]  # ... and every example checked once, before them
    bad = x.clone()
    bad[37, 0, 0, 5] = 1.5  # one pixel out of range fails before any step
    with pytest.raises(ValueError, match="PixelBernoulli.log_prob: x"):
        train_likelihood(PixelBernoulli((1, 1, 12)), bad, _cfg(epochs=1))
    model = PixelBernoulli((1, 1, 12))
    with pytest.raises(ValueError, match="PixelBernoulli.log_prob: x"):
        model.log_prob(bad)  # the public call still checks by default
    assert model.log_prob(bad, validate=False).shape == (64,)
