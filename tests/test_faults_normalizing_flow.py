"""Bad input to the normalizing-flow surface: clear errors naming the argument (issue 24)."""

import dataclasses

import pytest
import torch

from aigc_course.models.normalizing_flow import (
    ActNorm,
    AffineCoupling,
    LogitTransform,
    NormalizingFlow,
    NormalizingFlowConfig,
    Squeeze,
    alternating_mask,
    channel_mask,
    checkerboard_mask,
)
from aigc_course.train import (
    CheckpointError,
    LikelihoodTrainConfig,
    NormalizingFlowTrainConfig,
    RunConfig,
    train_normalizing_flow,
)

torch.set_num_threads(1)

CFG = NormalizingFlowTrainConfig(epochs=1, batch_size=8, progress=False)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: channel_mask(3), ValueError, "channels must be even"),
        (lambda: channel_mask(1), ValueError, "channels"),
        (lambda: channel_mask(4, parity=2), ValueError, "parity"),
        (lambda: checkerboard_mask(0, 4), ValueError, "height"),
        (lambda: checkerboard_mask(4, 2.5), TypeError, "width"),
        (lambda: alternating_mask(1), ValueError, "dim"),
        (lambda: AffineCoupling(torch.ones(3), 8), ValueError, "at least one 0"),
        (lambda: AffineCoupling(torch.tensor([0.5, 1.0]), 8), ValueError, "only 0 and 1"),
        (lambda: AffineCoupling(alternating_mask(2), 0), ValueError, "hidden"),
        (lambda: AffineCoupling(channel_mask(4), 8, channels=2), ValueError, "channels=2"),
        (lambda: AffineCoupling(checkerboard_mask(2, 2), 8), TypeError, "channels"),
        (lambda: AffineCoupling([1.0, 0.0], 8), TypeError, "mask"),
        (lambda: ActNorm(0), ValueError, "channels"),
        (lambda: LogitTransform(0.5), ValueError, "alpha"),
        (lambda: LogitTransform(float("nan")), ValueError, "alpha"),
        (lambda: Squeeze()(torch.zeros(2, 1, 5, 4)), ValueError, "even height and width"),
        (lambda: NormalizingFlow("big"), TypeError, "NormalizingFlowConfig"),
    ],
)
def test_layers_name_the_bad_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"data_shape": (1,)}, ValueError, r"data_shape must have D >= 2"),
        ({"data_shape": [2]}, ValueError, r"data_shape must be a tuple"),
        ({"data_shape": (1, 28)}, ValueError, r"data_shape must be a tuple"),
        ({"data_shape": (1, 0, 28)}, ValueError, r"data_shape\[1\]"),
        ({"data_shape": (1, 28, 28), "n_scales": 4}, ValueError, r"data_shape .* divisible by 8"),
        ({"data_shape": (1, 7, 7), "n_scales": 2}, ValueError, r"data_shape .* cannot be squeezed"),
        ({"data_shape": (2,), "n_scales": 2}, ValueError, r"n_scales must be 1"),
        (
            {"data_shape": (2,), "invertible_conv": True},
            ValueError,
            r"n_scales must be 1 and invertible_conv",
        ),
        ({"n_couplings": 0}, ValueError, r"n_couplings"),
        ({"hidden": 2.0}, TypeError, r"hidden"),
        ({"actnorm": 1}, TypeError, r"actnorm"),
        ({"logit_alpha": 0.0}, ValueError, r"logit_alpha"),
    ],
)
def test_config_names_the_bad_field(kwargs, error, match):
    with pytest.raises(error, match="NormalizingFlowConfig." + match):
        NormalizingFlowConfig(**kwargs)


def test_the_model_refuses_wrong_shapes_and_labels():
    model = NormalizingFlow(NormalizingFlowConfig(data_shape=(1, 4, 4), n_couplings=1, hidden=4))
    with pytest.raises(ValueError, match=r"x of shape \(B, 1, 4, 4\).*unsqueeze"):
        model.log_prob(torch.rand(2, 4, 4))
    with pytest.raises(ValueError, match=r"x of shape \(B, 1, 4, 4\)"):
        model.log_prob(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"z of shape"):
        model.inverse(torch.rand(2, 4, 2, 2))
    with pytest.raises(TypeError, match="not conditional"):
        model.sample(2, labels=1)
    with pytest.raises(ValueError, match="n must be"):
        model.sample(-1)


