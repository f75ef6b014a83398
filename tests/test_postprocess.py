r"""Tests of aigc_course.postprocess.median_filter against scipy.ndimage.median_filter."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from aigc_course.postprocess import median_filter


def _scipy_median(x: torch.Tensor, size: int) -> np.ndarray:
    # Filter only across H and W: a window of 1 over batch and channel.
    return ndimage.median_filter(x.double().numpy(), size=(1, 1, size, size), mode="reflect")


@pytest.mark.parametrize("size", [1, 3, 5])
@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (1, 1, 7, 12), (3, 2, 10, 5), (1, 1, 3, 3)])
def test_median_filter_matches_scipy_reflect(size, shape):
    if size // 2 > min(shape[-2:]):
        pytest.skip("window too large for this image")
    gen = torch.Generator().manual_seed(sum(shape) + size)
    x = torch.rand(*shape, generator=gen, dtype=torch.float64)
    out = median_filter(x, size)
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(out.numpy(), _scipy_median(x, size))


def test_median_filter_largest_allowed_window_matches_scipy():
    # r == min(H, W): the reflected border is the whole image, still one reflection deep.
    x = torch.rand(1, 1, 3, 4, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    out = median_filter(x, 7)
    np.testing.assert_array_equal(out.numpy(), _scipy_median(x, 7))


def test_median_filter_with_ties_matches_scipy():
    # Few distinct values: many ties inside each window.
    x = torch.randint(0, 3, (2, 1, 9, 6), generator=torch.Generator().manual_seed(1)).double()
    for size in (3, 5):
        np.testing.assert_array_equal(median_filter(x, size).numpy(), _scipy_median(x, size))


def test_median_filter_size_one_is_identity():
    x = torch.rand(2, 2, 5, 4, generator=torch.Generator().manual_seed(2))
    assert torch.equal(median_filter(x, 1), x)


def test_median_filter_default_size_is_three():
    x = torch.rand(1, 1, 6, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    assert torch.equal(median_filter(x), median_filter(x, 3))
    assert not torch.equal(median_filter(x), x)


def test_median_filter_removes_salt_and_pepper_noise():
    gen = torch.Generator().manual_seed(4)
    # A smooth image (a gradient) with isolated salt (1) and pepper (0) pixels.
    h, w = 16, 16
    clean = (torch.arange(h).reshape(h, 1) + torch.arange(w).reshape(1, w)).float() / (
        h + w
    ) * 0.5 + 0.25
    clean = clean.expand(2, 1, h, w).clone()
    noisy = clean.clone()
    pos = torch.randperm(h * w, generator=gen)[:20]
    salt = torch.rand(20, generator=gen) < 0.5
    flat = noisy.view(2, -1)
    flat[0, pos] = torch.where(salt, 1.0, 0.0)
    assert (noisy != clean).sum() == 20
    out = median_filter(noisy, 3)
    # No salt or pepper survives, and the result is close to the clean image.
    assert out.min() > 0.2 and out.max() < 0.8
    err_noisy = (noisy - clean).abs().max()
    err_out = (out - clean).abs().max()
    assert err_out < 0.05 < err_noisy
    # The second, clean image is a linear ramp: the median of a 3x3 window of a plane is its centre.
    torch.testing.assert_close(out[1, :, 1:-1, 1:-1], clean[1, :, 1:-1, 1:-1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.uint8, torch.int64])
def test_median_filter_preserves_dtype(dtype):
    x = torch.randint(0, 200, (1, 2, 6, 5), generator=torch.Generator().manual_seed(5)).to(dtype)
    out = median_filter(x, 3)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.double().numpy(), _scipy_median(x, 3))


def test_median_filter_does_not_modify_input():
    x = torch.rand(1, 1, 5, 5, generator=torch.Generator().manual_seed(6))
    before = x.clone()
    median_filter(x, 3)
    assert torch.equal(x, before)


@pytest.mark.parametrize("shape", [(5, 5), (1, 5, 5), (1, 1, 1, 5, 5)])
def test_median_filter_rejects_wrong_ndim(shape):
    with pytest.raises(ValueError, match=r"expected images of shape \(B, C, H, W\), got"):
        median_filter(torch.rand(*shape))


@pytest.mark.parametrize("size", [0, 2, 4, -1, -3])
def test_median_filter_rejects_bad_size(size):
    with pytest.raises(
        ValueError, match=f"size must be (an int >= 1|a positive odd integer), got {size}"
    ):
        median_filter(torch.rand(1, 1, 8, 8), size)


def test_median_filter_rejects_too_large_window():
    with pytest.raises(
        ValueError, match=r"window size 9 is larger than the 3x5 images allow \(at most 7\)"
    ):
        median_filter(torch.rand(1, 1, 3, 5), 9)
    # The limit itself is accepted.
    median_filter(torch.rand(1, 1, 3, 5), 7)
