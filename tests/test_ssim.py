"""SSIM against scikit-image (Gaussian window, sigma 1.5, population covariance) on random and real images."""

import numpy as np
import pytest
import torch
from scipy.signal.windows import gaussian as scipy_gaussian

skimage_metrics = pytest.importorskip("skimage.metrics", reason="scikit-image is a dev dependency")
skimage_data = pytest.importorskip("skimage.data")

from aigc_course.losses import gaussian_window, ssim, ssim_map  # noqa: E402


def sk_ssim(x, y, data_range, full=False, channel_axis=None):
    # The conventions of Wang et al. (2004) in scikit-image's spelling.
    return skimage_metrics.structural_similarity(
        x,
        y,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=data_range,
        full=full,
        channel_axis=channel_axis,
    )


def as_batch(*images):
    return torch.from_numpy(np.stack(images)[:, None].astype(np.float64))


def test_gaussian_window_matches_scipy():
    g = scipy_gaussian(11, std=1.5)
    expected = np.outer(g, g) / np.outer(g, g).sum()
    w = gaussian_window(11, 1.5, dtype=torch.float64)
    assert w.shape == (11, 11)
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-12)
    assert abs(float(w.sum()) - 1.0) < 1e-12


@pytest.mark.parametrize(
    "shape,data_range", [((32, 32), 1.0), ((23, 40), 1.0), ((11, 11), 255.0), ((28, 28), 2.0)]
)
def test_random_images_match_skimage(shape, data_range):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, data_range, shape)
    y = np.clip(x + rng.normal(0, 0.2 * data_range, shape), 0, data_range)
    blurred = (x + np.roll(x, 1, 0) + np.roll(x, 1, 1)) / 3  # a correlated, not just noisy, pair
    got = ssim(as_batch(x, blurred), as_batch(y, x), data_range)
    expected = [sk_ssim(x, y, data_range), sk_ssim(blurred, x, data_range)]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-9, atol=1e-12)


def test_real_image_and_map_match_skimage():
    camera = skimage_data.camera()[200:296, 240:336].astype(
        np.float64
    )  # 96 x 96 crop, values 0..255
    rng = np.random.default_rng(1)
    noisy = camera + rng.normal(
        0, 20, camera.shape
    )  # outside [0, 255] is allowed, nothing is clipped
    mean, full = sk_ssim(camera, noisy, 255.0, full=True)
    got_map = ssim_map(as_batch(camera), as_batch(noisy), 255.0)[0, 0]
    assert got_map.shape == (86, 86)
    # scikit-image reflects at the border, then averages only the positions 5 pixels away from it: our valid map.
    np.testing.assert_allclose(got_map.numpy(), full[5:-5, 5:-5], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        float(ssim(as_batch(camera), as_batch(noisy), 255.0)[0]), mean, rtol=1e-9
    )


def test_colour_image_averages_channels_like_skimage():
    img = (
        skimage_data.astronaut()[100:164, 180:244].astype(np.float64) / 255
    )  # (64, 64, 3) in [0, 1]
    other = img[::-1, :, ::-1].copy()
    expected = sk_ssim(img, other, 1.0, channel_axis=2)
    to_t = lambda a: torch.from_numpy(a.transpose(2, 0, 1)[None].copy())  # noqa: E731
    assert float(ssim(to_t(img), to_t(other), 1.0)[0]) == pytest.approx(expected, rel=1e-9)


def test_float32_agrees_with_float64():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(3, 1, 28, 28, generator=gen, dtype=torch.float64)
    y = (x + 0.1 * torch.randn(x.shape, generator=gen, dtype=torch.float64)).clamp(0, 1)
    s64 = ssim(x, y, 1.0)
    s32 = ssim(x.float(), y.float(), 1.0)
    assert s32.dtype == torch.float32 and s32.shape == (3,)
    assert torch.allclose(s32.double(), s64, atol=1e-5)


def test_identity_symmetry_and_range():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4, 2, 20, 20, generator=gen, dtype=torch.float64)
    y = torch.rand(4, 2, 20, 20, generator=gen, dtype=torch.float64)
    assert torch.allclose(ssim(x, x, 1.0), torch.ones(4, dtype=torch.float64))
    assert torch.allclose(ssim(x, y, 1.0), ssim(y, x, 1.0))
    assert torch.allclose(ssim(x, 1 - x, 1.0), ssim(1 - x, x, 1.0))
    m = ssim_map(x, 1 - x, 1.0)  # anti-correlated: negative structure term
    assert (m >= -1).all() and (m <= 1).all() and (m < 0).any()


def test_gradient_matches_finite_differences():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(1, 1, 11, 12, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 1, 11, 12, generator=gen, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: ssim(a, y, 1.0), (x,))


@pytest.mark.parametrize(
    "x,y,kwargs,error,message",
    [
        (
            torch.rand(28, 28),
            torch.rand(28, 28),
            {},
            ValueError,
            "for a single (H, W) image use img[None, None]",
        ),
        (torch.rand(1, 1, 28, 28), torch.rand(1, 1, 28, 27), {}, ValueError, "same shape"),
        (
            torch.rand(1, 1, 8, 28),
            torch.rand(1, 1, 8, 28),
            {},
            ValueError,
            "smaller than the 11x11 window",
        ),
        (
            torch.zeros(1, 1, 28, 28, dtype=torch.uint8),
            torch.zeros(1, 1, 28, 28, dtype=torch.uint8),
            {},
            TypeError,
            "convert uint8 images with aigc_course.data.to_unit",
        ),
        (
            np.zeros((1, 1, 28, 28)),
            torch.rand(1, 1, 28, 28),
            {},
            TypeError,
            "x must be a torch.Tensor, got ndarray",
        ),
        (
            torch.rand(1, 1, 28, 28),
            torch.rand(1, 1, 28, 28),
            {"data_range": 0.0},
            ValueError,
            "data_range must be a positive",
        ),
        (
            torch.rand(1, 1, 28, 28),
            torch.rand(1, 1, 28, 28),
            {"k2": -0.03},
            ValueError,
            "k2 must be a small positive",
        ),
        (
            torch.rand(1, 1, 28, 28),
            torch.rand(1, 1, 28, 28),
            {"window_size": 10},
            ValueError,
            "positive odd int",
        ),
        (
            torch.rand(1, 1, 28, 28),
            torch.rand(1, 1, 28, 28),
            {"sigma": 0},
            ValueError,
            "sigma must be a positive",
        ),
    ],
    ids=["2d", "shapes", "small", "uint8", "numpy", "data_range", "k2", "even_window", "sigma"],
)
def test_bad_input_is_explained(x, y, kwargs, error, message):
    kwargs = {"data_range": 1.0, **kwargs}
    with pytest.raises(error) as info:
        ssim(x, y, **kwargs)
    assert message in str(info.value)
