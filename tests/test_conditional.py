"""Conditional generation: the conditional GAN pair, the conditional VAE, generate(), and train_gan(labels=...)."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from aigc_course._check import check_labels
from aigc_course.losses.vae import negative_elbo
from aigc_course.models.conditional import (
    ConditionalDiscriminator,
    ConditionalGANConfig,
    ConditionalGenerator,
    ConditionalVAE,
    ConditionalVAEConfig,
    generate,
)
from aigc_course.models.gan import ToyDiscriminator, ToyGANConfig, ToyGenerator
from aigc_course.models.vae import VAEOutput
from aigc_course.train.checkpoint import load_checkpoint
from aigc_course.train.gan import GANTrainConfig, train_gan
from aigc_course.train.vae import VAETrainConfig, train_vae

SMALL_GAN = ConditionalGANConfig(latent_dim=8, n_classes=3, hidden=(16, 32))
SMALL_VAE = ConditionalVAEConfig(latent_dim=2, hidden=32, n_classes=3)
CFG = GANTrainConfig(steps=6, batch_size=16, n_fixed=6, snapshot_every=3, progress=False)


def gan_pair(seed=0, cfg=SMALL_GAN):
    torch.manual_seed(seed)
    return ConditionalGenerator(cfg), ConditionalDiscriminator(cfg)


def cvae(seed=0, cfg=SMALL_VAE):
    torch.manual_seed(seed)
    return ConditionalVAE(cfg)


def labelled_images(n=60, k=3):
    r"""Class k lights up horizontal band k of the image: what a model must learn to honour the label."""
    y = torch.arange(n) % k
    x = torch.zeros(n, 1, 28, 28)
    band = 28 // k
    for c in range(k):
        x[y == c, :, c * band : (c + 1) * band, :] = 1.0
    return x, y


def assert_same_state(a, b):
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=False):
        assert ka == kb and torch.equal(va, vb), ka


# ---------------------------------------------------------------------------- configs


@pytest.mark.parametrize(
    "cls, changes, match",
    [
        (ConditionalGANConfig, {"latent_dim": 0}, "latent_dim"),
        (ConditionalGANConfig, {"n_classes": 1}, "n_classes must be an int >= 2"),
        (ConditionalGANConfig, {"hidden": ()}, "at least one hidden width"),
        (ConditionalGANConfig, {"hidden": (8, -1)}, r"hidden\[i\]"),
        (ConditionalGANConfig, {"image_shape": (28, 28)}, r"\(C, H, W\)"),
        (ConditionalGANConfig, {"image_shape": (1, 0, 28)}, r"image_shape\[i\]"),
        (ConditionalGANConfig, {"negative_slope": 1.0}, "negative_slope"),
        (ConditionalVAEConfig, {"latent_dim": 0}, "latent_dim"),
        (ConditionalVAEConfig, {"hidden": 2.5}, "hidden"),
        (ConditionalVAEConfig, {"n_classes": True}, "n_classes"),
    ],
)
def test_bad_configs(cls, changes, match):
    with pytest.raises((TypeError, ValueError), match=match):  # a wrong type or a wrong value
        dataclasses.replace(cls(), **changes)


def test_configs_are_frozen_and_lists_become_tuples():
    cfg = ConditionalGANConfig(hidden=[8, 16], image_shape=[1, 28, 28])
    assert cfg.hidden == (8, 16) and cfg.image_shape == (1, 28, 28)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.n_classes = 3
    with pytest.raises(TypeError, match="ConditionalVAEConfig"):
        ConditionalVAE(SMALL_GAN)


# ---------------------------------------------------------------------------- shapes


def test_gan_shapes_and_ranges():
    G, D = gan_pair()
    z, y = torch.randn(5, 8), torch.tensor([0, 1, 2, 1, 0])
    x = G(z, y)
    assert x.shape == (5, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert D(x, y).shape == (5,)
    assert G.latent_dim == 8 and G.n_classes == 3 and D.n_classes == 3


def test_discriminator_is_a_projection():
    # oracle: l(x, y) = w.h + b + e_y.h, computed by hand from the module's parts
    _, D = gan_pair()
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    y = torch.tensor([0, 2, 1, 2])
    h = D.features(x.flatten(1))
    expected = h @ D.linear.weight[0] + D.linear.bias + (D.embed.weight[y] * h).sum(1)
    torch.testing.assert_close(D(x, y), expected)
    # changing the label changes the logit by exactly (e_y' - e_y).h
    y2 = torch.tensor([1, 0, 1, 0])
    torch.testing.assert_close(
        D(x, y2) - D(x, y), ((D.embed.weight[y2] - D.embed.weight[y]) * h).sum(1)
    )


def test_generator_sees_the_one_hot_label():
    # oracle: the first layer's pre-activation is W [z, onehot(y)] + b
    G, _ = gan_pair()
    z, y = torch.randn(3, 8), torch.tensor([2, 0, 1])
    first = G.net[0]
    expected = torch.cat([z, F.one_hot(y, 3).float()], 1) @ first.weight.T + first.bias
    torch.testing.assert_close(first(torch.cat([z, F.one_hot(y, 3).float()], 1)), expected)
    with torch.no_grad():
        first.weight[:, 8:] = 0  # cut the label's path: the output must stop depending on y
    G.eval()
    torch.testing.assert_close(G(z, torch.tensor([0, 0, 0])), G(z, torch.tensor([1, 2, 1])))


def test_vae_shapes_and_output_type():
    model = cvae()
    x, y = labelled_images(6)
    out = model(x, y, generator=torch.Generator().manual_seed(0))
    assert isinstance(out, VAEOutput)
    assert out.logits.shape == (6, 1, 28, 28)
    assert out.mu.shape == out.logvar.shape == out.z.shape == (6, 2)
    mu, logvar = model.encode(x, y)
    torch.testing.assert_close(mu, out.mu)
    assert model.decode(out.z, y).shape == (6, 1, 28, 28)
    s = model.sample(len(y), labels=y, generator=torch.Generator().manual_seed(0))
    assert s.shape == (6, 1, 28, 28) and s.min() >= 0 and s.max() <= 1


def test_vae_reparameterisation_uses_the_given_generator():
    model = cvae()
    x, y = labelled_images(4)
    out = model(x, y, generator=torch.Generator().manual_seed(3))
    eps = torch.randn(out.mu.shape, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(out.z, out.mu + torch.exp(0.5 * out.logvar) * eps)


# ---------------------------------------------------------------------------- the condition matters


def test_condition_changes_every_model_output():
    G, D = gan_pair()
    G.eval()
    z = torch.randn(4, 8)
    a, b = torch.zeros(4, dtype=torch.long), torch.ones(4, dtype=torch.long)
    assert (G(z, a) - G(z, b)).abs().amax(dim=(1, 2, 3)).min() > 1e-4
    x = G(z, a)
    assert (D(x, a) - D(x, b)).abs().min() > 1e-6
    model = cvae()
    zz = torch.randn(4, 2)
    assert (model.decode(zz, a) - model.decode(zz, b)).abs().amax(dim=(1, 2, 3)).min() > 1e-4
    xs, _ = labelled_images(4)
    assert not torch.equal(model.encode(xs, a)[0], model.encode(xs, b)[0])


def test_trained_conditional_vae_draws_the_requested_class():
    # Long enough for the KL term to push the class out of z and into the label (shorter runs keep
    # part of the class in z, and then a prior sample can decode to the wrong class).
    x, y = labelled_images(60)
    model = cvae()
    result = train_vae(
        model, x, VAETrainConfig(epochs=200, batch_size=10, lr=1e-2, progress=False), labels=y
    )
    assert result.history["loss"][-1] < result.history["loss"][0] / 4
    for k in range(3):
        imgs = generate(model, 20, k, generator=torch.Generator().manual_seed(k))
        band_means = torch.stack(
            [imgs[:, 0, c * 9 : (c + 1) * 9].mean(dim=(1, 2)) for c in range(3)], 1
        )
        assert (band_means.argmax(1) == k).float().mean() >= 0.9, band_means


def test_conditional_gan_learns_the_requested_class():
    x, y = labelled_images(96)
    G, D = gan_pair(cfg=ConditionalGANConfig(latent_dim=4, n_classes=3, hidden=(32, 64)))
    cfg = GANTrainConfig(steps=300, batch_size=32, lr_d=1e-3, lr_g=1e-3, n_fixed=0, progress=False)
    train_gan(G, D, x * 2 - 1, cfg, labels=y)
    # Judged on the average of 64 images per class, so that the result does not hinge on a few borderline
    # images (per-image rates after 300 steps vary with the number of BLAS threads).
    for k in range(3):
        imgs = generate(G, 64, k, generator=torch.Generator().manual_seed(k))
        band_means = torch.stack([imgs[:, 0, c * 9 : (c + 1) * 9].mean() for c in range(3)])
        assert band_means.argmax() == k, band_means
        assert band_means[k] > band_means.sum() / 3 + 0.01, band_means


# ---------------------------------------------------------------------------- generate() and seeds


@pytest.mark.parametrize("make", [lambda: gan_pair()[0], cvae], ids=["gan", "vae"])
def test_generate_is_seeded_in_range_and_keeps_the_mode(make):
    model = make()
    model.train()
    a = generate(model, 5, 2, generator=torch.Generator().manual_seed(7))
    b = generate(model, 5, 2, generator=torch.Generator().manual_seed(7))
    c = generate(model, 5, 2, generator=torch.Generator().manual_seed(8))
    assert a.shape == (5, 1, 28, 28) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert model.training  # put back in the mode it was in
    per_image = generate(
        model, 3, torch.tensor([0, 1, 2]), generator=torch.Generator().manual_seed(7)
    )
    assert per_image.shape == (3, 1, 28, 28)
    assert generate(model, 0, 1).shape == (0, 1, 28, 28)


def test_generate_gan_matches_the_generator_in_eval_mode():
    G, _ = gan_pair()
    out = generate(G, 4, 1, generator=torch.Generator().manual_seed(0))
    G.eval()
    z = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, (G(z, torch.ones(4, dtype=torch.long)) + 1) / 2)


def test_generate_vae_matches_the_decoder():
    model = cvae()
    out = generate(model, 4, 2, generator=torch.Generator().manual_seed(0))
    z = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, torch.sigmoid(model.decode(z, torch.full((4,), 2))).detach())


# ---------------------------------------------------------------------------- bad labels


BAD_LABELS = [
    (
        [0, 1, 2, 0],
        TypeError,
        r"torch.Tensor of int64 class indices.*torch.tensor\(labels, dtype=torch.long\)",
    ),
    (
        torch.tensor([0.0, 1.0, 2.0, 0.0]),
        TypeError,
        r"int64 class indices, got dtype torch.float32.*one-hot",
    ),
    (
        torch.tensor([0, 1, 2, 0], dtype=torch.int32),
        TypeError,
        r"got dtype torch.int32: convert with y.long\(\)",
    ),
    (
        F.one_hot(torch.tensor([0, 1, 2, 0]), 3),
        ValueError,
        r"shape \(B,\), got \(4, 3\): y.argmax\(dim=1\)",
    ),
    (torch.zeros(2, 2, 1, dtype=torch.long), ValueError, r"shape \(B,\), got \(2, 2, 1\): flatten"),
    (torch.tensor([0, 1, 2]), ValueError, "has 3 entries but the batch has 4"),
    (torch.tensor([0, 1, 3, 0]), ValueError, r"\[0, 2\] \(the model has n_classes=3\), found 3"),
    (torch.tensor([0, -1, 2, 0]), ValueError, r"found -1"),
]


@pytest.mark.parametrize("y, error, match", BAD_LABELS)
def test_bad_labels_give_clear_errors_in_every_model(y, error, match):
    G, D = gan_pair()
    model = cvae()
    x, _ = labelled_images(4)
    calls = [
        lambda: G(torch.randn(4, 8), y),
        lambda: D(x, y),
        lambda: model(x, y),
        lambda: model.decode(torch.randn(4, 2), y),
    ]
    for call in calls:
        with pytest.raises(error, match=match):
            call()


def test_check_labels_returns_good_labels_unchanged():
    y = torch.tensor([2, 0])
    assert check_labels(y, "labels", 3, batch=2) is y
    assert check_labels(torch.zeros(0, dtype=torch.long), "labels", 3).shape == (0,)


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((5, 3), ValueError, r"label must lie in \[0, 2\].*got 3"),
        ((5, -1), ValueError, "got -1"),
        ((5, 1.0), TypeError, "int class index"),
        ((5, True), TypeError, "int class index"),
        ((3, torch.tensor([0, 1])), ValueError, "label has 2 entries but the batch has 3"),
        ((2, torch.tensor([0, 4])), ValueError, "found 4"),
        ((-1, 0), ValueError, "n must be an int >= 0"),
        ((2.0, 0), TypeError, "n must be an int >= 0"),
    ],
)
def test_generate_rejects_bad_arguments(args, error, match):
    for model in (gan_pair()[0], cvae()):
        with pytest.raises(error, match=match):
            generate(model, *args)


def test_generate_rejects_other_models():
    with pytest.raises(TypeError, match="conditional generator.*generator instead"):
        generate(gan_pair()[1], 2, 0)


def test_bad_inputs_besides_labels():
    G, D = gan_pair()
    model = cvae()
    y = torch.tensor([0, 1])
    with pytest.raises(ValueError, match=r"z of shape \(B, 8\)"):
        G(torch.randn(2, 5), y)
    with pytest.raises(TypeError, match="z must be a torch.Tensor"):
        G([[0.0] * 8] * 2, y)
    with pytest.raises(ValueError, match=r"unsqueeze\(1\)"):
        D(torch.zeros(2, 28, 28), y)
    with pytest.raises(TypeError, match="images must be a torch.Tensor"):
        D("images", y)
    with pytest.raises(TypeError, match="to_unit"):
        model(torch.zeros(2, 1, 28, 28, dtype=torch.uint8), y)
    with pytest.raises(ValueError, match="image_size matches the images"):
        model(torch.zeros(2, 1, 14, 14), y)


# ---------------------------------------------------------------------------- train_gan(labels=...)


def test_train_gan_with_labels_pairs_real_images_with_their_labels():
    # Each image is filled with its label's value minus 1 (in [-1, 1], the generator's range),
    # so D can check every real pair it is shown.
    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(784, 1)
            self.seen_real = 0
            self.fake_labels = []

        def forward(self, x, y):
            flat = x.flatten(1)
            if (flat.std(dim=1) == 0).all():  # a real batch: constant images
                assert torch.equal(flat[:, 0].long() + 1, y), (
                    "a real image came with another image's label"
                )
                self.seen_real += 1
            else:
                self.fake_labels.append(y)
            return self.lin(flat).view(-1)

    y = torch.arange(40) % 3
    x = (y.float() - 1).view(-1, 1, 1, 1).expand(-1, 1, 28, 28).contiguous()
    G, _ = gan_pair()
    D = Spy()
    result = train_gan(G, D, x, dataclasses.replace(CFG, steps=5, d_steps=2), labels=y)
    assert D.seen_real == 10
    fake = torch.cat(D.fake_labels)
    assert fake.dtype == torch.long and set(fake.tolist()) == {
        0,
        1,
        2,
    }  # uniform draws cover the classes
    assert torch.equal(result.fixed_labels, torch.tensor([0, 1, 2, 0, 1, 2]))
    assert [s for s, _ in result.snapshots] == [0, 3, 5]
    assert result.snapshots[-1][1].shape == (6, 1, 28, 28)


def test_train_gan_with_labels_is_bit_identical_and_snapshots_use_fixed_labels():
    x, y = labelled_images(48)
    runs = []
    for _ in range(2):
        G, D = gan_pair()
        runs.append((G, D, train_gan(G, D, x * 2 - 1, CFG, labels=y)))
    (G0, D0, r0), (G1, D1, r1) = runs
    assert_same_state(G0, G1)
    assert_same_state(D0, D1)
    assert r0.history == r1.history
    G0.eval()
    torch.testing.assert_close(r0.snapshots[-1][1], G0(r0.fixed_noise, r0.fixed_labels).detach())


def test_unconditional_runs_have_no_fixed_labels():
    torch.manual_seed(0)
    G, D = ToyGenerator(ToyGANConfig(hidden=8)), ToyDiscriminator(ToyGANConfig(hidden=8))
    result = train_gan(G, D, torch.randn(64, 2), dataclasses.replace(CFG, steps=2))
    assert result.fixed_labels is None
    G2, D2 = gan_pair()
    x, y = labelled_images(32)
    assert (
        train_gan(G2, D2, x, dataclasses.replace(CFG, steps=1, n_fixed=0), labels=y).fixed_labels
        is None
    )


def test_train_gan_with_labels_resumes_exactly(tmp_path):
    x, y = labelled_images(48)
    x = x * 2 - 1
    cfg = dataclasses.replace(CFG, steps=8, checkpoint_path=tmp_path / "c.pt")
    G_ref, D_ref = gan_pair()
    ref = train_gan(G_ref, D_ref, x, dataclasses.replace(cfg, checkpoint_path=None), labels=y)
    G, D = gan_pair()
    train_gan(G, D, x, dataclasses.replace(cfg, steps=5), labels=y)
    assert load_checkpoint(cfg.checkpoint_path)["stream"]["n_classes"] == 3
    G, D = gan_pair(seed=1)
    result = train_gan(G, D, x, cfg, labels=y, resume=True)
    assert_same_state(G, G_ref)
    assert_same_state(D, D_ref)
    assert result.history == ref.history
    assert torch.equal(result.fixed_labels, ref.fixed_labels)
    # a conditional checkpoint cannot be resumed as an unconditional run
    with pytest.raises(ValueError, match="n_classes=3 in the checkpoint but None now"):
        train_gan(G, D, x, dataclasses.replace(cfg, steps=9), resume=True)


@pytest.mark.parametrize(
    "labels, error, match",
    [
        ([0] * 48, TypeError, "labels must be a torch.Tensor"),
        (
            torch.zeros(48),
            TypeError,
            r"int64 class indices, got dtype torch.float32: convert with labels.long\(\)",
        ),
        (
            torch.zeros(47, dtype=torch.long),
            ValueError,
            r"shape \(N,\) = \(48,\), one per training example, got \(47,\)",
        ),
        (
            torch.full((48,), 3),
            ValueError,
            r"\[0, 2\] \(the generator has n_classes=3\), got values in \[3, 3\]",
        ),
        (torch.full((48,), -2), ValueError, r"got values in \[-2, -2\]"),
    ],
)
def test_train_gan_rejects_bad_labels(labels, error, match):
    G, D = gan_pair()
    x, _ = labelled_images(48)
    with pytest.raises(error, match=match):
        train_gan(G, D, x, CFG, labels=labels)


def test_train_gan_labels_need_a_conditional_generator():
    torch.manual_seed(0)
    G, D = ToyGenerator(ToyGANConfig(hidden=8)), ToyDiscriminator(ToyGANConfig(hidden=8))
    with pytest.raises(ValueError, match="no int attribute n_classes.*ConditionalGenerator"):
        train_gan(G, D, torch.randn(64, 2), CFG, labels=torch.zeros(64, dtype=torch.long))


# ---------------------------------------------------------------------------- train_vae(labels=...)


def test_train_vae_with_labels_is_seeded_and_the_loss_is_the_conditional_elbo():
    x, y = labelled_images(40)
    cfg = VAETrainConfig(epochs=2, batch_size=20, progress=False)
    a, b = cvae(), cvae()
    ra = train_vae(a, x, cfg, labels=y)
    rb = train_vae(b, x, cfg, labels=y)
    assert ra.history == rb.history and ra.steps == 4
    assert_same_state(a, b)
    # oracle for what the loop minimised: the negative ELBO of p(x | z, y) with q(z | x, y)
    out = a(x, y, generator=torch.Generator().manual_seed(0))
    elbo = negative_elbo(x, out.logits, out.mu, out.logvar)
    bce = F.binary_cross_entropy_with_logits(out.logits, x, reduction="none").sum(dim=(1, 2, 3))
    kl = 0.5 * (out.mu**2 + out.logvar.exp() - 1 - out.logvar).sum(1)
    torch.testing.assert_close(elbo.total, bce + kl)
