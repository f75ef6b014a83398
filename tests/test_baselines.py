r"""Tests of aigc_course.models.baselines against torch.distributions and numpy.linalg oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Bernoulli, MultivariateNormal

from aigc_course.models.baselines import PCAGaussian, PixelBernoulli

# ====================================================================== PixelBernoulli


def _binary_data(n=50, shape=(1, 3, 4), seed=0):
    gen = torch.Generator().manual_seed(seed)
    probs = torch.linspace(0.1, 0.9, math.prod(shape)).reshape(shape)
    return (torch.rand(n, *shape, generator=gen) < probs).float()


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 3.0])
def test_pixel_bernoulli_fit_is_smoothed_frequency(alpha):
    x = _binary_data()
    model = PixelBernoulli.fit(x, alpha=alpha)
    counts = x.reshape(len(x), -1).sum(0).double()
    expected = (counts + alpha) / (len(x) + 2 * alpha)
    assert model.image_shape == (1, 3, 4) and model.num_pixels == 12
    torch.testing.assert_close(model.probs.double(), expected, rtol=1e-5, atol=1e-6)


def test_pixel_bernoulli_default_alpha_is_one():
    x = _binary_data(n=10)
    torch.testing.assert_close(PixelBernoulli.fit(x).probs, PixelBernoulli.fit(x, alpha=1.0).probs)
    assert not torch.allclose(PixelBernoulli.fit(x).probs, PixelBernoulli.fit(x, alpha=0.0).probs)


def test_pixel_bernoulli_fit_alpha_zero_with_constant_pixels_stays_finite():
    # Pixel 0 always on, pixel 1 always off, pixel 2 varies: the plain MLE puts pi at 1 and 0.
    x = torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 1.0]])
    model = PixelBernoulli.fit(x, alpha=0.0)
    torch.testing.assert_close(model.probs, torch.tensor([1.0, 0.0, 2 / 3]))
    lp = model.log_prob(x)
    assert torch.all(torch.isfinite(lp)), lp
    # Oracle: the two constant pixels contribute (almost) nothing to the training images.
    expected = Bernoulli(probs=torch.tensor(2 / 3)).log_prob(x[:, 2])
    torch.testing.assert_close(lp, expected, rtol=1e-5, atol=1e-5)
    # An image with the never-on pixel switched on is (essentially) impossible.
    assert float(model.log_prob(torch.tensor([[1.0, 1.0, 1.0]])).detach()) < -20


def test_pixel_bernoulli_log_prob_matches_torch_bernoulli():
    gen = torch.Generator().manual_seed(1)
    model = PixelBernoulli((1, 4, 5))
    with torch.no_grad():
        model.logits.copy_(torch.randn(20, generator=gen) * 2)
    x = (torch.rand(7, 1, 4, 5, generator=gen) < 0.5).float()
    lp = model.log_prob(x)
    expected = (
        Bernoulli(probs=model.probs.detach().double()).log_prob(x.reshape(7, -1).double()).sum(1)
    )
    assert lp.shape == (7,)
    torch.testing.assert_close(lp.double(), expected, rtol=1e-5, atol=1e-5)


def test_pixel_bernoulli_log_prob_accepts_flat_and_three_dim_input():
    x = _binary_data(n=4)
    model = PixelBernoulli.fit(x)
    lp = model.log_prob(x)
    torch.testing.assert_close(model.log_prob(x.reshape(4, -1)), lp)
    torch.testing.assert_close(model.log_prob(x[:, 0]), lp)


def test_pixel_bernoulli_untrained_is_fair_coin():
    model = PixelBernoulli((1, 2, 2))
    torch.testing.assert_close(model.probs, torch.full((4,), 0.5))
    x = torch.tensor([[[[0.0, 1.0], [1.0, 1.0]]]])
    torch.testing.assert_close(model.log_prob(x), torch.tensor([4 * math.log(0.5)]))


def test_pixel_bernoulli_log_prob_is_differentiable():
    x = _binary_data(n=8)
    model = PixelBernoulli((1, 3, 4))
    model.log_prob(x).sum().backward()
    # d/dl [x log s(l) + (1-x) log(1-s(l))] = x - s(l); summed over the batch.
    expected = (x.reshape(8, -1) - model.probs.detach()).sum(0)
    torch.testing.assert_close(model.logits.grad, expected)


def test_pixel_bernoulli_sample_frequencies_match_probs():
    x = _binary_data(n=40)
    model = PixelBernoulli.fit(x)
    n = 20_000
    s = model.sample(n, generator=torch.Generator().manual_seed(2))
    assert s.shape == (n, 1, 3, 4) and s.dtype == torch.float32
    assert torch.all((s == 0) | (s == 1))
    freq = s.reshape(n, -1).mean(0)
    p = model.probs.detach()
    se = torch.sqrt(p * (1 - p) / n)
    # 12 pixels, each within 4.5 standard errors (two-sided p ~ 7e-6 per pixel).
    assert torch.all((freq - p).abs() < 4.5 * se), (freq - p) / se
    # And the sampler is not trivially wrong (e.g. u > p): the frequencies span the range of probs.
    assert freq.min() < 0.3 and freq.max() > 0.7


def test_pixel_bernoulli_sample_reproducible_with_generator():
    model = PixelBernoulli.fit(_binary_data())
    a = model.sample(5, generator=torch.Generator().manual_seed(3))
    b = model.sample(5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert model.sample(2).shape == (2, 1, 3, 4)


@pytest.mark.parametrize("bad", [0.5, 2.0, -1.0])
def test_pixel_bernoulli_fit_rejects_non_binary(bad):
    x = _binary_data(n=5)
    x[2, 0, 1, 1] = bad
    with pytest.raises(ValueError, match="PixelBernoulli expects binary images"):
        PixelBernoulli.fit(x)


def test_pixel_bernoulli_errors():
    with pytest.raises(ValueError, match="alpha must be >= 0, got -0.1"):
        PixelBernoulli.fit(_binary_data(), alpha=-0.1)
    model = PixelBernoulli.fit(_binary_data())
    with pytest.raises(
        ValueError,
        match="PixelBernoulli.log_prob: each example has 16 values but the model was built for 12",
    ):
        model.log_prob(torch.zeros(2, 1, 4, 4))
    with pytest.raises(
        ValueError,
        match=r"PixelBernoulli.log_prob: expected a batch of images .* got shape \(12,\)",
    ):
        model.log_prob(torch.zeros(12))
    with pytest.raises(ValueError, match="PixelBernoulli.fit: expected a batch"):
        PixelBernoulli.fit(torch.zeros(12))


# ====================================================================== PCAGaussian


def _gaussian_data(n=200, d=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=gen, dtype=torch.float64) * torch.logspace(
        0, -1.5, d, dtype=torch.float64
    )
    mu = torch.randn(d, generator=gen, dtype=torch.float64)
    return torch.randn(n, d, generator=gen, dtype=torch.float64) @ a.T + mu


def _biased_cov(x):
    return np.cov(x.reshape(len(x), -1).numpy().T, bias=True)


@pytest.mark.parametrize("k", range(6))
def test_pca_log_prob_matches_multivariate_normal(k):
    x = _gaussian_data()
    model = PCAGaussian.fit(x, k)
    assert model.k == k
    test = _gaussian_data(n=30, seed=1)
    mvn = MultivariateNormal(model.mean, covariance_matrix=model.covariance())
    lp = model.log_prob(test)
    assert lp.shape == (30,) and lp.dtype == torch.float64
    torch.testing.assert_close(lp, mvn.log_prob(test), rtol=0, atol=1e-8)


@pytest.mark.parametrize("k", range(6))
def test_pca_fit_matches_numpy_eigh(k):
    x = _gaussian_data()
    model = PCAGaussian.fit(x, k)
    evals, evecs = np.linalg.eigh(_biased_cov(x))
    evals, evecs = evals[::-1], evecs[:, ::-1]  # descending
    np.testing.assert_allclose(model.mean.numpy(), x.numpy().mean(0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.variances.numpy(), evals[:k], rtol=1e-10)
    assert model.noise_variance == pytest.approx(evals[k:].mean(), rel=1e-10)
    # Components equal the eigenvectors up to sign.
    overlap = np.abs(model.components.numpy().T @ evecs[:, :k])
    np.testing.assert_allclose(overlap, np.eye(k), atol=1e-8)
    # The covariance keeps the top k eigenpairs and replaces the rest by their mean.
    kept = np.concatenate([evals[:k], np.full(6 - k, evals[k:].mean())])
    np.testing.assert_allclose(model.covariance().numpy(), (evecs * kept) @ evecs.T, atol=1e-12)


def test_pca_with_k_d_minus_one_is_the_full_gaussian_mle():
    x = _gaussian_data()
    model = PCAGaussian.fit(x, 5)
    np.testing.assert_allclose(model.covariance().numpy(), _biased_cov(x), atol=1e-12)


def test_pca_k_zero_is_isotropic():
    x = _gaussian_data()
    model = PCAGaussian.fit(x, 0)
    s2 = np.trace(_biased_cov(x)) / 6
    assert model.noise_variance == pytest.approx(s2, rel=1e-12)
    torch.testing.assert_close(model.covariance(), s2 * torch.eye(6, dtype=torch.float64))
    assert model.components.shape == (6, 0) and model.variances.shape == (0,)


@pytest.mark.parametrize("k", [0, 2, 4])
def test_pca_train_log_likelihood_closed_form(k):
    # At the maximum-likelihood solution tr(C^-1 S) = D, so the mean train log-likelihood is
    # -D/2 (log 2 pi + 1) - 1/2 log det C.
    x = _gaussian_data()
    model = PCAGaussian.fit(x, k)
    _, logdet = np.linalg.slogdet(model.covariance().numpy())
    expected = -0.5 * 6 * (math.log(2 * math.pi) + 1) - 0.5 * logdet
    assert float(model.log_prob(x).mean()) == pytest.approx(expected, rel=1e-10)


def _perturbed(model, variances=None, noise=None, components=None):
    return PCAGaussian(
        model.mean,
        model.components if components is None else components,
        model.variances if variances is None else variances,
        model.noise_variance if noise is None else noise,
        model.image_shape,
    )


@pytest.mark.parametrize("k", [0, 1, 3, 5])
def test_pca_fit_maximises_likelihood(k):
    x = _gaussian_data()
    model = PCAGaussian.fit(x, k)
    best = float(model.log_prob(x).mean())
    for f in (0.97, 1.03):
        assert float(_perturbed(model, noise=model.noise_variance * f).log_prob(x).mean()) < best
        for j in range(k):
            v = model.variances.clone()
            v[j] *= f
            assert float(_perturbed(model, variances=v).log_prob(x).mean()) < best
    if k >= 1:
        # Rotating the first component slightly towards a discarded direction also lowers it.
        _, evecs = np.linalg.eigh(_biased_cov(x))
        other = torch.from_numpy(evecs[:, 0].copy())  # smallest-eigenvalue direction, never kept
        comps = model.components.clone()
        t = 0.05
        comps[:, 0] = math.cos(t) * comps[:, 0] + math.sin(t) * other
        assert float(_perturbed(model, components=comps).log_prob(x).mean()) < best


def test_pca_sample_moments_match_model():
    x = _gaussian_data()
    model = PCAGaussian.fit(x, 2)
    n = 40_000
    s = model.sample(n, generator=torch.Generator().manual_seed(5))
    assert s.shape == (n, 6) and s.dtype == torch.float64
    cov = model.covariance()
    var = cov.diagonal()
    se_mean = torch.sqrt(var / n)
    assert torch.all((s.mean(0) - model.mean).abs() < 4.5 * se_mean)
    emp = torch.cov(s.T, correction=0)
    # Standard error of a Gaussian sample covariance entry: sqrt((C_ii C_jj + C_ij^2) / n).
    se_cov = torch.sqrt((var[:, None] * var[None, :] + cov**2) / n)
    z = (emp - cov).abs() / se_cov
    assert float(z.max()) < 5.0, z
    # Without the in-subspace correction of the noise the top variances would be lambda + sigma^2.
    top = model.components.T @ emp @ model.components
    np.testing.assert_allclose(top.diagonal().numpy(), model.variances.numpy(), rtol=0.03)


def test_pca_sample_without_noise_lies_in_subspace():
    x = _gaussian_data()
    model = PCAGaussian.fit(x, 2)
    n = 20_000
    s = model.sample(n, generator=torch.Generator().manual_seed(6), noise=False)
    u = model.components
    centred = s - model.mean
    residual = centred - (centred @ u) @ u.T
    assert float(residual.abs().max()) < 1e-10
    # Inside the subspace the variances are the kept eigenvalues (MC, 5 % ~ 5 standard errors).
    coords = centred @ u
    np.testing.assert_allclose(coords.var(0).numpy(), model.variances.numpy(), rtol=0.05)
    assert float(coords.mean(0).abs().max()) < 5 * math.sqrt(float(model.variances.max()) / n)


def test_pca_sample_reproducible_and_image_shape():
    gen = torch.Generator().manual_seed(7)
    x = torch.rand(30, 1, 2, 3, generator=gen)
    model = PCAGaussian.fit(x, 2)
    assert model.image_shape == (1, 2, 3)
    a = model.sample(4, generator=torch.Generator().manual_seed(1))
    b = model.sample(4, generator=torch.Generator().manual_seed(1))
    assert a.shape == (4, 1, 2, 3) and torch.equal(a, b)
    assert model.sample(3, noise=False).shape == (3, 1, 2, 3)
    # log_prob accepts the image shape and the flat shape alike.
    torch.testing.assert_close(model.log_prob(x), model.log_prob(x.reshape(30, -1)))


def test_pca_fewer_examples_than_dims_matches_eigh():
    x = _gaussian_data(n=5, d=8)
    model = PCAGaussian.fit(x, 2)
    evals = np.linalg.eigh(_biased_cov(x))[0][::-1]  # includes the 4 zero eigenvalues
    np.testing.assert_allclose(model.variances.numpy(), evals[:2], rtol=1e-10)
    assert model.noise_variance == pytest.approx(evals[2:].mean(), rel=1e-8)
    mvn = MultivariateNormal(model.mean, covariance_matrix=model.covariance())
    torch.testing.assert_close(model.log_prob(x), mvn.log_prob(x), rtol=0, atol=1e-8)


def test_pca_min_variance_floor_keeps_density_finite():
    x = torch.zeros(10, 4, dtype=torch.float64)
    x[:, 0] = torch.arange(10.0)  # only one pixel varies
    model = PCAGaussian.fit(x, 0, min_variance=1e-3)
    assert model.noise_variance == pytest.approx(max(float(x[:, 0].var(correction=0)) / 4, 1e-3))
    const = torch.zeros(10, 4, dtype=torch.float64)
    m0 = PCAGaussian.fit(const, 1, min_variance=1e-3)
    assert m0.noise_variance == pytest.approx(1e-3)
    torch.testing.assert_close(m0.variances, torch.tensor([1e-3], dtype=torch.float64))
    assert torch.all(torch.isfinite(m0.log_prob(const)))
    default = PCAGaussian.fit(const, 0)
    assert default.noise_variance == pytest.approx(1e-6)


@pytest.mark.parametrize("k", [-1, 6, 7])
def test_pca_fit_rejects_k_out_of_range(k):
    with pytest.raises(ValueError, match=rf"k must satisfy 0 <= k < min\(N, D\) = 6, got k={k}"):
        PCAGaussian.fit(_gaussian_data(), k)


def test_pca_fit_k_limited_by_n():
    with pytest.raises(ValueError, match=r"min\(N, D\) = 3, got k=3"):
        PCAGaussian.fit(_gaussian_data(n=3), 3)


@pytest.mark.parametrize("shape", [(1, 6), (0, 6), (6,), (1, 1, 2, 3)])
def test_pca_fit_rejects_too_few_examples(shape):
    with pytest.raises(ValueError, match="need a batch of at least 2 examples"):
        PCAGaussian.fit(torch.zeros(shape), 0)


@pytest.mark.parametrize(
    "mean,components,variances",
    [
        (torch.zeros(4), torch.zeros(5, 2), torch.ones(2)),  # components rows != D
        (torch.zeros(4), torch.zeros(4, 2), torch.ones(3)),  # variances != k
        (torch.zeros(4), torch.zeros(4), torch.ones(0)),  # components not 2-D
        (torch.zeros(2, 2), torch.zeros(4, 1), torch.ones(1)),  # mean not 1-D
        (torch.zeros(4), torch.zeros(4, 2), torch.ones(2, 1)),  # variances not 1-D
    ],
)
def test_pca_rejects_inconsistent_parameter_shapes(mean, components, variances):
    with pytest.raises(
        ValueError, match=r"inconsistent PCA parameters: .* expected \(D,\), \(D, k\), \(k,\)"
    ):
        PCAGaussian(mean, components, variances, 1.0, (4,))


@pytest.mark.parametrize("noise", [0.0, -1.0, float("nan")])
def test_pca_rejects_non_positive_noise_variance(noise):
    with pytest.raises(ValueError, match="noise_variance must be > 0"):
        PCAGaussian(torch.zeros(4), torch.zeros(4, 1), torch.ones(1), noise, (4,))


def test_pca_log_prob_rejects_wrong_size():
    model = PCAGaussian.fit(_gaussian_data(), 2)
    with pytest.raises(
        ValueError,
        match="PCAGaussian.log_prob: each example has 5 values but the model was built for 6",
    ):
        model.log_prob(torch.zeros(3, 5))


def test_pca_parameters_are_float64_buffers():
    model = PCAGaussian.fit(_gaussian_data().float(), 2)
    names = dict(model.named_buffers())
    assert set(names) == {"mean", "components", "variances"}
    assert all(b.dtype == torch.float64 for b in names.values())
    assert list(model.parameters()) == []
