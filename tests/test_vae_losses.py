r"""Tests of aigc_course.losses.vae against independent oracles (torch.distributions, Monte Carlo, F.*)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from aigc_course.losses import (
    bernoulli_nll,
    gaussian_kl,
    gaussian_nll,
    importance_weighted_bound,
    log_normal_diag,
    negative_elbo,
    reparameterize,
)


def _gaussian(b=5, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(b, d, generator=g, dtype=torch.float64)
    logvar = torch.randn(b, d, generator=g, dtype=torch.float64)
    return mu, logvar


# ------------------------------------------------------------------ KL


def test_gaussian_kl_matches_torch_distributions():
    mu, logvar = _gaussian(b=7, d=4)
    q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), kl_divergence(q, p))


def test_gaussian_kl_matches_monte_carlo_within_its_standard_error():
    mu, logvar = _gaussian(b=3, d=2, seed=1)
    g = torch.Generator().manual_seed(2)
    n = 200_000
    z = mu + (0.5 * logvar).exp() * torch.randn(n, *mu.shape, generator=g, dtype=torch.float64)
    log_ratio = log_normal_diag(z, mu, logvar) - log_normal_diag(
        z, torch.zeros_like(z), torch.zeros_like(z)
    )
    estimate, stderr = log_ratio.mean(0), log_ratio.std(0) / math.sqrt(n)
    assert ((estimate - gaussian_kl(mu, logvar)).abs() < 5 * stderr).all()


def test_gaussian_kl_is_zero_at_the_prior_and_positive_elsewhere():
    zeros = torch.zeros(2, 5)
    assert torch.equal(gaussian_kl(zeros, zeros), torch.zeros(2))
    mu, logvar = _gaussian()
    assert (gaussian_kl(mu, logvar) > 0).all()


def test_log_normal_diag_matches_torch_distributions():
    mu, logvar = _gaussian(b=4, d=6)
    z = torch.randn(4, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    expected = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1)
    torch.testing.assert_close(log_normal_diag(z, mu, logvar), expected)


# ------------------------------------------------------------------ reparameterisation


def test_reparameterize_has_the_right_mean_and_variance():
    mu = torch.tensor([[1.5, -2.0]]).expand(100_000, 2)
    logvar = torch.tensor([[math.log(0.25), math.log(4.0)]]).expand(100_000, 2)
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    torch.testing.assert_close(z.mean(0), torch.tensor([1.5, -2.0]), atol=0.03, rtol=0)
    torch.testing.assert_close(z.var(0), torch.tensor([0.25, 4.0]), atol=0.05, rtol=0.02)


def test_gradients_flow_through_reparameterize_to_mu_and_logvar_not_to_the_noise():
    mu = torch.tensor([[0.3, -1.0]], requires_grad=True)
    logvar = torch.tensor([[0.2, -0.4]], requires_grad=True)
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(5))
    eps = (z.detach() - mu.detach()) / (0.5 * logvar.detach()).exp()
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))  # dz/dmu = 1
    torch.testing.assert_close(logvar.grad, 0.5 * (0.5 * logvar.detach()).exp() * eps)  # dz/dlogvar
    # The noise is a constant of the graph: only mu and logvar are leaves that receive gradients.
    assert z.grad_fn is not None and not eps.requires_grad


def test_reparameterize_gradient_matches_finite_differences():
    # d/dmu E[z^2] = 2 mu, estimated through the reparameterised samples with common random numbers.
    logvar = torch.full((50_000, 1), math.log(0.5), dtype=torch.float64)
    mu = torch.full((50_000, 1), 0.7, dtype=torch.float64, requires_grad=True)
    reparameterize(mu, logvar, torch.Generator().manual_seed(1)).pow(2).mean().backward()
    grad = mu.grad.sum()
    h = 1e-4

    def f(m):
        return (
            reparameterize(torch.full_like(logvar, m), logvar, torch.Generator().manual_seed(1))
            .pow(2)
            .mean()
        )

    fd = (f(0.7 + h) - f(0.7 - h)) / (2 * h)
    torch.testing.assert_close(grad, fd, atol=1e-6, rtol=1e-6)
    assert abs(float(grad) - 1.4) < 0.02


def test_reparameterize_is_seeded():
    mu, logvar = _gaussian()
    a = reparameterize(mu, logvar, torch.Generator().manual_seed(9))
    b = reparameterize(mu, logvar, torch.Generator().manual_seed(9))
    assert torch.equal(a, b)


# ------------------------------------------------------------------ reconstruction terms


def test_bernoulli_nll_equals_bce_on_probabilities_and_the_bernoulli_log_prob():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 1, 5, 5, generator=g, dtype=torch.float64) * 3
    x = torch.rand(4, 1, 5, 5, generator=g, dtype=torch.float64)
    expected = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none").sum((1, 2, 3))
    torch.testing.assert_close(bernoulli_nll(logits, x), expected)
    xb = (x > 0.5).double()
    torch.testing.assert_close(
        bernoulli_nll(logits, xb), -Bernoulli(logits=logits).log_prob(xb).sum((1, 2, 3))
    )


def test_bernoulli_nll_is_finite_for_extreme_logits():
    logits = torch.tensor([[-200.0, 200.0]])
    out = bernoulli_nll(logits, torch.tensor([[1.0, 0.0]]))
    torch.testing.assert_close(out, torch.tensor([400.0]))


def test_gaussian_nll_matches_normal_log_prob():
    g = torch.Generator().manual_seed(0)
    mean = torch.randn(3, 1, 4, 4, generator=g, dtype=torch.float64)
    x = torch.randn(3, 1, 4, 4, generator=g, dtype=torch.float64)
    for sigma in (0.1, 1.0, 2.5):
        expected = -Normal(mean, sigma).log_prob(x).sum((1, 2, 3))
        torch.testing.assert_close(gaussian_nll(mean, x, sigma), expected)


def test_gaussian_nll_is_scaled_mse_plus_a_constant():
    g = torch.Generator().manual_seed(1)
    mean, x = (
        torch.rand(2, 10, generator=g, dtype=torch.float64),
        torch.rand(2, 10, generator=g, dtype=torch.float64),
    )
    sigma = 0.3
    mse = F.mse_loss(mean, x, reduction="none").mean(1)
    expected = 10 * mse / (2 * sigma**2) + 5 * math.log(2 * math.pi * sigma**2)
    torch.testing.assert_close(gaussian_nll(mean, x, sigma), expected)


# ------------------------------------------------------------------ negative ELBO


def test_negative_elbo_is_recon_plus_beta_kl():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(3, 1, 4, 4, generator=g)
    logits = torch.randn(3, 1, 4, 4, generator=g)
    mu, logvar = torch.randn(3, 2, generator=g), torch.randn(3, 2, generator=g)
    for beta in (0.0, 1.0, 4.0):
        out = negative_elbo(x, logits, mu, logvar, beta=beta)
        torch.testing.assert_close(out.recon, bernoulli_nll(logits, x))
        torch.testing.assert_close(out.kl, gaussian_kl(mu, logvar))
        torch.testing.assert_close(out.total, out.recon + beta * out.kl)
    gauss = negative_elbo(x, logits, mu, logvar, likelihood="gaussian", sigma=0.5)
    torch.testing.assert_close(gauss.recon, gaussian_nll(logits, x, 0.5))


# ------------------------------------------------------------------ importance weighting


def _linear_gaussian_model(seed=0, d=2, D=3):
    r"""z ~ N(0, I), x | z ~ N(Wz + b, s^2 I): log p(x) = log N(x; b, W W^T + s^2 I) exactly."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(D, d, generator=g, dtype=torch.float64)
    b = torch.randn(D, generator=g, dtype=torch.float64)
    return W, b, 0.7


