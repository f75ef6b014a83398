"""train_normalizing_flow through the loop core: determinism, bit-identical resume (with the
dequantisation noise), the divergence guard on the log-determinant, and a 2-D fit whose held-out
NLL approaches the entropy of the true density."""

import dataclasses
import math

import pytest
import torch
from torch import nn

from aigc_course.models.normalizing_flow import NormalizingFlow, NormalizingFlowConfig
from aigc_course.train import (
    NormalizingFlowTrainConfig,
    TrainingDiverged,
    load_checkpoint,
    train_normalizing_flow,
)
from aigc_course.train.core import Loop

torch.set_num_threads(1)

TOY = NormalizingFlowConfig(data_shape=(2,), n_couplings=2, hidden=8)
IMAGE = NormalizingFlowConfig(data_shape=(1, 4, 4), n_couplings=2, hidden=4, logit_alpha=0.05)


def _data(kind: str, n: int = 48) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    if kind == "toy":
        return torch.randn(n, 2, generator=g) * torch.tensor([2.0, 0.5]) + 1.0
    return torch.randint(256, (n, 1, 4, 4), generator=g).float() / 255.0


def _cfg(kind: str, **kw) -> NormalizingFlowTrainConfig:
    levels = None if kind == "toy" else 256
    settings = {"epochs": 3, "batch_size": 16, "lr": 1e-2, "dequantize_levels": levels}
    return NormalizingFlowTrainConfig(progress=False, **(settings | kw))


def _model(kind: str, seed: int = 0) -> NormalizingFlow:
    torch.manual_seed(seed)
    return NormalizingFlow(TOY if kind == "toy" else IMAGE)


@pytest.mark.parametrize("kind", ["toy", "image"])
def test_training_is_seeded(kind):
    a = train_normalizing_flow(_model(kind), _data(kind), _cfg(kind))
    b = train_normalizing_flow(_model(kind), _data(kind), _cfg(kind))
    assert a.history == b.history and a.steps == 9 and a.stopped_by == "steps"
    assert set(a.history) == {"log_det", "nll"}
    assert all(math.isfinite(v) for v in a.history["nll"])
    c = train_normalizing_flow(_model(kind), _data(kind), _cfg(kind, seed=1))
    assert c.history != a.history


@pytest.mark.parametrize("kind", ["toy", "image"])
def test_resume_from_a_checkpoint_matches_an_uninterrupted_run(tmp_path, kind):
    full = train_normalizing_flow(_model(kind), _data(kind), _cfg(kind))
    path = tmp_path / "nf.pt"
    cfg = _cfg(kind, epochs=1, checkpoint_path=path)
    train_normalizing_flow(_model(kind), _data(kind), cfg)
    assert load_checkpoint(path)["step"] == 3
    fresh = _model(kind, seed=123)  # everything must come from the checkpoint
    resumed = train_normalizing_flow(
        fresh, _data(kind), dataclasses.replace(cfg, epochs=3), resume=True
    )
    assert resumed.history == full.history and resumed.steps == 9
    for pa, pb in zip(full.model.state_dict().values(), fresh.state_dict().values(), strict=True):
        assert torch.equal(pa, pb)
    assert not list(tmp_path.glob(".*.tmp"))


class _BlowsUp(nn.Module):
    r"""A one-parameter flow z = w x whose log-determinant becomes +inf from its second call."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        log_det = 2 * torch.log(self.w.abs()).expand(x.shape[0])
        if self.calls >= 2:
            log_det = log_det + math.inf
        return x * self.w, log_det


def test_a_non_finite_log_det_stops_with_the_divergence_error_and_no_bad_checkpoint(tmp_path):
    path = tmp_path / "nf.pt"
    cfg = _cfg("toy", checkpoint_path=path, checkpoint_every=1)
    with pytest.raises(TrainingDiverged, match=r"log\|det J\| became inf at step 2") as info:
        train_normalizing_flow(_BlowsUp(), _data("toy"), cfg)
    assert info.value.step == 2 and "cfg.lr" in str(info.value)
    ckpt = load_checkpoint(path)
    assert ckpt["step"] == 1
    assert all(math.isfinite(v) for v in ckpt["history"]["nll"])
    assert all(torch.isfinite(t).all() for t in ckpt["model"].values())


def test_time_budget_and_on_step_stop_training():
    res = train_normalizing_flow(
        _model("toy"), _data("toy"), _cfg("toy"), on_step=lambda step, state: step == 2
    )
    assert res.steps == 2 and res.stopped_by == "on_step"
    res = train_normalizing_flow(_model("toy"), _data("toy"), _cfg("toy", max_seconds=1e-9))
    assert res.steps == 1 and res.stopped_by == "max_seconds"


def _mixture_log_prob(x: torch.Tensor) -> torch.Tensor:
    means = torch.tensor([[-1.0, 0.0], [1.0, 0.0]])
    comp = torch.distributions.Normal(means, 0.5)
    return torch.logsumexp(comp.log_prob(x[:, None]).sum(-1), dim=1) - math.log(2)


def test_a_small_coupling_flow_reaches_the_entropy_of_a_2d_gaussian_mixture():
    r"""Held-out NLL within 0.1 nats of the true density's (paired on the same points)."""
    g = torch.Generator().manual_seed(0)

    def draw(n):
        sign = torch.randint(2, (n, 1), generator=g) * 2.0 - 1.0
        return torch.cat([sign, torch.zeros(n, 1)], 1) + 0.5 * torch.randn(n, 2, generator=g)

    train, test = draw(4096), draw(4096)
    torch.manual_seed(0)
    model = NormalizingFlow(NormalizingFlowConfig(data_shape=(2,), n_couplings=8, hidden=32))
    cfg = NormalizingFlowTrainConfig(epochs=30, batch_size=256, lr=3e-3, progress=False)
    train_normalizing_flow(model, train, cfg)
    with torch.no_grad():
        model_nll = -model.log_prob(test).mean()
    entropy = -_mixture_log_prob(test).mean()  # Monte-Carlo estimate of H(p)
    assert -0.05 < float(model_nll - entropy) < 0.1  # measured: 0.03 after 480 steps


def test_the_cosine_schedule_decays_the_learning_rate_to_zero_over_the_run(monkeypatch):
    lrs = []
    set_lr = Loop.set_lr

    def spy(self, opt, lr):
        lrs.append(lr)
        set_lr(self, opt, lr)

    monkeypatch.setattr(Loop, "set_lr", spy)
    cfg = _cfg("toy", lr_schedule="cosine", epochs=4)
    cosine = train_normalizing_flow(_model("toy"), _data("toy"), cfg)
    expected = [0.01 * 0.5 * (1 + math.cos(math.pi * i / 12)) for i in range(12)]
    assert lrs == pytest.approx(expected, rel=1e-9, abs=1e-15)
    with pytest.raises(ValueError, match="lr_schedule"):
        _cfg("toy", lr_schedule="linear")
    lrs.clear()
    constant = train_normalizing_flow(_model("toy"), _data("toy"), _cfg("toy", epochs=4))
    assert lrs == []  # a constant rate is never touched
    assert constant.history["nll"][0] == cosine.history["nll"][0]  # same first step
    assert constant.history["nll"][-1] != cosine.history["nll"][-1]
