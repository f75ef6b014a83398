"""Two moons: samples on scikit-learn's arcs, and a log-density checked by independent oracles."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate
from sklearn.datasets import make_moons

from aigc_course.data import two_moons, two_moons_log_density


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


def test_noise_free_samples_lie_on_scikit_learns_arcs():
    # make_moons without noise puts its points on the two arcs; ours (noise -> 0) must lie
    # on the same curves: every one of our points is within 1e-4 of a dense sklearn arc.
    arcs, _ = make_moons(n_samples=200_000, noise=0.0, shuffle=False)
    ours = two_moons(500, noise=1e-9, generator=_g()).double().numpy()
    d = np.sqrt(((ours[:, None, :] - arcs[None, ::20, :]) ** 2).sum(-1)).min(1)
    assert d.max() < 1e-3
    # both moons drawn, about half each (upper arc: y >= 0 and x <= 1 + ...)
    upper = np.isclose((ours**2).sum(1), 1.0, atol=1e-6)
    assert 0.4 < upper.mean() < 0.6


def test_samples_shape_dtype_seed():
    a = two_moons(1000, generator=_g(3))
    b = two_moons(1000, generator=_g(3))
    assert a.shape == (1000, 2) and a.dtype == torch.float32
    assert torch.equal(a, b)


@pytest.mark.parametrize("point", [(0.0, 1.0), (1.0, -0.5), (0.5, 0.25), (2.0, 0.4), (-1.2, 0.1)])
def test_log_density_matches_scipy_quadrature(point):
    sigma = 0.1
    x = np.array(point)

    def gauss(theta, moon):
        a = (
            np.array([np.cos(theta), np.sin(theta)])
            if moon == 0
            else np.array([1 - np.cos(theta), 0.5 - np.sin(theta)])
        )
        return np.exp(-((x - a) ** 2).sum() / (2 * sigma**2)) / (2 * math.pi * sigma**2)

    p = sum(
        integrate.quad(gauss, 0, math.pi, args=(m,), epsabs=1e-14, limit=200)[0] for m in (0, 1)
    ) / (2 * math.pi)
    ours = two_moons_log_density(torch.tensor([point]), sigma).item()
    assert ours == pytest.approx(math.log(p), abs=1e-5)  # midpoint rule, M = 2000


def test_density_integrates_to_one():
    axis = torch.linspace(-2.5, 3.5, 301, dtype=torch.float64)
    gx, gy = torch.meshgrid(
        axis, torch.linspace(-2.0, 2.5, 226, dtype=torch.float64), indexing="xy"
    )
    grid = torch.stack([gx.flatten(), gy.flatten()], 1)
    dens = two_moons_log_density(grid, 0.2, n_arc=400).exp()
    cell = (6.0 / 300) * (4.5 / 225)
    assert dens.sum().item() * cell == pytest.approx(1.0, abs=1e-4)


def test_samples_follow_the_density():
    # a histogram of samples against the density integrated over each cell (midpoints)
    x = two_moons(200_000, noise=0.15, generator=_g(1)).double()
    edges_x = torch.linspace(-1.5, 2.5, 9, dtype=torch.float64)
    edges_y = torch.linspace(-1.0, 1.5, 6, dtype=torch.float64)
    counts, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=(edges_x.numpy(), edges_y.numpy()))
    fine_x = torch.linspace(-1.5, 2.5, 161, dtype=torch.float64)
    fine_y = torch.linspace(-1.0, 1.5, 101, dtype=torch.float64)
    mx, my = (fine_x[1:] + fine_x[:-1]) / 2, (fine_y[1:] + fine_y[:-1]) / 2
    gx, gy = torch.meshgrid(mx, my, indexing="ij")
    dens = two_moons_log_density(torch.stack([gx.flatten(), gy.flatten()], 1), 0.15).exp()
    cell = (4.0 / 160) * (2.5 / 100)
    mass = (dens.view(160, 100) * cell).view(8, 20, 5, 20).sum((1, 3)).numpy()
    expected = mass * len(x)
    big = expected > 500
    z = (counts[big] - expected[big]) / np.sqrt(expected[big])
    assert np.abs(z).max() < 5.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: two_moons(0), "n"),
        (lambda: two_moons(5, noise=0.0), "noise"),
        (lambda: two_moons(5, noise=float("nan")), "noise"),
        (lambda: two_moons_log_density(torch.zeros(3, 3)), r"\(B, 2\)"),
        (lambda: two_moons_log_density(torch.zeros(3, 2, dtype=torch.long)), "floating"),
        (lambda: two_moons_log_density(np.zeros((3, 2))), "torch.Tensor"),
        (lambda: two_moons_log_density(torch.zeros(3, 2), n_arc=0), "n_arc"),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()