def _log_weights(x, W, b, s, q_mu, q_logvar, k, seed):
    z = q_mu + (0.5 * q_logvar).exp() * torch.randn(
        k, *q_mu.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    log_px = Normal(z @ W.T + b, s).log_prob(x).sum(-1)
    log_pz = log_normal_diag(z, torch.zeros_like(z), torch.zeros_like(z))
    log_qz = log_normal_diag(z, q_mu, q_logvar)
    return log_px, log_pz, log_qz


def test_importance_weighted_bound_is_above_the_elbo_grows_with_k_and_reaches_log_px():
    W, b, s = _linear_gaussian_model()
    x = torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]], dtype=torch.float64)
    exact = torch.distributions.MultivariateNormal(b, W @ W.T + s**2 * torch.eye(3)).log_prob(x)
    # q: the exact posterior's mean shifted by half a standard deviation and its diagonal variance doubled (wider,
    # so the importance weights have light tails and the Monte Carlo averages below are precise).
    S = torch.linalg.inv(torch.eye(2, dtype=torch.float64) + W.T @ W / s**2)
    q_mu = (S @ W.T @ (x - b).T / s**2).T + 0.5 * torch.diagonal(S).sqrt()
    q_logvar = (2 * torch.diagonal(S)).log().expand(2, 2)
    means, stderrs = {}, {}
    runs = 200  # independent runs of each K-sample estimate, drawn at once as extra examples
    xr, q_mu_r, q_logvar_r = x.repeat(runs, 1), q_mu.repeat(runs, 1), q_logvar.repeat(runs, 1)
    for k in (1, 10, 100, 1000):
        log_px, log_pz, log_qz = _log_weights(xr, W, b, s, q_mu_r, q_logvar_r, k, seed=k)
        bound = importance_weighted_bound(log_px, log_pz, log_qz)
        # Per run, log-mean-exp >= mean (Jensen): never below that run's K-sample ELBO estimate.
        assert (bound >= (log_px + log_pz - log_qz).mean(0) - 1e-12).all()
        per_run = bound.view(runs, 2)
        means[k], stderrs[k] = per_run.mean(0), per_run.std(0) / math.sqrt(runs)

    def se(a, b):
        return 3 * (stderrs[a] ** 2 + stderrs[b] ** 2).sqrt()

    # E[L_K] is non-decreasing in K (Burda et al., Thm 1): each step up, within 3 standard errors...
    for small, large in ((1, 10), (10, 100), (100, 1000)):
        assert (means[small] <= means[large] + se(small, large)).all(), (small, large, means)
    # ...and clearly increasing overall (the ELBO, K=1, is well below log p(x) for this q).
    assert (means[1] < means[1000] - se(1, 1000)).all() and (means[1000] - means[1] > 0.1).all()
    # It stays below log p(x) and approaches it.
    assert (means[1000] <= exact + 3 * stderrs[1000]).all()
    torch.testing.assert_close(means[1000], exact, atol=0.02, rtol=0)


