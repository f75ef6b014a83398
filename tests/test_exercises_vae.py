r"""Tests of the VAE chapter's checkers: each accepts right answers and names each common mistake."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from aigc_course.exercises import (
    check_beta_zero_prediction,
    check_iw_bound,
    check_negative_elbo,
    check_reparameterize,
)

# ------------------------------------------------------------------ reparameterize


@pytest.mark.parametrize(
    "fn",
    [
        lambda mu, logvar, eps: mu + torch.exp(0.5 * logvar) * eps,
        lambda mu, logvar, eps: mu + logvar.mul(0.5).exp() * eps,
        lambda mu, logvar, eps: eps * torch.sqrt(torch.exp(logvar)) + mu,
    ],
)
def test_reparameterize_accepts_right_answers(fn):
    fb = check_reparameterize(fn)
    assert fb.passed, fb.message


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda mu, logvar, eps: mu + torch.exp(logvar) * eps, "the variance exp(logvar)"),
        (lambda mu, logvar, eps: mu + logvar * eps, "as if it were the standard deviation"),
        (lambda mu, logvar, eps: mu + 0.5 * logvar * eps, "exponentiate it"),
        (lambda mu, logvar, eps: torch.exp(0.5 * logvar) * eps, "the mean is missing"),
        (lambda mu, logvar, eps: mu * eps + torch.exp(0.5 * logvar), "multiplied mu by the noise"),
        (
            lambda mu, logvar, eps: mu + torch.exp(0.5 * logvar) * torch.randn_like(mu),
            "do not draw new noise",
        ),
        (lambda mu, logvar, eps: (mu + torch.exp(0.5 * logvar) * eps).detach(), "no gradient"),
        (
            lambda mu, logvar, eps: (mu + torch.exp(0.5 * logvar) * eps).sum(1),
            "expected z (the shape of mu), shape (",
        ),
        (lambda mu, logvar, eps: mu + 2 * eps, "differs from mu + exp(logvar / 2) * eps"),
        (lambda mu, logvar, eps: "z", "return z (the shape of mu) as a torch.Tensor"),
    ],
)
def test_reparameterize_names_each_mistake(fn, message):
    fb = check_reparameterize(fn)
    assert not fb.passed and message in fb.message, fb.message


def test_reparameterize_requires_gradients_to_both_inputs():
    # Right values, but logvar enters through a constant copy: no gradient reaches it.
    fb = check_reparameterize(lambda mu, logvar, eps: mu + torch.exp(0.5 * logvar.detach()) * eps)
    assert not fb.passed and "the gradient with respect to logvar is wrong" in fb.message


# ------------------------------------------------------------------ negative ELBO


def _right_elbo(x, logits, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)
    return (recon + kl).mean()


def _sum_then_divide(x, logits, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (recon + kl) / x.shape[0]


@pytest.mark.parametrize("fn", [_right_elbo, _sum_then_divide])
def test_negative_elbo_accepts_right_answers(fn):
    fb = check_negative_elbo(fn)
    assert fb.passed, fb.message


def _kl(mu, logvar):
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)


def _bce(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


@pytest.mark.parametrize(
    "fn, message",
    [
        (
            lambda x, l, m, v: F.binary_cross_entropy_with_logits(l, x) + _kl(m, v).mean(),
            "averaged over the pixels",
        ),
        (lambda x, l, m, v: _bce(l, x).mean(), "the KL term is missing"),
        (lambda x, l, m, v: _kl(m, v).mean(), "the reconstruction term is missing"),
        (lambda x, l, m, v: (_bce(l, x) - _kl(m, v)).mean(), "wrong sign"),
        (lambda x, l, m, v: (_bce(l, x) + _kl(m, v)).sum(), "summed over the batch"),
        (
            lambda x, l, m, v: (_bce(torch.sigmoid(l), x) + _kl(m, v)).mean(),
            "sigmoid applied twice",
        ),
        (
            lambda x, l, m, v: (_bce(l, x) + _kl(m, v) / m.shape[1]).mean(),
            "averaged over the latent dimensions",
        ),
        (lambda x, l, m, v: _bce(l, x) + _kl(m, v), "the loss is one number"),
        (lambda x, l, m, v: (_bce(l, x) + 2 * _kl(m, v)).mean(), "not yet right"),
    ],
)
def test_negative_elbo_names_each_mistake(fn, message):
    fb = check_negative_elbo(fn)
    assert not fb.passed and message in fb.message, fb.message


# ------------------------------------------------------------------ importance-weighted bound


@pytest.mark.parametrize(
    "fn",
    [
        lambda log_w: torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0]),
        lambda log_w: (
            log_w.max(0).values + torch.log(torch.exp(log_w - log_w.max(0).values).mean(0))
        ),
    ],
)
def test_iw_bound_accepts_right_answers(fn):
    fb = check_iw_bound(fn)
    assert fb.passed, fb.message


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda log_w: log_w.mean(0), "the ELBO"),
        (lambda log_w: torch.logsumexp(log_w, dim=0), "the - log K is missing"),
        (lambda log_w: log_w.max(0).values, "the largest log-weight"),
        (lambda log_w: torch.log(torch.exp(log_w).mean(0)), "exp underflows"),
        (
            lambda log_w: torch.logsumexp(log_w, dim=1) - math.log(log_w.shape[1]),
            "reduce over the K samples",
        ),
        (lambda log_w: torch.logsumexp(log_w, dim=0, keepdim=True), "one bound per example"),
        (
            lambda log_w: torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0]) + 1.0,
            "not yet right",
        ),
        (lambda log_w: "0", "as a torch.Tensor (or a number), not str"),
    ],
)
def test_iw_bound_names_each_mistake(fn, message):
    fb = check_iw_bound(fn)
    assert not fb.passed and message in fb.message, fb.message


def test_iw_bound_reports_a_wrong_value_only_in_the_extreme_case():
    # Right on moderate log-weights, but hard-codes a clamp that is wrong near -1000.
    fb = check_iw_bound(
        lambda log_w: torch.logsumexp(log_w.clamp_min(-500), 0) - math.log(log_w.shape[0])
    )
    assert not fb.passed and "near -1000" in fb.message


# ------------------------------------------------------------------ beta = 0


def test_beta_zero_prediction():
    assert check_beta_zero_prediction("b").passed
    assert check_beta_zero_prediction(" B ").passed
    for wrong, message in (
        ("a", "samples get worse"),
        ("c", "nothing diverges"),
        ("d", "changes the optimum"),
    ):
        fb = check_beta_zero_prediction(wrong)
        assert not fb.passed and message in fb.message
    for bad in ("e", 2, None, ""):
        fb = check_beta_zero_prediction(bad)
        assert not fb.passed and "one letter" in fb.message
