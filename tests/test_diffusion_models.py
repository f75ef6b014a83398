"""The time-conditioned UNet and the MLP denoiser: shapes, conditioning, size, bad input."""

import math

import pytest
import torch

from aigc_course.models.denoiser import MLPDenoiser, MLPDenoiserConfig
from aigc_course.models.unet import UNet, UNetConfig, sinusoidal_embedding

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_sinusoidal_embedding_matches_its_formula():
    t = torch.tensor([0.0, 0.25, 1.0])
    e = sinusoidal_embedding(t, 8)
    assert e.shape == (3, 8)
    for i, ti in enumerate(t.tolist()):
        for k in range(4):
            arg = 1000 * ti * 10000 ** (-k / 4)
            assert math.isclose(e[i, k].item(), math.sin(arg), abs_tol=1e-4)
            assert math.isclose(e[i, 4 + k].item(), math.cos(arg), abs_tol=1e-4)
    assert sinusoidal_embedding(torch.tensor([3]), 4).dtype == torch.float32
    with pytest.raises(ValueError, match="even"):
        sinusoidal_embedding(t, 7)


@pytest.mark.parametrize("batch", [1, 3, 8])
def test_unet_shapes_for_any_batch_and_time(batch):
    torch.manual_seed(0)
    net = UNet().eval()
    x = torch.randn(batch, 1, 28, 28, generator=gen())
    with torch.no_grad():
        for t in (torch.rand(batch, generator=gen(1)), 0.0, 1.0, torch.tensor(0.5)):
            out = net(x, t)
            assert out.shape == (batch, 1, 28, 28) and torch.isfinite(out).all()
        # Time matters: the same image at two times gives two outputs.
        assert not torch.allclose(net(x, 0.1), net(x, 0.9))


def test_unet_size_and_class_conditioning():
    plain = UNet()
    n = sum(p.numel() for p in plain.parameters())
    assert 300_000 <= n <= 600_000
    assert plain.n_classes is None and plain.null_label is None
    torch.manual_seed(0)
    net = UNet(UNetConfig(n_classes=10)).eval()
    assert net.n_classes == 10 and net.null_label == 10
    assert sum(p.numel() for p in net.parameters()) <= 600_000
    x = torch.randn(4, 1, 28, 28, generator=gen())
    t = torch.full((4,), 0.5)
    with torch.no_grad():
        a = net(x, t, torch.tensor([0, 1, 2, 3]))
        b = net(x, t, torch.tensor([3, 2, 1, 0]))
        null = net(x, t, torch.full((4,), 10))
        assert not torch.allclose(a, b)
        assert torch.equal(net(x, t), null)  # no labels means the null label
    small = UNet(UNetConfig(in_channels=3, image_size=16, channels=(8, 16, 16), time_dim=16))
    assert small(torch.zeros(2, 3, 16, 16), 0.3).shape == (2, 3, 16, 16)


def test_unet_bad_inputs_give_clear_errors():
    net = UNet(UNetConfig(n_classes=10))
    plain = UNet(UNetConfig(channels=(8, 8, 8), time_dim=16))
    x = torch.zeros(2, 1, 28, 28)
    with pytest.raises(ValueError, match=r"UNet expects x of shape \(B, 1, 28, 28\)"):
        net(torch.zeros(2, 28, 28), 0.5)
    with pytest.raises(ValueError, match=r"t must have shape \(2,\)"):
        net(x, torch.zeros(3))
    with pytest.raises(TypeError, match="float time"):
        net(x, torch.tensor([10, 20]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\].*found 11"):
        net(x, 0.5, torch.tensor([1, 11]))
    with pytest.raises(ValueError, match="labels has 1 entries but the batch has 2"):
        net(x, 0.5, torch.tensor([1]))
    with pytest.raises(TypeError, match="int64"):
        net(x, 0.5, torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="built without classes"):
        plain(x, 0.5, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="divisible by 4"):
        UNetConfig(image_size=30)
    with pytest.raises(ValueError, match="divisible by groups"):
        UNetConfig(channels=(12, 16, 16))
    with pytest.raises(ValueError, match="3 widths"):
        UNetConfig(channels=(16, 16))
    with pytest.raises(ValueError, match="dropout"):
        UNetConfig(dropout=1.0)
    with pytest.raises(ValueError, match="time_dim must be even"):
        UNetConfig(time_dim=15)


def test_mlp_denoiser_shapes_and_conditioning():
    torch.manual_seed(0)
    for cfg in (MLPDenoiserConfig(), MLPDenoiserConfig(dim=16, hidden=32, depth=2, n_classes=5)):
        net = MLPDenoiser(cfg).eval()
        for batch in (1, 7):
            x = torch.randn(batch, cfg.dim, generator=gen())
            labels = None if cfg.n_classes is None else torch.arange(batch) % 5
            out = net(x, torch.rand(batch, generator=gen(1)), labels)
            assert out.shape == (batch, cfg.dim)
            assert not torch.allclose(net(x, 0.1, labels), net(x, 0.9, labels))
    net = MLPDenoiser(MLPDenoiserConfig(n_classes=3))
    x = torch.randn(3, 2, generator=gen())
    assert not torch.allclose(
        net(x, 0.5, torch.tensor([0, 1, 2])), net(x, 0.5, torch.tensor([2, 1, 0]))
    )
    with pytest.raises(ValueError, match=r"MLPDenoiser expects x of shape \(B, 2\)"):
        net(torch.zeros(3, 4), 0.5)
    with pytest.raises(ValueError, match="found 4"):
        net(x, 0.5, torch.tensor([0, 1, 4]))
    with pytest.raises(ValueError, match=r"depth must be an int >= 1"):
        MLPDenoiserConfig(depth=0)
    with pytest.raises(ValueError, match="time_dim must be even"):
        MLPDenoiserConfig(time_dim=3)
