"""train_diffusion on the training core: results, EMA, stopping, resume, bad input."""

import pytest
import torch

from aigc_course.data.toy import ring_of_gaussians
from aigc_course.models.denoiser import MLPDenoiser, MLPDenoiserConfig
from aigc_course.sampling import NoiseSchedule, flow_matching_sample
from aigc_course.train.diffusion import (
    DiffusionTrainConfig,
    make_schedule,
    train_diffusion,
)
from aigc_course.train.ema import warmed_up_decay as ema_decay
from aigc_course.train.errors import TrainingDiverged

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _data(n=256):
    return ring_of_gaussians(n, n_modes=2, radius=1.5, std=0.05, generator=torch.Generator())[0]


def _model(seed=0, **kw):
    torch.manual_seed(seed)
    return MLPDenoiser(MLPDenoiserConfig(hidden=32, depth=2, **kw))


def _cfg(**kw):
    base = dict(steps=6, batch_size=32, lr=1e-2, T=50, progress=False, device="cpu", log_every=2)
    return DiffusionTrainConfig(**(base | kw))


def _params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize("objective", ["eps", "flow_matching"])
def test_result_history_and_ema(objective):
    result = train_diffusion(_model(), _data(), _cfg(objective=objective, ema_decay=0.5))
    assert result.steps == 6 and result.stopped_by == "steps" and result.seconds > 0
    assert len(result.history["loss"]) == 6
    assert all(v > 0 for v in result.history["loss"])
    assert isinstance(result.schedule, NoiseSchedule) == (objective == "eps")
    assert result.ema_model is not None and not result.ema_model.training
    assert not torch.equal(_params(result.ema_model), _params(result.model))
    assert result.sampling_model is result.ema_model
    again = train_diffusion(_model(), _data(), _cfg(objective=objective, ema_decay=0.5))
    assert torch.equal(_params(again.model), _params(result.model))  # seeded: bit-identical
    assert flow_matching_sample(result.sampling_model, (5, 2), steps=2).shape == (5, 2)


def test_ema_follows_the_warmed_up_average():
    assert ema_decay(0.999, 1) == 2 / 11 and ema_decay(0.999, 80) == 0.9
    assert ema_decay(0.999, 10**6) == 0.999 and ema_decay(0.5, 100) == 0.5
    # Replay the average by hand from the weights after each step (read through on_step).
    snapshots = []

    def keep(step, state):
        snapshots.append(_params(state.models["model"]))

    result = train_diffusion(_model(), _data(), _cfg(ema_decay=0.99), on_step=keep)
    avg = _params(_model())
    for n, weights in enumerate(snapshots, start=1):
        lam = min(0.99, (1 + n) / (10 + n))
        avg = lam * avg + (1 - lam) * weights
    assert torch.allclose(_params(result.ema_model), avg, atol=1e-6)


def test_without_ema_and_with_labels():
    data = _data()
    labels = (data[:, 0] > 0).long()
    result = train_diffusion(
        _model(n_classes=2), data, _cfg(ema_decay=None, grad_clip=1.0), labels=labels
    )
    assert result.ema_model is None and result.sampling_model is result.model


def test_on_step_and_max_seconds_stop_training():
    seen = []

    def stop_at_3(step, state):
        seen.append(step)
        return step == 3

    result = train_diffusion(_model(), _data(), _cfg(), on_step=stop_at_3)
    assert result.steps == 3 and result.stopped_by == "on_step" and seen == [1, 2, 3]
    result = train_diffusion(_model(), _data(), _cfg(steps=1000, max_seconds=1e-9))
    assert result.steps == 1 and result.stopped_by == "max_seconds"


def test_resume_equals_an_uninterrupted_run(tmp_path):
    full = train_diffusion(_model(), _data(), _cfg(objective="eps", ema_decay=0.9))
    path = tmp_path / "run.pt"
    first = _cfg(objective="eps", ema_decay=0.9, steps=3, checkpoint_path=path)
    train_diffusion(_model(), _data(), first)
    later = _cfg(objective="eps", ema_decay=0.9, checkpoint_path=path)
    resumed = train_diffusion(_model(seed=1), _data(), later, resume=True)
    assert resumed.steps == 6
    assert torch.equal(_params(resumed.model), _params(full.model))
    assert torch.equal(_params(resumed.ema_model), _params(full.ema_model))
    assert resumed.history["loss"] == full.history["loss"]


def test_nan_loss_is_reported():
    class Bad(torch.nn.Module):
        n_classes = None

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))

        def forward(self, x, t, labels=None):
            return x * self.w * float("nan")

    with pytest.raises(TrainingDiverged, match="diffusion loss"):
        train_diffusion(Bad(), _data(), _cfg())


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="objective must be one of"):
        DiffusionTrainConfig(objective="v")
    with pytest.raises(ValueError, match="schedule must be one of"):
        DiffusionTrainConfig(schedule="sigmoid")
    with pytest.raises(ValueError, match=r"p_uncond must be in \[0, 1\)"):
        DiffusionTrainConfig(p_uncond=1.0)
    with pytest.raises(ValueError, match="ema_decay must be in"):
        DiffusionTrainConfig(ema_decay=1.0)
    with pytest.raises(ValueError, match="lr must be > 0"):
        DiffusionTrainConfig(lr=0)
    with pytest.raises(ValueError, match="steps must be an int >= 0"):
        DiffusionTrainConfig(steps=-1)
    with pytest.raises(ValueError, match="checkpoint_path is None"):
        DiffusionTrainConfig(checkpoint_every=5)
    assert make_schedule(DiffusionTrainConfig(T=100, schedule="cosine")).T == 100
    with pytest.raises(ValueError, match="at least cfg.batch_size=32"):
        train_diffusion(_model(), _data(8), _cfg())
    with pytest.raises(TypeError, match="data must be a floating-point tensor"):
        train_diffusion(_model(), torch.zeros(64, 2, dtype=torch.long), _cfg())
    with pytest.raises(ValueError, match="NaN"):
        train_diffusion(_model(), torch.full((64, 2), float("nan")), _cfg())
    with pytest.raises(ValueError, match="model is unconditional"):
        train_diffusion(_model(), _data(), _cfg(), labels=torch.zeros(256, dtype=torch.long))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 1\]"):
        train_diffusion(_model(n_classes=2), _data(), _cfg(), labels=torch.full((256,), 2))
