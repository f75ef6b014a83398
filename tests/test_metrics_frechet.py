r"""Tests of aigc_course.metrics.frechet against scipy.linalg.sqrtm, the eigenvalue formula and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from aigc_course.metrics import feature_statistics, frechet_distance, gaussian_frechet_distance


def _scipy_fd(mu1, s1, mu2, s2):
    # The reference implementation of Heusel et al.: tr sqrtm(S1 S2) with scipy's matrix square root.
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _eig_fd(mu1, s1, mu2, s2):
    # tr (S1 S2)^{1/2} = sum of sqrt of the (real, >= 0) eigenvalues of S1 S2.
    eig = np.linalg.eigvals(s1 @ s2).real.clip(min=0)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(eig).sum())


def _random_spd(d, rng, rank=None):
    a = rng.standard_normal((d, rank or d))
    return a @ a.T / d + (1e-3 * np.eye(d) if rank is None else 0)


@pytest.mark.parametrize("d", [1, 3, 16])
def test_gaussian_fd_matches_scipy_sqrtm_and_eigenvalues(d):
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = _random_spd(d, rng), _random_spd(d, rng)
    out = gaussian_frechet_distance(
        torch.tensor(mu1), torch.tensor(s1), torch.tensor(mu2), torch.tensor(s2)
    )
    assert isinstance(out, float)
    assert out == pytest.approx(_scipy_fd(mu1, s1, mu2, s2), rel=1e-8, abs=1e-9)
    assert out == pytest.approx(_eig_fd(mu1, s1, mu2, s2), rel=1e-8, abs=1e-9)


def test_gaussian_fd_singular_covariances_match_eigenvalue_formula():
    # Rank-deficient covariances (fewer samples than features) are the usual case for small sets.
    rng = np.random.default_rng(0)
    d = 10
    s1, s2 = _random_spd(d, rng, rank=4), _random_spd(d, rng, rank=3)
    mu = np.zeros(d)
    out = gaussian_frechet_distance(*(torch.tensor(a) for a in (mu, s1, mu, s2)))
    assert out == pytest.approx(_eig_fd(mu, s1, mu, s2), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("d", [1, 2, 7, 64])
def test_fd_between_unit_gaussians_one_apart_is_d(d):
    # Closed form: FD(N(0, I), N(1, I)) = |1|^2 + tr I + tr I - 2 tr I = d.
    eye = torch.eye(d, dtype=torch.float64)
    out = gaussian_frechet_distance(torch.zeros(d), eye, torch.ones(d), eye)
    assert out == pytest.approx(float(d), rel=1e-12)


def test_fd_closed_form_for_commuting_diagonal_covariances():
    # Diagonal covariances: FD = |mu1 - mu2|^2 + sum (sigma1 - sigma2)^2.
    s1 = torch.tensor([1.0, 4.0, 9.0], dtype=torch.float64)
    s2 = torch.tensor([4.0, 1.0, 0.25], dtype=torch.float64)
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 0.0])
    expected = float(((mu1 - mu2) ** 2).sum() + ((s1.sqrt() - s2.sqrt()) ** 2).sum())
    assert gaussian_frechet_distance(mu1, torch.diag(s1), mu2, torch.diag(s2)) == pytest.approx(
        expected, rel=1e-12
    )


def test_frechet_distance_of_samples_approaches_d():
    gen = torch.Generator().manual_seed(0)
    d, n = 4, 200_000
    a = torch.randn(n, d, generator=gen, dtype=torch.float64)
    b = torch.randn(n, d, generator=gen, dtype=torch.float64) + 1.0
    assert frechet_distance(a, b) == pytest.approx(d, abs=0.05)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_uses_unbiased_covariance_and_matches_scipy_on_features():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((50, 6)) @ rng.standard_normal((6, 6))
    b = rng.standard_normal((40, 6)) + 0.5
    mu, cov = feature_statistics(torch.tensor(a))
    np.testing.assert_allclose(mu.numpy(), a.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov.numpy(), np.cov(a, rowvar=False), rtol=1e-10)
    expected = _scipy_fd(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert frechet_distance(torch.tensor(a, dtype=torch.float32), torch.tensor(b)) == pytest.approx(
        expected, rel=1e-5
    )
    # Symmetric in its arguments.
    assert frechet_distance(torch.tensor(b), torch.tensor(a)) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_errors():
    with pytest.raises(ValueError, match=r"features_a must have shape \(N, F\)"):
        frechet_distance(torch.rand(5, 1, 2, 2), torch.rand(5, 4))
    with pytest.raises(ValueError, match="the two feature sets have 3 and 4 columns"):
        frechet_distance(torch.rand(5, 3), torch.rand(5, 4))
    with pytest.raises(ValueError, match="features_b has 1 rows; at least 2 are needed"):
        frechet_distance(torch.rand(5, 3), torch.rand(1, 3))
    with pytest.raises(ValueError, match="NaN or infinite"):
        frechet_distance(torch.tensor([[0.0, float("nan")], [1.0, 1.0]]), torch.rand(3, 2))
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        frechet_distance(np.zeros((3, 2)), torch.rand(3, 2))
    with pytest.raises(ValueError, match=r"got cov2 of shape \(2, 3\)"):
        gaussian_frechet_distance(torch.zeros(2), torch.eye(2), torch.zeros(2), torch.zeros(2, 3))
