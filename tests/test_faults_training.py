"""Training faults and bad inputs of the second reliability probe (issue 21): clear errors only."""

import dataclasses
import math
import re

import pytest
import torch
from torch import nn

from aigc_course.data.toy import ring_of_gaussians
from aigc_course.metrics.classifier import classifier_accuracy
from aigc_course.metrics.likelihood import evaluate_vae
from aigc_course.models.baselines import PixelBernoulli
from aigc_course.models.classifier import ClassifierConfig, LeNetClassifier
from aigc_course.models.denoiser import MLPDenoiser, MLPDenoiserConfig
from aigc_course.models.gan import ToyDiscriminator, ToyGANConfig, ToyGenerator
from aigc_course.models.vae import MLPVAE, VAEConfig
from aigc_course.train import (
    AutoregressiveTrainConfig,
    ClassifierTrainConfig,
    DiffusionTrainConfig,
    GANTrainConfig,
    LikelihoodTrainConfig,
    NormalizingFlowTrainConfig,
    TrainingDiverged,
    VAETrainConfig,
    ema_copy,
    ema_update_,
    load_checkpoint,
    save_checkpoint,
    standard_normal_noise,
    train_classifier,
    train_diffusion,
    train_gan,
    train_likelihood,
    train_vae,
    warmed_up_decay,
)
from aigc_course.train.config import RunConfig, TrainResult
from aigc_course.train.diffusion import make_schedule

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _ring(n=64):
    return ring_of_gaussians(n, generator=torch.Generator().manual_seed(0))[0]


def _images(n=16, seed=0):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def _vae():
    torch.manual_seed(0)
    return MLPVAE(VAEConfig(latent_dim=2, hidden=16))


def _denoiser():
    torch.manual_seed(0)
    return MLPDenoiser(MLPDenoiserConfig(hidden=16, depth=1))


GAN = GANTrainConfig(steps=3, batch_size=16, n_fixed=0, progress=False)
VAE = VAETrainConfig(epochs=1, batch_size=8, progress=False)
DIFF = DiffusionTrainConfig(steps=3, batch_size=16, T=50, device="cpu", progress=False)


# ------------------------------------------------------------------ one run config


@pytest.mark.parametrize(
    "config",
    [
        GANTrainConfig,
        VAETrainConfig,
        DiffusionTrainConfig,
        ClassifierTrainConfig,
        LikelihoodTrainConfig,
        AutoregressiveTrainConfig,
        NormalizingFlowTrainConfig,
    ],
)
def test_every_train_config_is_a_frozen_keyword_only_run_config(config):
    cfg = config(steps=1) if config is GANTrainConfig else config()
    assert isinstance(cfg, RunConfig)
    assert dataclasses.replace(cfg, max_seconds=1.5).max_seconds == 1.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 3
    with pytest.raises(TypeError):
        config(1) if config is not GANTrainConfig else config(1, 2)  # keyword-only
    for field, bad, error in (
        ("batch_size", 0, ValueError),
        ("batch_size", 2.5, TypeError),
        ("seed", -1, ValueError),
        ("log_every", True, TypeError),
        ("max_seconds", float("nan"), ValueError),
        ("device", 0, TypeError),
        ("progress", "yes", TypeError),
        ("checkpoint_path", 3, TypeError),
    ):
        with pytest.raises(error, match=f"{config.__name__}.{field}"):
            dataclasses.replace(cfg, **{field: bad})
    with pytest.raises(ValueError, match="checkpoint_path is None"):
        dataclasses.replace(cfg, checkpoint_every=5)


def test_the_defaults_of_today_are_kept():
    assert GANTrainConfig(steps=1).batch_size == 64 and GANTrainConfig(steps=1).device == "cpu"
    assert GANTrainConfig(steps=1).ema_warmup is False  # the case study's outputs
    assert VAETrainConfig().device == "cpu" and VAETrainConfig().checkpoint_every is None
    assert ClassifierTrainConfig().batch_size == 64
    assert LikelihoodTrainConfig().device == "cpu"
    assert DiffusionTrainConfig().device is None and DiffusionTrainConfig().log_every == 10


def test_flow_objective_is_deprecated_and_mapped():
    with pytest.warns(FutureWarning, match="flow_matching"):
        cfg = DiffusionTrainConfig(objective="flow")
    assert cfg.objective == "flow_matching"
    with pytest.raises(ValueError, match="objective must be one of"):
        DiffusionTrainConfig(objective="v")


# ------------------------------------------------------------------ resume of a missing file


def test_resume_of_a_missing_checkpoint_says_it_starts_fresh(tmp_path, capsys):
    runs = (
        lambda p: train_gan(
            ToyGenerator(ToyGANConfig()),
            ToyDiscriminator(ToyGANConfig()),
            _ring(),
            dataclasses.replace(GAN, checkpoint_path=p),
            resume=True,
        ),
        lambda p: train_vae(
            _vae(), _images(), dataclasses.replace(VAE, checkpoint_path=p), resume=True
        ),
        lambda p: train_diffusion(
            _denoiser(), _ring(), dataclasses.replace(DIFF, checkpoint_path=p), resume=True
        ),
    )
    for i, run in enumerate(runs):
        path = tmp_path / f"missing-{i}.pt"
        result = run(path)
        assert isinstance(result, TrainResult) and result.steps > 0
        out = capsys.readouterr().out
        assert out.count("\n") == 1 and f"no checkpoint at {path}" in out
        assert "starting fresh" in out and path.is_file()


