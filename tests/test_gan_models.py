"""Shapes, value ranges, clear errors and initialisation of the GAN networks."""

import dataclasses

import pytest
import torch
from torch import nn

from aigc_course.models.gan import (
    DCGANConfig,
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGANConfig,
    MLPGenerator,
    ToyDiscriminator,
    ToyGANConfig,
    ToyGenerator,
    dcgan_init_,
)

SMALL_MLP = MLPGANConfig(latent_dim=16, hidden=(32, 64))
SMALL_DC = DCGANConfig(latent_dim=16, base_channels=8)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_mlp_gan_shapes_and_range():
    G, D = MLPGenerator(MLPGANConfig()), MLPDiscriminator(MLPGANConfig())
    assert G.latent_dim == 100 and G.output_shape == (1, 28, 28) and D.input_shape == (1, 28, 28)
    x = G(10.0 * torch.randn(5, 100))  # large inputs saturate tanh but never leave [-1, 1]
    assert x.shape == (5, 1, 28, 28)
    assert x.min() >= -1.0 and x.max() <= 1.0
    logits = D(x)
    assert logits.shape == (5,)
    assert torch.isfinite(logits).all()


def test_mlp_default_widths_fix_the_article_bottleneck():
    G = MLPGenerator(MLPGANConfig())
    widths = [m.out_features for m in G.net if isinstance(m, nn.Linear)]
    assert widths == [256, 512, 1024, 784]
    assert min(widths) > 64
    assert [m.num_features for m in G.net if isinstance(m, nn.BatchNorm1d)] == [512, 1024]
    G_plain = MLPGenerator(MLPGANConfig(batchnorm=False))
    assert not any(isinstance(m, nn.BatchNorm1d) for m in G_plain.modules())
    assert G_plain(torch.randn(1, 100)).shape == (1, 1, 28, 28)
    D = MLPDiscriminator(MLPGANConfig())
    assert [m.out_features for m in D.net if isinstance(m, nn.Linear)] == [1024, 512, 256, 1]
    assert not any(isinstance(m, nn.Sigmoid) for m in D.modules())


def test_dcgan_shapes_range_and_intermediate_sizes():
    G, D = DCGANGenerator(SMALL_DC), DCGANDiscriminator(SMALL_DC)
    z = torch.randn(4, 16)
    h = z[:, :, None, None]
    sizes = []
    for layer in G.net:
        h = layer(h)
        if isinstance(layer, nn.ConvTranspose2d):
            sizes.append(tuple(h.shape[1:]))
    assert sizes == [(16, 7, 7), (8, 14, 14), (1, 28, 28)]
    x = G(z)
    assert x.shape == (4, 1, 28, 28) and x.min() >= -1.0 and x.max() <= 1.0
    h, sizes = x, []
    for layer in D.net:
        h = layer(h)
        if isinstance(layer, nn.Conv2d):
            sizes.append(tuple(h.shape[1:]))
    assert sizes == [(8, 14, 14), (16, 7, 7), (1, 1, 1)]
    assert D(x).shape == (4,)
    assert DCGANConfig(image_channels=3).image_shape == (3, 28, 28)


def test_toy_gan_shapes():
    cfg = ToyGANConfig(latent_dim=3, hidden=16, data_dim=1, n_layers=3)
    G, D = ToyGenerator(cfg), ToyDiscriminator(cfg)
    assert G.latent_dim == 3 and G.output_shape == (1,)
    x = G(torch.randn(7, 3))
    assert x.shape == (7, 1)
    assert D(x).shape == (7,)
    assert sum(isinstance(m, nn.Linear) for m in G.net) == 4


@pytest.mark.parametrize(
    "make", [lambda: MLPGenerator(SMALL_MLP), lambda: DCGANGenerator(SMALL_DC)]
)
def test_generator_gives_gradients_through_discriminator(make):
    G = make()
    D = MLPDiscriminator(SMALL_MLP)
    D(G(torch.randn(4, 16))).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in G.parameters())


