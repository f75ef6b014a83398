"""Toy data sets and the mode counter."""

import math

import pytest
import torch

from aigc_course.data.toy import ring_of_gaussians, two_gaussians_1d
from aigc_course.metrics.modes import ModeCoverage, count_modes


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_ring_shapes_centers_and_balance():
    x, centers = ring_of_gaussians(8000, generator=gen())
    assert x.shape == (8000, 2) and x.dtype == torch.float32
    assert centers.shape == (8, 2)
    assert torch.allclose(centers.norm(dim=1), torch.full((8,), 2.0), atol=1e-6)
    assert torch.allclose(centers[2], torch.tensor([0.0, 2.0]), atol=1e-6)
    dist, nearest = torch.cdist(x, centers).min(dim=1)
    assert dist.max() < 6 * 0.02
    counts = torch.bincount(nearest, minlength=8)
    assert counts.min() > 800 and counts.max() < 1200  # 1000 expected per mode
    assert torch.equal(x, ring_of_gaussians(8000, generator=gen())[0])
    assert not torch.equal(x, ring_of_gaussians(8000, generator=gen(1))[0])


def test_ring_options():
    x, centers = ring_of_gaussians(100, n_modes=3, radius=5.0, std=0.5, generator=gen())
    assert centers.shape == (3, 2) and torch.allclose(centers.norm(dim=1), torch.full((3,), 5.0))
    assert x.shape == (100, 2)


def test_two_gaussians_1d():
    x, centers = two_gaussians_1d(20000, generator=gen())
    assert x.shape == (20000, 1) and centers.tolist() == [[-2.0], [2.0]]
    left, right = x[x < 0], x[x >= 0]
    assert abs(left.mean().item() + 2) < 0.05 and abs(right.mean().item() - 2) < 0.05
    assert abs(left.std().item() - 0.5) < 0.05
    assert abs(len(left) / len(x) - 0.5) < 0.02
    y, c3 = two_gaussians_1d(10, means=(0, 1, 5), std=1.0, generator=gen())
    assert y.shape == (10, 1) and c3.shape == (3, 1)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ring_of_gaussians(0), "n"),
        (lambda: ring_of_gaussians(10, n_modes=0), "n_modes"),
        (lambda: ring_of_gaussians(10, std=0.0), "std"),
        (lambda: ring_of_gaussians(10, radius=float("nan")), "radius"),
        (lambda: two_gaussians_1d(10, means=()), "means"),
        (lambda: two_gaussians_1d(10, std=-1), "std"),
        (lambda: two_gaussians_1d(2.5), "n"),
    ],
)
def test_bad_toy_arguments(call, match):
    with pytest.raises((ValueError, TypeError), match=match):  # TypeError: not a number
        call()


def test_count_modes_all_eight():
    x, centers = ring_of_gaussians(2500, generator=gen())
    cov = count_modes(x, centers, std=0.02)
    assert isinstance(cov, ModeCoverage)
    assert cov.n_covered == 8 and cov.n_modes == 8 and bool(cov.covered.all())
    assert cov.counts.sum() <= 2500 and cov.high_quality_fraction > 0.97  # 1 - exp(-4.5) = 0.989


def test_count_modes_only_three():
    x, centers = ring_of_gaussians(2500, generator=gen())
    nearest = torch.cdist(x, centers).argmin(dim=1)
    collapsed = x[nearest < 3]
    cov = count_modes(collapsed, centers, std=0.02)
    assert cov.n_covered == 3
    assert cov.covered.tolist() == [True] * 3 + [False] * 5
    assert cov.counts[3:].sum() == 0


def test_count_modes_quality_and_threshold():
    _, centers = ring_of_gaussians(1, generator=gen())
    far = torch.zeros(100, 2)  # the ring's centre: far from every mode
    cov = count_modes(far, centers, std=0.02)
    assert cov.n_covered == 0 and cov.high_quality_fraction == 0.0
    # 3 of 100 samples on mode 0: covered at min_fraction 0.03 but not at 0.05
    samples = torch.cat([centers[:1].repeat(3, 1), far[:97]])
    assert count_modes(samples, centers, 0.02, min_fraction=0.03).n_covered == 1
    assert count_modes(samples, centers, 0.02, min_fraction=0.05).n_covered == 0
    assert math.isclose(count_modes(samples, centers, 0.02).high_quality_fraction, 0.03)
    # a sample 0.1 away is within 3 std only when std >= 0.1/3
    off = centers[:1] + torch.tensor([[0.1, 0.0]])
    assert count_modes(off, centers, 0.02).n_covered == 0
    assert count_modes(off, centers, 0.04).n_covered == 1
    assert count_modes(off, centers, 0.02, threshold_std=6).n_covered == 1


def test_count_modes_ignores_nan_samples():
    _, centers = ring_of_gaussians(1, generator=gen())
    samples = torch.cat([centers, torch.full((8, 2), float("nan"))])
    cov = count_modes(samples, centers, 0.02, min_fraction=0.05)
    assert cov.n_covered == 8 and cov.high_quality_fraction == 0.5


@pytest.mark.parametrize(
    "samples, centers, kwargs, match",
    [
        (torch.zeros(5), torch.zeros(8, 2), {}, r"samples must be .*\(N, d\)"),
        (torch.zeros(0, 2), torch.zeros(8, 2), {}, "N >= 1"),
        ([[0.0, 0.0]], torch.zeros(8, 2), {}, "samples"),
        (torch.zeros(5, 2), torch.zeros(8, 3), {}, r"centers must be .*\(K, 2\)"),
        (torch.zeros(5, 2), "centers", {}, "centers"),
        (torch.zeros(5, 2), torch.zeros(8, 2), {"std": 0.0}, "std"),
        (torch.zeros(5, 2), torch.zeros(8, 2), {"threshold_std": -1.0}, "threshold_std"),
        (torch.zeros(5, 2), torch.zeros(8, 2), {"min_fraction": 0.0}, "min_fraction"),
    ],
)
def test_count_modes_bad_arguments(samples, centers, kwargs, match):
    kwargs = {"std": 0.02, **kwargs}
    with pytest.raises(ValueError, match=match):
        count_modes(samples, centers, **kwargs)


def test_count_modes_within_std_matches_the_truncated_gaussian():
    """Oracle: for 2-D N(mu, s^2 I), r^2/s^2 ~ chi2(2); E[r^2 | r < 3s] from scipy."""
    from scipy import integrate, stats

    from aigc_course.metrics import count_modes

    s = 0.05
    centers = torch.tensor([[0.0, 0.0], [5.0, 5.0]], dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    x = centers[torch.arange(200_000) % 2] + s * torch.randn(
        200_000, 2, generator=gen, dtype=torch.float64
    )
    chi2 = stats.chi2(2)
    num, _ = integrate.quad(lambda u: u * chi2.pdf(u), 0, 9.0)
    expected = s * (num / chi2.cdf(9.0) / 2) ** 0.5
    got = count_modes(x, centers, s).within_std
    assert got == pytest.approx(expected, rel=5e-3)
    # a sampler that halves the spread scores half
    shrunk = centers[torch.arange(1000) % 2] + 0.5 * (x[:1000] - centers[torch.arange(1000) % 2])
    assert count_modes(shrunk, centers, s).within_std == pytest.approx(expected / 2, rel=0.1)
    # no high-quality sample: NaN, not 0
    assert math.isnan(count_modes(centers + 10.0, centers, s).within_std)