# ------------------------------------------------------------------ divergence advice


def test_the_divergence_advice_works(tmp_path):
    path = tmp_path / "div.pt"
    data = _images(8)
    diverging = dataclasses.replace(VAE, lr=1e6, epochs=8, checkpoint_path=path)
    with pytest.raises(TrainingDiverged) as info:
        train_vae(_vae(), data, diverging)
    message = str(info.value)
    # The review's probe: the checkpoint written before the divergence holds weights of
    # |w| ~ 1e6, so resuming it at a sane rate diverges again. The advice is to start fresh.
    assert "restart from scratch" in message and "resume=False" in message
    sane = dataclasses.replace(VAE, lr=1e-3, epochs=8, checkpoint_path=path)
    result = train_vae(_vae(), data, sane, resume=False)  # what the message says
    assert result.steps == 8 and all(math.isfinite(v) for v in result.history["loss"])


# ------------------------------------------------------------------ bad arguments


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: train_diffusion(None, _ring(), DIFF), TypeError, "model must be a torch.nn"),
        (
            lambda: train_diffusion(nn.Linear(2, 2), _ring(), DIFF),
            TypeError,
            r"model must be called as model\(x, time, labels\)",
        ),
        (
            lambda: train_diffusion(_denoiser(), _ring(), None),
            TypeError,
            "cfg must be a DiffusionTrainConfig",
        ),
        (
            lambda: train_diffusion(_denoiser(), _ring(), GAN),
            TypeError,
            "cfg must be a DiffusionTrainConfig, got GANTrainConfig",
        ),
        (
            lambda: train_gan(ToyGenerator(ToyGANConfig()), None, _ring(), GAN),
            TypeError,
            "discriminator must be a torch.nn.Module",
        ),
        (
            lambda: train_gan(None, ToyDiscriminator(ToyGANConfig()), _ring(), GAN),
            TypeError,
            "generator must be a torch.nn.Module",
        ),
        (lambda: train_vae(None, _images(), VAE), TypeError, "model must be a torch.nn"),
        (lambda: train_vae(_vae(), _images(), DIFF), TypeError, "cfg must be a VAETrainConfig"),
        (
            lambda: train_classifier(
                None, _images(), torch.zeros(16, dtype=torch.long), ClassifierTrainConfig()
            ),
            TypeError,
            "model must be",
        ),
        (
            lambda: train_classifier(
                "lenet", _images(), torch.zeros(16, dtype=torch.long), ClassifierTrainConfig()
            ),
            TypeError,
            "model must be",
        ),
        (
            lambda: train_likelihood(PixelBernoulli((1, 28, 28)), _images(), VAE),
            TypeError,
            "cfg must be a LikelihoodTrainConfig",
        ),
        (lambda: make_schedule(None), TypeError, "cfg must be a DiffusionTrainConfig"),
        (lambda: make_schedule(GAN), TypeError, "cfg must be a DiffusionTrainConfig"),
    ],
)
def test_train_functions_name_the_bad_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"n": -1}, ValueError, "n"),
        ({"n": 2.5}, TypeError, "n"),
        ({"n": None}, TypeError, "n"),
        ({"n": "8"}, TypeError, "n"),
        ({"n": True}, TypeError, "n"),
        ({"latent_dim": 0}, ValueError, "latent_dim"),
        ({"latent_dim": -1}, ValueError, "latent_dim"),
        ({"latent_dim": 2.5}, TypeError, "latent_dim"),
        ({"latent_dim": None}, TypeError, "latent_dim"),
        ({"latent_dim": "8"}, TypeError, "latent_dim"),
        ({"latent_dim": True}, TypeError, "latent_dim"),
        ({"generator": 3}, TypeError, "generator"),
    ],
)
def test_standard_normal_noise_bad_input(kwargs, error, name):
    args = {"n": 3, "generator": torch.Generator(), "latent_dim": 2} | kwargs
    with pytest.raises(error, match=rf"^{name} must"):
        standard_normal_noise(args["n"], args["generator"], latent_dim=args["latent_dim"])
    assert standard_normal_noise(0, torch.Generator(), latent_dim=2).shape == (0, 2)


@pytest.mark.parametrize("model", [None, "net", 3])
def test_ema_copy_bad_model(model):
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        ema_copy(model)