@pytest.mark.parametrize(
    "G", [MLPGenerator(MLPGANConfig()), DCGANGenerator(DCGANConfig(base_channels=4))]
)
def test_wrong_latent_size_is_a_clear_error(G):
    with pytest.raises(
        ValueError, match=r"expected z of shape \(B, 100\), got \(3, 64\).*cfg.latent_dim=64"
    ):
        G(torch.randn(3, 64))
    with pytest.raises(ValueError, match=r"expected z of shape \(B, 100\), got \(3, 100, 1, 1\)"):
        G(torch.randn(3, 100, 1, 1))
    with pytest.raises(TypeError, match="torch.Tensor"):
        G([0.0] * 100)


def test_wrong_image_shape_is_a_clear_error():
    for D in (MLPDiscriminator(SMALL_MLP), DCGANDiscriminator(SMALL_DC)):
        with pytest.raises(
            ValueError,
            match=r"expected images of shape \(B, 1, 28, 28\), got \(2, 28, 28\).*unsqueeze",
        ):
            D(torch.randn(2, 28, 28))
        with pytest.raises(ValueError, match=r"got \(2, 3, 28, 28\)"):
            D(torch.randn(2, 3, 28, 28))
        with pytest.raises(TypeError):
            D("images")
    with pytest.raises(ValueError, match=r"expected points x of shape \(B, 2\), got \(5, 3\)"):
        ToyDiscriminator(ToyGANConfig())(torch.randn(5, 3))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: MLPGANConfig(latent_dim=0), "latent_dim"),
        (lambda: MLPGANConfig(hidden=()), "at least one"),
        (lambda: MLPGANConfig(hidden=(32, -1)), "hidden"),
        (lambda: MLPGANConfig(image_shape=(28, 28)), r"\(C, H, W\)"),
        (lambda: MLPGANConfig(image_shape=(1, 0, 28)), "image_shape"),
        (lambda: MLPGANConfig(negative_slope=1.5), "negative_slope"),
        (lambda: DCGANConfig(base_channels=0), "base_channels"),
        (lambda: DCGANConfig(latent_dim=2.5), "latent_dim"),
        (lambda: ToyGANConfig(hidden=True), "hidden"),
        (lambda: ToyGANConfig(negative_slope=-0.1), "negative_slope"),
    ],
)
def test_bad_configs_are_rejected(make, match):
    with pytest.raises((TypeError, ValueError), match=match):  # a wrong type or a wrong value
        make()


def test_config_lists_become_tuples_and_configs_are_frozen():
    cfg = MLPGANConfig(hidden=[8, 16], image_shape=[1, 4, 4])
    assert cfg.hidden == (8, 16) and cfg.image_shape == (1, 4, 4)
    assert MLPGenerator(cfg)(torch.randn(2, 100)).shape == (2, 1, 4, 4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.latent_dim = 3


def test_dcgan_init_statistics():
    conv = nn.Conv2d(64, 128, 4)
    bn = nn.BatchNorm2d(20000)
    lin = nn.Linear(300, 300)
    ln = nn.LayerNorm(10)
    before = ln.weight.detach().clone()
    for m in (conv, bn, lin, ln):
        dcgan_init_(m)
    for w in (conv.weight, lin.weight):
        assert abs(w.mean().item()) < 1e-3
        assert abs(w.std().item() - 0.02) < 1e-3
    assert torch.all(conv.bias == 0) and torch.all(lin.bias == 0)
    assert abs(bn.weight.mean().item() - 1.0) < 1e-3 and abs(bn.weight.std().item() - 0.02) < 1e-3
    assert torch.all(bn.bias == 0)
    assert torch.equal(ln.weight, before)  # other modules untouched
    dcgan_init_(nn.BatchNorm2d(4, affine=False))  # no parameters: nothing to do, no error


def test_dcgan_models_are_initialised_on_construction():
    G = DCGANGenerator(DCGANConfig())
    w = G.net[0].weight
    assert abs(w.std().item() - 0.02) < 2e-3
