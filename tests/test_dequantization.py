"""Uniform dequantization and the discrete likelihood it bounds, against brute-force sums over
every image of a tiny discrete space (2 pixels, 4 levels)."""

import itertools
import math

import pytest
import torch

from aigc_course.data import dequantize, dequantize_unit, to_unit
from aigc_course.metrics import (
    bits_per_dim,
    dequantized_bits_per_dim,
    discrete_nll_from_density,
    evaluate_normalizing_flow,
)
from aigc_course.models.normalizing_flow import NormalizingFlow, NormalizingFlowConfig

torch.set_num_threads(1)

L, D = 4, 2  # levels, pixels: 16 discrete images
IMAGES = torch.tensor(list(itertools.product(range(L), repeat=D)), dtype=torch.float64)


def _midpoints(k: int) -> torch.Tensor:
    r"""(k^D, D) midpoint-rule offsets u in [0, 1)^D."""
    u = (torch.arange(k, dtype=torch.float64) + 0.5) / k
    return torch.stack(torch.meshgrid(*([u] * D), indexing="ij"), -1).view(-1, D)


def test_each_level_fills_its_own_bin_and_matches_the_uint8_version():
    x01 = (IMAGES / (L - 1)).repeat(200, 1)
    y = dequantize_unit(x01, levels=L, generator=torch.Generator().manual_seed(0))
    assert y.dtype == torch.float64 and y.min() >= 0 and y.max() < 1
    assert torch.equal(torch.floor(y * L), IMAGES.repeat(200, 1))
    u8 = torch.randint(256, (3, 5, 5), dtype=torch.uint8)
    a = dequantize(u8, torch.Generator().manual_seed(4))
    b = dequantize_unit(to_unit(u8), generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b)


def test_a_piecewise_constant_density_makes_the_bound_exact():
    r"""p(y) = L^D P(bin(y)): then -E_u log p(y) + D log L = -log P(x) for every x."""
    g = torch.Generator().manual_seed(0)
    probs = torch.rand(L**D, generator=g, dtype=torch.float64)
    probs /= probs.sum()

    def log_p(y):
        cell = torch.floor(y * L).long()
        index = cell[:, 0] * L + cell[:, 1]
        return torch.log(L**D * probs[index])

    for i, x in enumerate(IMAGES):
        x01 = (x / (L - 1)).expand(64, D)
        y = dequantize_unit(x01, levels=L, generator=g)
        bound = discrete_nll_from_density(log_p(y), D, levels=L)
        assert torch.allclose(bound, -torch.log(probs[i]).expand(64), atol=1e-12)


def test_for_a_smooth_density_the_bound_holds_and_the_discrete_probabilities_sum_to_its_mass():
    r"""Brute force: P(x) = integral of p over bin(x) by a 60 x 60 midpoint rule, for all 16 x."""
    torch.manual_seed(0)
    flow = NormalizingFlow(
        NormalizingFlowConfig(data_shape=(1, 1, D), n_couplings=2, hidden=8, logit_alpha=0.05)
    ).double()
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.2 * torch.randn_like(p))
    u = _midpoints(60)
    probs, bounds = [], []
    with torch.no_grad():
        for x in IMAGES:
            x01 = (x / (L - 1)).expand(len(u), D).contiguous()
            y = dequantize_unit(x01, levels=L, noise=u)
            log_p = flow.log_prob(y.view(-1, 1, 1, D))
            probs.append(float(log_p.exp().mean()) / L**D)  # bin volume L^-D
            bounds.append(float(discrete_nll_from_density(log_p, D, levels=L).mean()))
    probs = torch.tensor(probs, dtype=torch.float64)
    bounds = torch.tensor(bounds, dtype=torch.float64)
    assert (bounds >= -torch.log(probs) - 1e-9).all()  # Jensen, for every image
    assert (bounds > -torch.log(probs) + 1e-4).any()  # and not trivially equal
    # The logit layer puts a little mass just outside [0, 1]: the discrete sum is at most 1,
    # and equals the mass inside [0, 1] (the same quadrature over the whole square).
    full = (torch.arange(L * 60, dtype=torch.float64) + 0.5) / (L * 60)
    grid = torch.stack(torch.meshgrid(full, full, indexing="ij"), -1).view(-1, 1, 1, D)
    with torch.no_grad():
        inside = float(flow.log_prob(grid).exp().mean())
    assert 0.5 < float(probs.sum()) <= 1.0
    assert float(probs.sum()) == pytest.approx(inside, rel=1e-9)
    assert float(torch.exp(-bounds).sum()) <= float(probs.sum())