def test_ema_update_bad_input():
    net = ToyGenerator(ToyGANConfig())
    ema = ema_copy(net)
    before = [p.clone() for p in ema.parameters()]
    other = ToyDiscriminator(ToyGANConfig())
    cases = [
        ((None, net, 0.9), TypeError, "ema must be"),
        (("ema", net, 0.9), TypeError, "ema must be"),
        ((ema, None, 0.9), TypeError, "model must be"),
        ((ema, "net", 0.9), TypeError, "model must be"),
        ((ema_copy(other), net, 0.9), ValueError, "ema must be a copy of model"),
        ((ema, net, None), TypeError, "decay"),
        ((ema, net, "0.5"), TypeError, "decay"),
        ((ema, net, True), TypeError, "decay"),
        ((ema, net, -0.1), ValueError, "decay"),
        ((ema, net, 1.5), ValueError, "decay"),
        ((ema, net, 1.0), ValueError, "decay"),
        ((ema, net, math.nan), ValueError, "decay"),
    ]
    for args, error, match in cases:
        with pytest.raises(error, match=match):
            ema_update_(*args)
    assert all(torch.equal(a, b) for a, b in zip(before, ema.parameters(), strict=True))


def test_warmed_up_decay_values_and_bad_input():
    assert warmed_up_decay(0.999, 1) == 2 / 11 and warmed_up_decay(0.999, 80) == 0.9
    assert warmed_up_decay(0.999, 10**6) == 0.999
    for decay, step, error in (
        (None, 1, TypeError),
        ("0.5", 1, TypeError),
        (1.5, 1, ValueError),
        (-0.1, 1, ValueError),
        (math.nan, 1, ValueError),
        (True, 1, TypeError),
        (0.9, -1, ValueError),
        (0.9, 0, ValueError),
        (0.9, 2.5, TypeError),
        (0.9, None, TypeError),
        (0.9, "8", TypeError),
        (0.9, True, TypeError),
    ):
        with pytest.raises(error, match="decay|step"):
            warmed_up_decay(decay, step)


def test_ema_update_with_a_step_uses_the_warm_up():
    net = nn.Linear(2, 2)
    ema = ema_copy(net)
    with torch.no_grad():
        net.weight.add_(1.0)
    ema_update_(ema, net, 0.999, step=1)  # lambda_1 = 2/11
    expected = ema_copy(net).weight - 1.0 + (9 / 11) * 1.0
    torch.testing.assert_close(ema.weight, expected)


def test_classifier_accuracy_bad_input():
    model = LeNetClassifier(ClassifierConfig())
    x, y = _images(4), torch.zeros(4, dtype=torch.long)
    for bad_model in (None, "lenet"):
        with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
            classifier_accuracy(bad_model, x, y)
    for batch_size, error in (
        (0, ValueError),
        (2.5, TypeError),
        (None, TypeError),
        ("8", TypeError),
    ):
        with pytest.raises(error, match="batch_size"):
            classifier_accuracy(model, x, y, batch_size)
    assert 0.0 <= classifier_accuracy(model, x, y, 3) <= 1.0


def test_evaluate_vae_bad_model():
    x = (_images(4) > 0.5).float()
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        evaluate_vae(None, x, binarized=True)
    with pytest.raises(TypeError, match=re.escape("model must have method(s) encode, decode")):
        evaluate_vae(LeNetClassifier(ClassifierConfig()), x, binarized=True)


@pytest.mark.parametrize("path", [None, 3, ""])
def test_checkpoint_paths_must_be_file_names(path):
    with pytest.raises(TypeError, match="path must be a file name"):
        save_checkpoint(path, step=1)
    with pytest.raises(TypeError, match="path must be a file name"):
        load_checkpoint(path)


def test_new_run_settings_leave_the_classifier_cache_key_alone():
    from aigc_course.train import classifier_cache_key

    x, y = torch.zeros(5, 28, 28, dtype=torch.uint8), torch.zeros(5, dtype=torch.long)
    base = ClassifierTrainConfig(progress=False)
    key = classifier_cache_key(x, y, ClassifierConfig(), base)
    # The key of this setting in the version before RunConfig (weights cached then load now).
    assert key == "f6cb5ec5e47db3efe9688b6d1faa286351b429e2b2064f0c0ba166b2fc8dfa61"
    for change in ({"log_every": 3}, {"device": None}):
        assert (
            classifier_cache_key(x, y, ClassifierConfig(), dataclasses.replace(base, **change))
            == key
        )


def test_train_gan_refuses_images_outside_the_generators_declared_range():
    from aigc_course.models import DCGANConfig, DCGANDiscriminator, DCGANGenerator

    torch.manual_seed(0)
    x = torch.rand(64, 1, 28, 28) * 2 - 1
    cfg = GANTrainConfig(steps=1, batch_size=32, progress=False)
    G, D = DCGANGenerator(DCGANConfig()), DCGANDiscriminator(DCGANConfig())
    with pytest.raises(ValueError, match=r"data must have values in \[-1, 1\].*to_signed"):
        train_gan(G, D, x * 1e20, cfg)  # finite, but nothing a tanh generator can make
    with pytest.raises(ValueError, match=r"0..255 pixels"):
        train_gan(G, D, (x + 1) * 127.5, cfg)
    assert train_gan(G, D, x, cfg).steps == 1