def test_the_train_config_is_a_frozen_run_config_naming_its_fields():
    assert isinstance(CFG, RunConfig)
    with pytest.raises(dataclasses.FrozenInstanceError):
        CFG.lr = 1.0
    for field, bad, error in (
        ("epochs", 0, ValueError),
        ("lr", -1.0, ValueError),
        ("lr", float("inf"), ValueError),
        ("dequantize_levels", 1, ValueError),
        ("dequantize_levels", 256.0, TypeError),
        ("max_grad_norm", 0.0, ValueError),
        ("batch_size", 0, ValueError),
    ):
        with pytest.raises(error, match=f"NormalizingFlowTrainConfig.{field}"):
            dataclasses.replace(CFG, **{field: bad})


@pytest.mark.parametrize(
    "data, cfg, error, match",
    [
        (torch.tensor([[0.0, float("nan")]] * 4), CFG, ValueError, "data contains NaN"),
        (torch.tensor([[0.0, float("inf")]] * 4), CFG, ValueError, "data contains NaN or Inf"),
        (torch.randint(9, (4, 2)), CFG, TypeError, "data must be a floating-point"),
        (torch.zeros(0, 2), CFG, ValueError, "data is empty"),
        ([[0.0, 1.0]], CFG, TypeError, "data must be a torch.Tensor"),
        (torch.zeros(4, 2), LikelihoodTrainConfig(), TypeError, "NormalizingFlowTrainConfig"),
    ],
)
def test_train_refuses_bad_data_and_configs(data, cfg, error, match):
    with pytest.raises(error, match=match):
        train_normalizing_flow(NormalizingFlow(), data, cfg)


@pytest.mark.parametrize(
    "data, match",
    [
        (torch.full((4, 1, 4, 4), 2.0), r"data must have values in \[0, 1\].*0..255"),
        (torch.full((4, 1, 4, 4), -0.5), r"data must have values in \[0, 1\]"),
        (torch.full((4, 1, 4, 4), 0.5), r"data must hold 256-level intensities"),
        (torch.full((4, 1, 4, 4), float("nan")), "NaN"),
    ],
)
def test_train_refuses_images_outside_the_dequantization_range(data, match):
    model = NormalizingFlow(
        NormalizingFlowConfig(data_shape=(1, 4, 4), n_couplings=1, hidden=4, logit_alpha=0.05)
    )
    cfg = dataclasses.replace(CFG, dequantize_levels=256)
    with pytest.raises(ValueError, match=match):
        train_normalizing_flow(model, data, cfg)


def test_a_mismatched_checkpoint_is_refused_before_anything_is_loaded(tmp_path):
    path = tmp_path / "nf.pt"
    data = torch.randn(16, 2)
    cfg = dataclasses.replace(CFG, checkpoint_path=path)
    train_normalizing_flow(NormalizingFlow(NormalizingFlowConfig(hidden=8)), data, cfg)
    other = NormalizingFlow(NormalizingFlowConfig(hidden=16))
    before = {k: v.clone() for k, v in other.state_dict().items()}
    with pytest.raises(CheckpointError, match=str(path.name)):
        train_normalizing_flow(other, data, dataclasses.replace(cfg, epochs=2), resume=True)
    assert all(torch.equal(before[k], v) for k, v in other.state_dict().items())
    with pytest.raises(ValueError, match="batch_size=8 in the checkpoint but 4 now"):
        train_normalizing_flow(
            NormalizingFlow(NormalizingFlowConfig(hidden=8)),
            data,
            dataclasses.replace(cfg, epochs=2, batch_size=4),
            resume=True,
        )


def test_log_prob_checks_its_input_unless_told_not_to():
    toy = NormalizingFlow(NormalizingFlowConfig(hidden=4))
    with pytest.raises(ValueError, match="x contains NaN or Inf"):
        toy.log_prob(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(TypeError, match="x must be a floating-point"):
        toy.log_prob(torch.zeros(2, 2, dtype=torch.long))
    assert toy.log_prob(torch.zeros(0, 2)).shape == (0,)
    images = NormalizingFlow(
        NormalizingFlowConfig(data_shape=(1, 2, 2), n_couplings=1, hidden=4, logit_alpha=0.05)
    )
    with pytest.raises(ValueError, match=r"x must have values in \[0, 1\].*0..255"):
        images.log_prob(torch.full((1, 1, 2, 2), 200.0))
    assert torch.isnan(images.log_prob(torch.full((1, 1, 2, 2), 200.0), validate=False)).all()