def test_importance_weighted_bound_with_the_true_posterior_is_exact_for_any_k():
    # With orthogonal columns in W the exact posterior N(S W^T (x - b) / s^2, S), S = (I + W^T W / s^2)^-1,
    # is diagonal, so q can equal it; then every importance weight is p(x) and the bound is exact.
    W, b, s = _linear_gaussian_model(seed=1)
    Q, _ = torch.linalg.qr(W)
    W = Q * torch.tensor([1.5, 0.5], dtype=torch.float64)
    S = torch.linalg.inv(torch.eye(2, dtype=torch.float64) + W.T @ W / s**2)
    assert torch.allclose(S, torch.diag(torch.diagonal(S)))
    x = torch.tensor([[0.2, 0.4, -0.3]], dtype=torch.float64)
    post_mu = (S @ W.T @ (x - b).T / s**2).T
    post_logvar = torch.diagonal(S).log().unsqueeze(0)
    exact = torch.distributions.MultivariateNormal(b, W @ W.T + s**2 * torch.eye(3)).log_prob(x)
    for k in (1, 7):
        torch.testing.assert_close(
            importance_weighted_bound(*_log_weights(x, W, b, s, post_mu, post_logvar, k, k)), exact
        )


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 4)), ValueError, "same shape"),
        (lambda: gaussian_kl(torch.zeros(3), torch.zeros(3)), ValueError, "shape (B, d)"),
        (lambda: gaussian_kl([0.0], torch.zeros(1, 1)), TypeError, "torch.Tensor"),
        (
            lambda: gaussian_kl(torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, 1)),
            TypeError,
            "floating-point",
        ),
        (lambda: reparameterize(torch.zeros(2, 3), torch.zeros(3, 2)), ValueError, "same shape"),
        (
            lambda: bernoulli_nll(torch.zeros(2, 4), torch.full((2, 4), 255.0)),
            ValueError,
            "to_unit",
        ),
        (
            lambda: bernoulli_nll(torch.zeros(2, 4), torch.zeros(2, 5)),
            ValueError,
            "one value per pixel",
        ),
        (lambda: bernoulli_nll(torch.zeros(4), torch.zeros(4)), ValueError, "batch"),
        (
            lambda: gaussian_nll(torch.zeros(2, 4), torch.zeros(2, 4), sigma=0.0),
            ValueError,
            "sigma",
        ),
        (
            lambda: negative_elbo(
                torch.zeros(2, 4), torch.zeros(2, 4), torch.zeros(2, 1), torch.zeros(2, 1), beta=-1
            ),
            ValueError,
            "beta",
        ),
        (
            lambda: negative_elbo(
                torch.zeros(2, 4),
                torch.zeros(2, 4),
                torch.zeros(2, 1),
                torch.zeros(2, 1),
                likelihood="mse",
            ),
            ValueError,
            "likelihood",
        ),
        (
            lambda: negative_elbo(
                torch.zeros(2, 4), torch.zeros(2, 4), torch.zeros(3, 1), torch.zeros(3, 1)
            ),
            ValueError,
            "same batch",
        ),
        (
            lambda: importance_weighted_bound(torch.zeros(3), torch.zeros(3), torch.zeros(3)),
            ValueError,
            "(K, B)",
        ),
        (
            lambda: importance_weighted_bound(
                torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(2, 3)
            ),
            ValueError,
            "same shape",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()
