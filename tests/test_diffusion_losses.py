"""Losses: the flow-matching target against the analytic velocity field, the epsilon loss floor."""

import math

import pytest
import torch

from aigc_course.losses import epsilon_loss, flow_matching_loss, flow_matching_path
from aigc_course.sampling import GaussianEpsilon, GaussianVelocity, linear_schedule, q_sample

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


M0, S0, M1, S1 = 1.5, 0.4, -0.5, 1.2  # data N(M0, S0^2) at t = 0, source N(M1, S1^2) at t = 1


def test_flow_path_endpoints_and_target():
    x0 = torch.randn(5, 3, generator=gen())
    x1 = torch.randn(5, 3, generator=gen(1))
    xt, u = flow_matching_path(x0, x1, torch.tensor([0.0, 1.0, 0.5, 0.25, 0.0]))
    assert torch.equal(xt[0], x0[0]) and torch.equal(xt[1], x1[1])
    assert torch.allclose(xt[2], (x0[2] + x1[2]) / 2)
    assert torch.allclose(xt[3], 0.75 * x0[3] + 0.25 * x1[3])
    assert torch.equal(u, x1 - x0)
    # The target is the time derivative of the path (finite differences).
    t, h = torch.full((5,), 0.3), 1e-3
    fd = (flow_matching_path(x0, x1, t + h)[0] - flow_matching_path(x0, x1, t - h)[0]) / (2 * h)
    assert torch.allclose(fd, u, atol=1e-3)


@pytest.mark.parametrize("t", [0.1, 0.5, 0.9])
def test_flow_target_regresses_to_the_analytic_velocity(t):
    # E[x1 - x0 | x_t] is linear in x_t for Gaussian endpoints: fit it by least squares on
    # Monte Carlo pairs and compare intercept and slope with the closed form.
    n = 200000
    x0 = M0 + S0 * torch.randn(n, 1, generator=gen(), dtype=torch.float64)
    x1 = M1 + S1 * torch.randn(n, 1, generator=gen(1), dtype=torch.float64)
    xt, u = flow_matching_path(x0, x1, torch.full((n,), t, dtype=torch.float64))
    design = torch.cat([torch.ones_like(xt), xt], dim=1)
    coef = torch.linalg.lstsq(design, u).solution.squeeze(1)
    field = GaussianVelocity(M0, S0, M1, S1)
    probe = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    v = field(probe, torch.full((2,), t, dtype=torch.float64)).squeeze(1)
    intercept, slope = v[0], v[1] - v[0]
    assert abs(coef[0] - intercept) < 0.02 and abs(coef[1] - slope) < 0.02


def test_flow_matching_loss_is_minimised_by_the_analytic_velocity():
    n, t = 100000, 0.4
    x0 = M0 + S0 * torch.randn(n, 1, generator=gen(), dtype=torch.float64)
    x1 = M1 + S1 * torch.randn(n, 1, generator=gen(1), dtype=torch.float64)
    tt = torch.full((n,), t, dtype=torch.float64)
    field = GaussianVelocity(M0, S0, M1, S1)
    best = flow_matching_loss(field, x0, tt, x1)
    # Irreducible loss: Var(u | x_t) = Var(u) - Cov(u, x_t)^2 / Var(x_t).
    var_u = S0**2 + S1**2
    cov = t * S1**2 - (1 - t) * S0**2
    var_t = (1 - t) ** 2 * S0**2 + t**2 * S1**2
    floor = var_u - cov**2 / var_t
    assert abs(best.item() / floor - 1) < 0.02
    for shift in (0.1, -0.1):
        worse = flow_matching_loss(lambda x, s, y, shift=shift: field(x, s) + shift, x0, tt, x1)
        assert worse > best + 0.5 * shift**2


def test_epsilon_loss_value_and_floor():
    s = linear_schedule(100)
    n = 50000
    x0 = 0.7 + 0.5 * torch.randn(n, 1, generator=gen(), dtype=torch.float64)
    noise = torch.randn(n, 1, generator=gen(1), dtype=torch.float64)
    t = torch.full((n,), 30)
    zero = epsilon_loss(lambda x, time, y: torch.zeros_like(x), x0, t, noise, s)
    assert abs(zero.item() - 1) < 0.03  # E[eps^2] = 1
    oracle = GaussianEpsilon(0.7, 0.5, s)
    best = epsilon_loss(oracle, x0, t, noise, s)
    ab = s.alpha_bars[30].item()
    floor = 1 - (1 - ab) / (ab * 0.25 + 1 - ab)  # Var(eps | x_t)
    assert abs(best.item() / floor - 1) < 0.03
    # The loss is the mean squared error of the network's output on q_sample's x_t at t / T.
    seen = {}

    def model(x, time, labels):
        seen.update(x=x, time=time, labels=labels)
        return 2 * x

    y = torch.zeros(n, dtype=torch.long)
    value = epsilon_loss(model, x0, t, noise, s, labels=y)
    xt = q_sample(x0, t, noise, s)
    assert torch.equal(seen["x"], xt) and torch.allclose(seen["time"], torch.full((n,), 0.3))
    assert seen["labels"] is y
    assert torch.allclose(value, ((2 * xt - noise) ** 2).mean())


def test_bad_inputs_give_clear_errors():
    s = linear_schedule(100)
    x0 = torch.zeros(4, 2)

    def model(x, t, y):
        return x

    with pytest.raises(ValueError, match=r"t must lie in \[1, 100\].*found 0"):
        epsilon_loss(model, x0, torch.tensor([0, 1, 2, 3]), torch.zeros(4, 2), s)
    with pytest.raises(ValueError, match="noise must have the shape of x0"):
        epsilon_loss(model, x0, torch.ones(4, dtype=torch.long), torch.zeros(4, 1), s)
    with pytest.raises(ValueError, match=r"t must lie in \[0, 1\]"):
        flow_matching_loss(model, x0, torch.tensor([0.0, 0.5, 1.5, 0.2]), torch.zeros(4, 2))
    with pytest.raises(TypeError, match="float tensor of shape"):
        flow_matching_loss(model, x0, torch.ones(4, dtype=torch.long), torch.zeros(4, 2))
    with pytest.raises(TypeError, match="x0 must be"):
        flow_matching_loss(model, [0.0], torch.ones(1), torch.zeros(1))
    with pytest.raises(ValueError, match="std must be > 0"):
        GaussianEpsilon(0.0, 0.0, s)
    with pytest.raises(ValueError, match="std must be > 0"):
        GaussianVelocity(0.0, 1.0, noise_std=-1.0)
    assert math.isfinite(flow_matching_loss(model, x0, torch.rand(4), torch.zeros(4, 2)).item())
