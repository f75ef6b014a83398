r"""Tests of aigc_course.metrics.kid against a direct O(n^2) loop over pairs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from aigc_course.metrics import kid, mmd2_unbiased, polynomial_kernel


def _loop_mmd2(x, y):
    # Oracle: the definition of Gretton et al. (2012), eq. 3, with k(a, b) = (a.b / d + 1)^3, pair by pair.
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    d = x.shape[1]
    k = lambda a, b: (float(np.dot(a, b)) / d + 1.0) ** 3  # noqa: E731
    m, n = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i, j in itertools.product(range(m), range(m)) if i != j)
    syy = sum(k(y[i], y[j]) for i, j in itertools.product(range(n), range(n)) if i != j)
    sxy = sum(k(a, b) for a in x for b in y)
    return sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2 * sxy / (m * n)


def test_polynomial_kernel_definition():
    x = torch.tensor([[1.0, 2.0], [0.0, -1.0]], dtype=torch.float64)
    y = torch.tensor([[3.0, 0.5]], dtype=torch.float64)
    expected = torch.tensor([[(4.0 / 2 + 1) ** 3], [(-0.5 / 2 + 1) ** 3]], dtype=torch.float64)
    torch.testing.assert_close(polynomial_kernel(x, y), expected)


@pytest.mark.parametrize("m,n,d", [(5, 5, 3), (7, 4, 2), (12, 9, 8)])
def test_mmd2_unbiased_matches_loop_oracle(m, n, d):
    rng = np.random.default_rng(m + n + d)
    x = rng.standard_normal((m, d))
    y = rng.standard_normal((n, d)) * 1.3 + 0.4
    assert mmd2_unbiased(torch.tensor(x), torch.tensor(y)) == pytest.approx(
        _loop_mmd2(x, y), rel=1e-10
    )


def test_mmd2_unbiased_is_unbiased_for_equal_distributions():
    # E[MMD^2_u] = 0 when both samples come from one distribution: the mean over many draws is ~0
    # (within 4 standard errors), and single estimates take both signs.
    gen = torch.Generator().manual_seed(0)
    vals = torch.tensor(
        [
            mmd2_unbiased(torch.randn(20, 3, generator=gen), torch.randn(20, 3, generator=gen))
            for _ in range(400)
        ]
    )
    assert abs(float(vals.mean())) < 4 * float(vals.std()) / 20
    assert (vals < 0).any() and (vals > 0).any()


def test_mmd2_grows_with_the_shift():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(300, 4, generator=gen)
    values = [
        mmd2_unbiased(x, torch.randn(300, 4, generator=gen) + s) for s in (0.0, 0.5, 1.0, 2.0)
    ]
    assert values[0] < 0.05 < values[1] < values[2] < values[3]


def test_kid_one_full_subset_equals_mmd2():
    rng = np.random.default_rng(3)
    x, y = (
        torch.tensor(rng.standard_normal((30, 5))),
        torch.tensor(rng.standard_normal((30, 5)) + 0.3),
    )
    out = kid(x, y, subsets=1, subset_size=1000)
    assert out.subset_size == 30 and out.subsets == 1 and np.isnan(out.std)
    assert out.mean == pytest.approx(_loop_mmd2(x.numpy(), y.numpy()), rel=1e-10)


def test_kid_mean_over_subsets_matches_loop_oracle():
    rng = np.random.default_rng(4)
    x, y = (
        torch.tensor(rng.standard_normal((25, 3))),
        torch.tensor(rng.standard_normal((18, 3)) + 0.5),
    )
    out = kid(x, y, subsets=4, subset_size=6, seed=7)
    # Re-draw the same subsets as kid does, and average the loop oracle over them.
    gen = torch.Generator().manual_seed(7)
    ref = []
    for _ in range(4):
        ia, ib = torch.randperm(25, generator=gen)[:6], torch.randperm(18, generator=gen)[:6]
        ref.append(_loop_mmd2(x[ia].numpy(), y[ib].numpy()))
    assert out.mean == pytest.approx(np.mean(ref), rel=1e-10)
    assert out.std == pytest.approx(np.std(ref, ddof=1), rel=1e-8)
    assert kid(x, y, subsets=4, subset_size=6, seed=7) == out  # seeded


def test_kid_errors():
    x = torch.rand(10, 3)
    with pytest.raises(ValueError, match="subsets must be an int >= 1, got 0"):
        kid(x, x, subsets=0)
    with pytest.raises(ValueError, match="subset_size must be an int >= 2, got 1"):
        kid(x, x, subset_size=1)
    with pytest.raises(ValueError, match="the two feature sets have 3 and 2 columns"):
        mmd2_unbiased(x, torch.rand(4, 2))