def test_bits_per_dim_carry_the_eight_bit_offset():
    # a uniform density on [0, 1]^D: every 8-bit image has probability 256^-D, 8 bits/dim
    assert torch.allclose(dequantized_bits_per_dim(torch.zeros(3), 784), torch.full((3,), 8.0))
    log_p = torch.tensor([1000.0, -50.0], dtype=torch.float64)
    nats = -log_p + 784 * math.log(256)
    assert torch.allclose(dequantized_bits_per_dim(log_p, 784), nats / (784 * math.log(2)))
    assert torch.allclose(dequantized_bits_per_dim(log_p, 784), bits_per_dim(-log_p, 784) + 8.0)
    assert torch.allclose(dequantized_bits_per_dim(torch.zeros(1), 2, levels=4), torch.tensor(2.0))


@pytest.mark.parametrize(
    "x, match",
    [
        (torch.tensor([0.0, float("nan")]), "NaN"),
        (torch.tensor([0.0, 1.5]), r"\[0, 1\]"),
        (torch.tensor([-0.1, 1.0]), r"\[0, 1\]"),
        (torch.tensor([0.0, 0.5]), "off that grid"),
        (torch.tensor([0, 255], dtype=torch.uint8), "floating-point"),
    ],
)
def test_bad_images_are_refused_by_name(x, match):
    with pytest.raises((ValueError, TypeError), match=match):
        dequantize_unit(x)


def test_bad_levels_and_noise_are_refused_by_name():
    x = torch.tensor([0.0, 1.0])
    with pytest.raises(ValueError, match="levels"):
        dequantize_unit(x, levels=1)
    with pytest.raises(ValueError, match="noise must have the shape"):
        dequantize_unit(x, noise=torch.zeros(3))
    with pytest.raises(ValueError, match="noise"):
        dequantize_unit(x, noise=torch.tensor([0.0, 1.5]))
    assert torch.equal(dequantize_unit(x, levels=2, noise=torch.zeros(2)), torch.tensor([0.0, 0.5]))


class _Uniform(torch.nn.Module):
    r"""The uniform density on [0, 1)^D: log p = 0 everywhere."""

    def log_prob(self, y):
        return torch.zeros(y.shape[0], dtype=y.dtype)


def test_evaluate_normalizing_flow_gives_eight_bits_for_the_uniform_density():
    data = torch.randint(256, (5, 1, 3, 3)).float() / 255
    result = evaluate_normalizing_flow(_Uniform(), data, draws=2, batch_size=2)
    assert result.bits_per_dim == pytest.approx(8.0) and result.bits_per_dim_sem == 0.0
    assert result.nats == pytest.approx(9 * math.log(256)) and result.n == 5
    assert "8.000 +- 0.000 bits/dim" in str(result)


def test_evaluate_normalizing_flow_averages_the_bound_over_draws_and_images():
    torch.manual_seed(0)
    flow = NormalizingFlow(
        NormalizingFlowConfig(data_shape=(1, 1, D), n_couplings=2, hidden=8, logit_alpha=0.05)
    )
    data = IMAGES.float() / (L - 1)
    data = data.view(-1, 1, 1, D)
    flow.eval()  # evaluate_normalizing_flow runs in eval mode (no ActNorm initialisation)
    result = evaluate_normalizing_flow(flow, data, levels=L, draws=3, batch_size=5, seed=4)
    g = torch.Generator().manual_seed(4)
    rows = []
    for chunk in data.split(5):  # the same noise stream, by hand
        log_p = (
            sum(flow.log_prob(dequantize_unit(chunk, levels=L, generator=g)) for _ in range(3)) / 3
        )
        rows.append(log_p.detach())
    bpd = (-torch.cat(rows) + D * math.log(L)) / (D * math.log(2))
    assert result.bits_per_dim == pytest.approx(float(bpd.mean()), rel=1e-5)
    assert result.bits_per_dim_sem == pytest.approx(float(bpd.std() / 4), rel=1e-4)


def test_evaluate_normalizing_flow_refuses_bad_input():
    with pytest.raises(ValueError, match="data must hold 256-level"):
        evaluate_normalizing_flow(_Uniform(), torch.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="number of images"):
        evaluate_normalizing_flow(_Uniform(), torch.zeros(1, 2))
    with pytest.raises(TypeError, match="log_prob"):
        evaluate_normalizing_flow(torch.nn.Linear(2, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="draws"):
        evaluate_normalizing_flow(_Uniform(), torch.zeros(3, 2), draws=0)
