"""Jensen-Shannon divergence on a grid: its properties, scipy's jensenshannon, and quadrature of the integral."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from scipy.spatial.distance import jensenshannon

from aigc_course.losses import grid_probabilities, js_divergence_1d

LOG2 = math.log(2.0)


def normal_pdf(x, mean, std):
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


@pytest.fixture
def grid():
    return torch.linspace(-12.0, 12.0, 4001, dtype=torch.float64)


def test_equal_densities_give_zero(grid):
    p = normal_pdf(grid, 0.3, 1.2)
    assert float(js_divergence_1d(p, p, grid)) == pytest.approx(0.0, abs=1e-12)


def test_symmetric(grid):
    p, q = normal_pdf(grid, -1.0, 0.7), normal_pdf(grid, 2.0, 2.0)
    assert float(js_divergence_1d(p, q, grid)) == pytest.approx(
        float(js_divergence_1d(q, p, grid)), rel=1e-12
    )


def test_disjoint_supports_give_log_2(grid):
    # Two uniform densities on [-3, -1] and [1, 3]: no overlap at all.
    p = ((grid >= -3) & (grid <= -1)).double() / 2
    q = ((grid >= 1) & (grid <= 3)).double() / 2
    assert float(js_divergence_1d(p, q, grid)) == pytest.approx(LOG2, abs=1e-12)
    # Far-apart Gaussians overlap only in their tails: JSD is within a hair of log 2.
    far = js_divergence_1d(normal_pdf(grid, -8.0, 0.5), normal_pdf(grid, 8.0, 0.5), grid)
    assert LOG2 - 1e-9 < float(far) <= LOG2


@pytest.mark.parametrize("m2,s2", [(0.0, 1.0), (1.0, 1.0), (0.5, 2.0), (4.0, 0.5)])
def test_matches_scipy_on_discretised_densities(grid, m2, s2):
    p, q = normal_pdf(grid, 0.0, 1.0), normal_pdf(grid, m2, s2)
    P, Q = grid_probabilities(p, grid).numpy(), grid_probabilities(q, grid).numpy()
    expected = (
        jensenshannon(P, Q) ** 2
    )  # scipy returns the distance, the square root of the divergence (nats)
    assert float(js_divergence_1d(p, q, grid)) == pytest.approx(expected, rel=1e-9, abs=1e-14)


@pytest.mark.parametrize("m2,s2", [(1.0, 1.0), (0.5, 2.0), (3.0, 0.5)])
def test_converges_to_the_integral(grid, m2, s2):
    # Independent oracle: adaptive quadrature of the continuous definition with scipy.stats densities.
    def integrand(x):
        p, q = stats.norm.pdf(x, 0, 1), stats.norm.pdf(x, m2, s2)
        m = (p + q) / 2
        return 0.5 * (p * np.log(p / m) if p > 0 else 0.0) + 0.5 * (
            q * np.log(q / m) if q > 0 else 0.0
        )

    expected, _ = integrate.quad(integrand, -12, 12, points=[0.0, m2], limit=200)
    got = js_divergence_1d(normal_pdf(grid, 0.0, 1.0), normal_pdf(grid, m2, s2), grid)
    assert float(got) == pytest.approx(expected, abs=1e-6)


def test_non_uniform_grid():
    x = torch.cat(
        [
            torch.linspace(-10, -2, 400),
            torch.linspace(-1.99, 2, 3000),
            torch.linspace(2.01, 10, 400),
        ]
    ).double()
    uniform = torch.linspace(-10, 10, 8001, dtype=torch.float64)
    p, q = normal_pdf(x, 0.0, 1.0), normal_pdf(x, 1.0, 1.0)
    on_uniform = js_divergence_1d(
        normal_pdf(uniform, 0.0, 1.0), normal_pdf(uniform, 1.0, 1.0), uniform
    )
    assert float(js_divergence_1d(p, q, x)) == pytest.approx(float(on_uniform), abs=1e-5)
    P = grid_probabilities(p, x)
    assert float(P.sum()) == pytest.approx(1.0, abs=1e-12) and bool((P >= 0).all())


X_OK = torch.linspace(-1, 1, 201, dtype=torch.float64)
P_OK = normal_pdf(X_OK, 0.0, 1.0)  # only 68% of its mass lies on this grid
HALF = torch.full((3,), 0.5, dtype=torch.float64)


@pytest.mark.parametrize(
    "p,x,error,message",
    [
        (
            P_OK,
            X_OK,
            ValueError,
            "integrates to 0.6827 over the grid [-1, 1], not 1: widen the grid",
        ),
        (torch.log(P_OK), X_OK, ValueError, "pass p(x), not log p(x)"),
        (P_OK[:-1], X_OK, ValueError, "give one value per grid point"),
        (
            HALF,
            torch.tensor([0.0, 2.0, 1.0], dtype=torch.float64),
            ValueError,
            "strictly increasing",
        ),
        (HALF, torch.tensor([[0.0, 1.0, 2.0]]), ValueError, "1-D grid with at least 2 points"),
        (HALF, np.linspace(0, 2, 3), TypeError, "x must be a floating-point torch.Tensor"),
        (
            HALF.numpy(),
            torch.linspace(0, 2, 3, dtype=torch.float64),
            TypeError,
            "p must be a floating-point torch.Tensor",
        ),
    ],
    ids=["narrow_grid", "log_density", "shape", "unsorted", "2d_grid", "numpy_grid", "numpy_p"],
)
def test_bad_input_is_explained(p, x, error, message):
    with pytest.raises(error) as info:
        js_divergence_1d(p, p, x)
    assert message in str(info.value)


@pytest.mark.parametrize("mu", [0.5, 2.0, 12.0, 16.0])
def test_gradient_is_finite_and_matches_finite_differences(mu):
    # Far apart, densities underflow to 0 on part of the grid: the gradient must stay finite (no 0 * -inf).
    grid = torch.linspace(-30.0, 30.0, 8001, dtype=torch.float64)

    def jsd(m):
        return js_divergence_1d(normal_pdf(grid, 0.0, 1.0), normal_pdf(grid, m, 1.0), grid)

    m = torch.tensor(mu, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(jsd(m), m)
    h = 1e-5
    fd = (
        jsd(torch.tensor(mu + h, dtype=torch.float64))
        - jsd(torch.tensor(mu - h, dtype=torch.float64))
    ) / (2 * h)
    assert math.isfinite(float(grad))
    assert float(grad) == pytest.approx(float(fd), rel=1e-4, abs=1e-9)
