r"""Tests of aigc_course.metrics against independent oracles (torch.distributions, scipy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from torch.distributions import MultivariateNormal, Normal

from aigc_course.metrics import bits_per_dim, discrete_nll_from_density, nearest_neighbours

# ------------------------------------------------------------------ bits_per_dim


def test_bits_per_dim_tensor_matches_log2_conversion():
    nll = torch.tensor([0.0, 1.0, 543.21, 1e4], dtype=torch.float64)
    d = 784
    # Oracle: 1 nat = log2(e) bits.
    expected = nll * math.log2(math.e) / d
    out = bits_per_dim(nll, d)
    assert isinstance(out, torch.Tensor) and out.shape == nll.shape
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=0)


def test_bits_per_dim_float_and_known_values():
    assert bits_per_dim(math.log(2.0), 1) == pytest.approx(1.0, rel=1e-12)
    assert bits_per_dim(784 * math.log(256), 784) == pytest.approx(8.0, rel=1e-12)
    assert bits_per_dim(10.0, 5) == pytest.approx(2.0 / math.log(2.0), rel=1e-12)
    assert isinstance(bits_per_dim(10.0, 5), float)


@pytest.mark.parametrize("d", [0, -3])
def test_bits_per_dim_rejects_non_positive_dims(d):
    with pytest.raises(ValueError, match=f"num_dims must be an int >= 1, got {d}"):
        bits_per_dim(1.0, d)


# ------------------------------------------------------------------ discrete_nll_from_density


def test_uniform_density_gives_eight_bits_per_dim():
    d = 784
    log_density = torch.zeros(3, dtype=torch.float64)  # uniform on [0, 1]^D
    nll = discrete_nll_from_density(log_density, d)
    torch.testing.assert_close(nll, torch.full((3,), d * math.log(256.0), dtype=torch.float64))
    torch.testing.assert_close(bits_per_dim(nll, d), torch.full((3,), 8.0, dtype=torch.float64))


def test_uniform_density_is_exact_for_any_levels():
    # For the uniform density the Jensen bound is tight: P(x) = L^-D exactly.
    for levels, d in [(2, 1), (4, 3), (16, 10)]:
        nll = discrete_nll_from_density(torch.zeros(1), d, levels=levels)
        assert float(nll) == pytest.approx(-math.log(levels ** (-d)), rel=1e-6)


def test_discrete_nll_formula_against_manual():
    log_density = torch.tensor([-3.0, 0.5, 12.0])
    out = discrete_nll_from_density(log_density, 6, levels=10)
    torch.testing.assert_close(out, -log_density + 6 * math.log(10))


def _mc_expected_log_density(dist, x_int, levels, n, gen):
    r"""Monte Carlo estimate of E_u[log p((x + u) / L)] and its standard error, per example."""
    b, d = x_int.shape
    u = torch.rand(n, b, d, generator=gen, dtype=torch.float64)
    y = (x_int.double() + u) / levels
    lp = dist.log_prob(y)
    if isinstance(dist, Normal):  # elementwise: the joint density of D independent coordinates
        lp = lp.sum(-1)
    assert lp.shape == (n, b)
    return lp.mean(0), lp.std(0) / math.sqrt(n)


@pytest.mark.parametrize("levels", [4, 16, 256])
def test_jensen_bound_one_dim_gaussian(levels):
    gen = torch.Generator().manual_seed(0)
    dist = Normal(torch.tensor(0.45, dtype=torch.float64), torch.tensor(0.2, dtype=torch.float64))
    x_int = torch.arange(levels, dtype=torch.float64).reshape(-1, 1)
    lo, hi = x_int[:, 0] / levels, (x_int[:, 0] + 1) / levels
    exact = -torch.log(dist.cdf(hi) - dist.cdf(lo))  # exact -log P(bin)
    mean_lp, se = _mc_expected_log_density(dist, x_int, levels, 20_000, gen)
    bound = discrete_nll_from_density(mean_lp, 1, levels=levels)
    # The bound holds for every bin, allowing 4 standard errors of Monte Carlo noise.
    assert torch.all(bound >= exact - 4 * se), (bound - exact).min()
    # ... and it is not trivially loose: for a smooth density the gap is the within-bin
    # variation of log p, O(1 / L^2), and it shrinks as the bins get narrower.
    gap = (bound - exact).mean()
    assert gap < 3.0 / levels**2 + 4 * float(se.max())


def test_jensen_bound_gap_shrinks_with_levels():
    gen = torch.Generator().manual_seed(1)
    dist = Normal(torch.tensor(0.5, dtype=torch.float64), torch.tensor(0.15, dtype=torch.float64))
    gaps = []
    for levels in (2, 4, 8):
        x_int = torch.arange(levels, dtype=torch.float64).reshape(-1, 1)
        exact = -torch.log(dist.cdf((x_int[:, 0] + 1) / levels) - dist.cdf(x_int[:, 0] / levels))
        mean_lp, _ = _mc_expected_log_density(dist, x_int, levels, 40_000, gen)
        gaps.append(float((discrete_nll_from_density(mean_lp, 1, levels=levels) - exact).mean()))
    assert gaps[0] > gaps[1] > gaps[2] > 0


def test_jensen_bound_two_dim_gaussian():
    gen = torch.Generator().manual_seed(2)
    levels = 8
    mean = torch.tensor([0.3, 0.6], dtype=torch.float64)
    std = torch.tensor([0.15, 0.25], dtype=torch.float64)
    # A 2-D Gaussian with diagonal covariance, so the exact bin probability factorises.
    mvn = MultivariateNormal(mean, covariance_matrix=torch.diag(std**2))
    grid = torch.stack(
        torch.meshgrid(torch.arange(levels), torch.arange(levels), indexing="ij"), -1
    )
    x_int = grid.reshape(-1, 2).double()
    marg = Normal(mean, std)
    p_bin = (marg.cdf((x_int + 1) / levels) - marg.cdf(x_int / levels)).prod(1)
    exact = -torch.log(p_bin)
    mean_lp, se = _mc_expected_log_density(mvn, x_int, levels, 20_000, gen)
    bound = discrete_nll_from_density(mean_lp, 2, levels=levels)
    assert bound.shape == (levels**2,)
    assert torch.all(bound >= exact - 4 * se)
    # Sanity of the oracle: bin probabilities of a density on R^2 sum to at most 1.
    assert float(p_bin.sum()) <= 1.0


@pytest.mark.parametrize("levels", [1, 0, -5])
def test_discrete_nll_rejects_bad_levels(levels):
    with pytest.raises(ValueError, match=f"levels must be an int >= 2, got {levels}"):
        discrete_nll_from_density(torch.zeros(2), 4, levels=levels)


@pytest.mark.parametrize("d", [0, -1])
def test_discrete_nll_rejects_bad_dims(d):
    with pytest.raises(ValueError, match=f"num_dims must be an int >= 1, got {d}"):
        discrete_nll_from_density(torch.zeros(2), d)


# ------------------------------------------------------------------ nearest_neighbours


def _oracle(q, r):
    dist = cdist(q.reshape(len(q), -1).double().numpy(), r.reshape(len(r), -1).double().numpy())
    return dist.min(1), dist.argmin(1)


@pytest.mark.parametrize("chunk", [1, 3, 1024])
def test_nearest_neighbours_matches_scipy_cdist(chunk):
    gen = torch.Generator().manual_seed(3)
    q = torch.randn(11, 1, 4, 5, generator=gen)
    r = torch.randn(17, 1, 4, 5, generator=gen)
    d, idx = nearest_neighbours(q, r, chunk=chunk)
    d_ref, idx_ref = _oracle(q, r)
    assert d.dtype == torch.float64 and idx.dtype == torch.int64
    assert d.shape == (11,) and idx.shape == (11,)
    np.testing.assert_allclose(d.numpy(), d_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(idx.numpy(), idx_ref)


def test_nearest_neighbours_exact_copies_found_with_zero_distance():
    gen = torch.Generator().manual_seed(4)
    r = torch.rand(20, 784, generator=gen)
    perm = torch.tensor([7, 0, 19, 3])
    d, idx = nearest_neighbours(r[perm], r, chunk=3)
    assert torch.equal(idx, perm)
    # float64 rounding in |q|^2 - 2 q.r + |r|^2 (a D-term dot product) leaves a squared distance
    # of at most ~ D * eps * 2 |q|^2, i.e. a distance of a few 1e-6 here, against ~13 between rows.
    tol = math.sqrt(784 * torch.finfo(torch.float64).eps * 2 * float((r**2).sum(1).max()))
    assert torch.all(d >= 0) and float(d.max()) < tol
    assert tol < 1e-4


def test_nearest_neighbours_chunking_does_not_change_result():
    gen = torch.Generator().manual_seed(5)
    q, r = torch.randn(10, 3, generator=gen), torch.randn(6, 3, generator=gen)
    results = [nearest_neighbours(q, r, chunk=c) for c in (1, 2, 3, 7, 10, 11)]
    for d, idx in results[1:]:
        torch.testing.assert_close(d, results[0][0], rtol=0, atol=1e-12)
        assert torch.equal(idx, results[0][1])


def test_nearest_neighbours_single_reference():
    q = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    r = torch.tensor([[0.0, 0.0]])
    d, idx = nearest_neighbours(q, r)
    torch.testing.assert_close(d, torch.tensor([0.0, 5.0], dtype=torch.float64))
    assert idx.tolist() == [0, 0]


def test_nearest_neighbours_empty_queries():
    d, idx = nearest_neighbours(torch.zeros(0, 1, 2, 2), torch.rand(3, 1, 2, 2))
    assert d.shape == (0,) and d.dtype == torch.float64
    assert idx.shape == (0,) and idx.dtype == torch.int64


def test_nearest_neighbours_errors():
    with pytest.raises(ValueError, match="queries have 6 values per example but reference has 4"):
        nearest_neighbours(torch.rand(2, 6), torch.rand(3, 2, 2))
    with pytest.raises(ValueError, match="reference set is empty"):
        nearest_neighbours(torch.rand(2, 4), torch.zeros(0, 4))
    with pytest.raises(ValueError, match="reference set is empty"):
        nearest_neighbours(torch.rand(2, 1, 2, 2), torch.zeros(0, 1, 2, 2))
    for chunk in (0, -1):
        with pytest.raises(ValueError, match=f"chunk must be an int >= 1, got {chunk}"):
            nearest_neighbours(torch.rand(2, 4), torch.rand(3, 4), chunk=chunk)
