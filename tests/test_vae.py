r"""Tests of the VAE models (aigc_course.models.vae) and their training/evaluation (aigc_course.train.vae)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from aigc_course.data import iterate_batches, random_shift
from aigc_course.losses import negative_elbo
from aigc_course.models import MLPVAE, ConvVAE, VAEConfig
from aigc_course.train import (
    TrainingDiverged,
    VAETrainConfig,
    evaluate_vae,
    load_checkpoint,
    train_vae,
    vae_step,
)


def _images(n=64, seed=0, binary=False):
    g = torch.Generator().manual_seed(seed)
    # Blobs at random positions: a little structure for the models to learn.
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    centres = torch.rand(n, 2, generator=g) * 16 + 6
    d2 = (yy - centres[:, 0, None, None]) ** 2 + (xx - centres[:, 1, None, None]) ** 2
    x = torch.exp(-d2 / 18.0).unsqueeze(1)
    return (x > 0.5).float() if binary else x


SMALL = VAEConfig(latent_dim=3, hidden=32, channels=4)


# ------------------------------------------------------------------ models


@pytest.mark.parametrize("cls", [MLPVAE, ConvVAE])
@pytest.mark.parametrize("latent_dim", [1, 2, 20])
def test_shapes_for_any_latent_size(cls, latent_dim):
    torch.manual_seed(0)
    model = cls(VAEConfig(latent_dim=latent_dim, hidden=16, channels=4))
    x = _images(5)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, latent_dim)
    out = model(x, generator=torch.Generator().manual_seed(0))
    assert out.logits.shape == (5, 1, 28, 28) and out.z.shape == (5, latent_dim)
    samples = model.sample(7, generator=torch.Generator().manual_seed(1))
    assert (
        samples.shape == (7, 1, 28, 28) and float(samples.min()) >= 0 and float(samples.max()) <= 1
    )
    assert model.latent_dim == latent_dim


def test_mlp_vae_has_the_classic_784_400_d_layout():
    model = MLPVAE(VAEConfig(latent_dim=20))
    sizes = [tuple(p.shape) for p in model.parameters() if p.ndim == 2]
    assert sizes == [(400, 784), (20, 400), (20, 400), (400, 20), (784, 400)]


def test_forward_is_encode_reparameterize_decode():
    torch.manual_seed(0)
    model = MLPVAE(SMALL)
    x = _images(4)
    out = model(x, generator=torch.Generator().manual_seed(3))
    mu, logvar = model.encode(x)
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(out.z, mu + (0.5 * logvar).exp() * eps)
    torch.testing.assert_close(out.logits, model.decode(out.z))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda m: m.encode(torch.zeros(2, 28, 28)), ValueError, "unsqueeze"),
        (lambda m: m.encode(torch.zeros(2, 1, 32, 32)), ValueError, "image_size"),
        (lambda m: m.encode(torch.zeros(2, 1, 28, 28, dtype=torch.uint8)), TypeError, "to_unit"),
        (lambda m: m.encode([0.0]), TypeError, "torch.Tensor"),
        (lambda m: m.decode(torch.zeros(2, 5)), ValueError, r"\(B, 3\)"),
        (lambda m: m.sample(-1), ValueError, "n must be"),
    ],
)
def test_models_reject_bad_input_clearly(call, error, message):
    with pytest.raises(error, match=message):
        call(MLPVAE(SMALL))


def test_bad_configs_are_rejected():
    with pytest.raises(ValueError, match="latent_dim"):
        VAEConfig(latent_dim=0)
    with pytest.raises(ValueError, match="divisible by 4"):
        ConvVAE(VAEConfig(image_size=30))
    with pytest.raises(TypeError, match="VAEConfig"):
        MLPVAE({"latent_dim": 2})


# ------------------------------------------------------------------ training


def _train(model_seed=0, **overrides):
    torch.manual_seed(model_seed)
    model = MLPVAE(SMALL)
    cfg = VAETrainConfig(**{"epochs": 2, "batch_size": 16, "progress": False, **overrides})
    return train_vae(model, _images(48), cfg)


def test_training_lowers_the_loss_and_records_every_step():
    result = _train(epochs=6, lr=3e-3)
    h = result.history
    assert len(h["loss"]) == len(h["recon"]) == len(h["kl"]) == result.steps == 6 * 3
    for loss, recon, kl in zip(h["loss"], h["recon"], h["kl"], strict=False):
        assert math.isclose(loss, recon + kl, rel_tol=1e-5)
    assert sum(h["loss"][-3:]) < 0.8 * sum(h["loss"][:3])


def test_beta_weights_the_kl_in_the_recorded_loss():
    h = _train(beta=4.0).history
    for loss, recon, kl in zip(h["loss"], h["recon"], h["kl"], strict=False):
        assert math.isclose(loss, recon + 4.0 * kl, rel_tol=1e-5)


def test_seeded_runs_are_bit_identical_on_cpu_and_seeds_differ():
    a, b, c = _train(), _train(), _train(seed=1)
    assert a.history == b.history
    for pa, pb in zip(a.model.parameters(), b.model.parameters(), strict=False):
        assert torch.equal(pa, pb)
    assert a.history != c.history


@pytest.mark.parametrize("max_shift", [0, 2])
def test_resume_from_a_checkpoint_matches_an_uninterrupted_run(tmp_path, max_shift):
    path = tmp_path / "vae.pt"
    full = _train(epochs=3, max_shift=max_shift)
    torch.manual_seed(0)
    model = MLPVAE(SMALL)
    data = _images(48)
    cfg = VAETrainConfig(
        epochs=1, batch_size=16, progress=False, checkpoint_path=path, max_shift=max_shift
    )
    train_vae(model, data, cfg)
    assert load_checkpoint(path)["step"] == 3  # one epoch of 48 / 16 batches
    torch.manual_seed(123)  # a different fresh model: everything must come from the checkpoint
    model2 = MLPVAE(SMALL)
    resumed = train_vae(
        model2,
        data,
        dataclasses.replace(cfg, epochs=3),
        resume=True,
    )
    assert resumed.history == full.history
    for pa, pb in zip(full.model.parameters(), model2.parameters(), strict=False):
        assert torch.equal(pa, pb)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


class _Spy(MLPVAE):
    r"""An MLPVAE that keeps a copy of every batch it is trained on."""

    def __init__(self, cfg):
        super().__init__(cfg)
        self.seen = []

    def forward(self, x, **kwargs):
        self.seen.append(x.clone())
        return super().forward(x, **kwargs)


def test_max_shift_trains_on_shifted_copies_drawn_from_the_noise_generator():
    data, cfg = _images(48), VAETrainConfig(epochs=2, batch_size=16, max_shift=2)
    torch.manual_seed(0)
    spy = _Spy(SMALL)
    train_vae(spy, data, dataclasses.replace(cfg, progress=False))
    rng = torch.Generator().manual_seed(cfg.seed)
    expected, plain = [], []
    for epoch in range(cfg.epochs):
        for (x,) in iterate_batches(data, batch_size=16, seed=cfg.seed, epoch=epoch):
            expected.append(random_shift(x, 2, rng))
            plain.append(x)
            torch.randn(x.shape[0], SMALL.latent_dim, generator=rng)  # the step's eps
    assert len(spy.seen) == len(expected) == 6
    for seen, want in zip(spy.seen, expected, strict=True):
        assert torch.equal(seen, want)
    assert not any(torch.equal(seen, x) for seen, x in zip(spy.seen, plain, strict=True))
    with pytest.raises(ValueError, match="max_shift must be an int >= 0"):
        VAETrainConfig(max_shift=-1)


def test_resume_refuses_a_checkpoint_from_other_settings(tmp_path):
    path = tmp_path / "vae.pt"
    train_vae(
        MLPVAE(SMALL),
        _images(48),
        VAETrainConfig(epochs=1, batch_size=16, progress=False, checkpoint_path=path),
    )
    with pytest.raises(ValueError, match="batch_size=16 in the checkpoint but 8 now"):
        train_vae(
            MLPVAE(SMALL),
            _images(48),
            VAETrainConfig(epochs=2, batch_size=8, progress=False, checkpoint_path=path),
            resume=True,
        )
    with pytest.raises(ValueError, match="beyond cfg.epochs=0"):
        train_vae(
            MLPVAE(SMALL),
            _images(48),
            VAETrainConfig(epochs=0, batch_size=16, progress=False, checkpoint_path=path),
            resume=True,
        )
    with pytest.raises(ValueError, match="checkpoint_path"):
        train_vae(MLPVAE(SMALL), _images(48), VAETrainConfig(epochs=1, progress=False), resume=True)


def test_nan_guard_names_the_step():
    torch.manual_seed(0)
    model = MLPVAE(SMALL)
    with torch.no_grad():
        model.to_logvar.bias.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="negative ELBO became nan at step 1"):
        train_vae(model, _images(32), VAETrainConfig(epochs=1, batch_size=16, progress=False))


class _TinyConditionalVAE(MLPVAE):
    r"""A stand-in conditional VAE: the label shifts the code, so the condition reaches the decoder."""

    def encode(self, x, y):
        mu, logvar = super().encode(x)
        return mu + y.unsqueeze(1).float(), logvar

    def decode(self, z, y):
        return super().decode(z - y.unsqueeze(1).float())

    def forward(self, x, y, generator=None, *, eps=None):
        from aigc_course.losses import reparameterize
        from aigc_course.models import VAEOutput

        mu, logvar = self.encode(x, y)
        z = (
            reparameterize(mu, logvar, generator)
            if eps is None
            else mu + (0.5 * logvar).exp() * eps
        )
        return VAEOutput(self.decode(z, y), mu, logvar, z)


def test_labels_are_passed_to_a_conditional_model():
    torch.manual_seed(0)
    model = _TinyConditionalVAE(SMALL)
    x, y = _images(32), torch.arange(32) % 3
    result = train_vae(model, x, VAETrainConfig(epochs=1, batch_size=16, progress=False), labels=y)
    assert result.steps == 2
    ev = evaluate_vae(model, x, binarized=False, k=4, labels=y)
    assert math.isfinite(ev.iw_nll)
    with pytest.raises(ValueError, match="int64 tensor of shape"):
        train_vae(model, x, VAETrainConfig(epochs=1, progress=False), labels=y.int())


@pytest.mark.parametrize(
    "data, cfg, error, message",
    [
        (torch.zeros(4, 28, 28), VAETrainConfig(progress=False), ValueError, "to_unit"),
        (
            torch.zeros(4, 1, 28, 28, dtype=torch.uint8),
            VAETrainConfig(progress=False),
            TypeError,
            "to_unit",
        ),
        (
            torch.full((4, 1, 28, 28), -1.0),
            VAETrainConfig(progress=False),
            ValueError,
            "not to_signed",
        ),
        (
            torch.full((4, 1, 28, 28), float("nan")),
            VAETrainConfig(progress=False),
            ValueError,
            "NaN",
        ),
        (torch.zeros(0, 1, 28, 28), VAETrainConfig(progress=False), ValueError, "empty"),
        ([0.0], VAETrainConfig(progress=False), TypeError, "torch.Tensor"),
        (torch.zeros(4, 1, 28, 28), "cfg", TypeError, "VAETrainConfig"),
    ],
)
def test_train_rejects_bad_data_clearly(data, cfg, error, message):
    with pytest.raises(error, match=message):
        train_vae(MLPVAE(SMALL), data, cfg)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": -1}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": 0.0}, "lr"),
        ({"beta": -0.5}, "beta"),
        ({"sigma": float("inf")}, "sigma"),
        ({"likelihood": "mse"}, "likelihood"),
    ],
)
def test_bad_train_configs_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VAETrainConfig(**kwargs)


def test_gaussian_likelihood_trains_on_real_valued_data():
    torch.manual_seed(0)
    data = _images(32) * 2 - 1  # in [-1, 1]: fine for a Gaussian likelihood
    result = train_vae(
        MLPVAE(SMALL),
        data,
        VAETrainConfig(epochs=1, batch_size=16, likelihood="gaussian", sigma=0.5, progress=False),
    )
    assert result.steps == 2 and all(math.isfinite(v) for v in result.history["loss"])
    ev = evaluate_vae(result.model, data, binarized=False, k=3, likelihood="gaussian", sigma=0.5)
    assert ev.iw_nll <= ev.neg_elbo


# ------------------------------------------------------------------ evaluation


def test_evaluation_elbo_matches_the_training_loss_and_iw_is_below_it():
    torch.manual_seed(0)
    model = MLPVAE(SMALL)
    x = _images(40, binary=True)
    ev = evaluate_vae(model, x, binarized=True, k=500, batch_size=20, seed=0)
    # Independent estimate of the negative ELBO: the training loss averaged over many reparameterised samples.
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        estimates = torch.stack(
            [negative_elbo(x, *model(x, generator=g)[:3]).total.mean() for _ in range(200)]
        )
    assert (
        abs(ev.neg_elbo - float(estimates.mean()))
        < 4 * float(estimates.std()) / math.sqrt(200) + 0.05
    )
    assert ev.iw_nll < ev.neg_elbo
    assert (ev.k, ev.n, ev.binarized) == (500, 40, True)
    assert "binarised" in str(ev) and "IW-NLL (k=500)" in str(ev)
    assert model.training  # the evaluation restores the training mode


def test_iw_nll_decreases_with_k_and_evaluation_is_seeded():
    torch.manual_seed(0)
    model = MLPVAE(SMALL)
    _ = train_vae(model, _images(48), VAETrainConfig(epochs=2, batch_size=16, progress=False))
    x = _images(30, seed=5)
    nll = [evaluate_vae(model, x, binarized=False, k=k).iw_nll for k in (1, 10, 100)]
    assert nll[0] > nll[1] > nll[2]
    assert evaluate_vae(model, x, binarized=False, k=5, seed=3) == evaluate_vae(
        model, x, binarized=False, k=5, seed=3
    )
    assert "not binarised" in str(evaluate_vae(model, x, binarized=False, k=1))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"binarized": True}, ValueError, "binarise them first"),
        ({"binarized": "yes"}, TypeError, "True or False"),
        ({"binarized": False, "k": 0}, ValueError, "k must be"),
        ({"binarized": False, "likelihood": "l1"}, ValueError, "likelihood"),
    ],
)
def test_evaluation_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        evaluate_vae(MLPVAE(SMALL), _images(4), **kwargs)


def test_cosine_schedule_matches_a_hand_written_loop_of_vae_steps():
    data = _images(48)
    cfg = VAETrainConfig(
        epochs=2, batch_size=16, lr=3e-3, lr_schedule="cosine", max_shift=1, progress=False
    )
    torch.manual_seed(0)
    result = train_vae(MLPVAE(SMALL), data, cfg)

    torch.manual_seed(0)
    model = MLPVAE(SMALL)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rng, total, step = torch.Generator().manual_seed(cfg.seed), 6, 0
    losses = []
    for epoch in range(cfg.epochs):
        for (x,) in iterate_batches(data, batch_size=16, seed=cfg.seed, epoch=epoch):
            # step k (from 0) runs at lr * (1 + cos(pi k / total)) / 2
            opt.param_groups[0]["lr"] = cfg.lr * (1 + math.cos(math.pi * step / total)) / 2
            x = random_shift(x, 1, rng)
            eps = torch.randn(x.shape[0], SMALL.latent_dim, generator=rng)
            losses.append(vae_step(model, opt, x, eps)["loss"].item())
            step += 1
    assert result.history["loss"] == losses
    for got, want in zip(result.model.parameters(), model.parameters(), strict=True):
        assert torch.equal(got, want)
    with pytest.raises(ValueError, match="lr_schedule"):
        VAETrainConfig(lr_schedule="linear")
