"""Tests of aigc_course.exercises.lossmath: each checker accepts right answers and names each common mistake."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from scipy.spatial.distance import jensenshannon

import aigc_course.exercises as exercises
from aigc_course.exercises import (
    EXERCISES,
    check_gaussian_kl,
    check_gaussian_nll,
    check_js_divergence,
    check_optimal_discriminator,
)
from aigc_course.exercises.engine import draw_cases

# Failures shared by every function checker (None, crashes, ...) are tested once, in test_exercises.py.


def test_checkers_are_exported():
    for name in [
        "check_optimal_discriminator",
        "check_js_divergence",
        "check_gaussian_kl",
        "check_gaussian_nll",
    ]:
        assert name in exercises.__all__
        assert getattr(exercises, name).__module__ == "aigc_course.exercises.lossmath"


def _expect(checker, fn, message, passed=False):
    fb = checker(fn)
    assert fb.passed is passed, fb
    assert message in fb.message, fb.message
    assert repr(fb).startswith("PASSED: " if passed else "NOT YET: ")


# ------------------------------------------------------------------ check_optimal_discriminator

D_PASSED = "D* = p_data / (p_data + p_g)"


@pytest.mark.parametrize(
    "fn",
    [
        lambda p, q: p / (p + q),
        lambda p, q: 1 / (1 + q / p),  # inf where p = 0 gives 1 / inf = 0: still right
        lambda p, q: torch.sigmoid(
            torch.log(p) - torch.log(q)
        ),  # the logit is the log density ratio
        lambda p, q: (p / (p + q)).float(),
    ],
    ids=["formula", "one_over", "sigmoid_log_ratio", "float32"],
)
def test_optimal_discriminator_accepts_right_answers(fn):
    _expect(check_optimal_discriminator, fn, D_PASSED, passed=True)


@pytest.mark.parametrize(
    "fn,message",
    [
        (lambda p, q: q / (p + q), "you swapped the densities"),
        (lambda p, q: p / q, "p_data / p_g is the density ratio, not a probability"),
        (
            lambda p, q: torch.full_like(p, 0.5),
            "D = 1/2 everywhere is optimal only once p_g = p_data",
        ),
        (
            lambda p, q: {},
            "return one probability per point as a torch.Tensor (or a number), not dict",
        ),
        (lambda p, q: (p > q).long(), "not yet p_data / (p_data + p_g)"),
        (
            lambda p, q: (p / (p + q))[:3],
            "expected one probability per point, shape (",
        ),
        (lambda p, q: p / (p + q) + 0 * torch.log(p), "your D* is not finite somewhere"),
        (lambda p, q: p - q, "D* is a probability: all its values must lie in [0, 1]"),
        (
            lambda p, q: p / (p + q + 0.1),
            "not yet p_data / (p_data + p_g); at p_data = ",
        ),
    ],
    ids=["swapped", "ratio", "half", "dict", "int", "shape", "nan", "range", "other"],
)
def test_optimal_discriminator_names_each_mistake(fn, message):
    _expect(check_optimal_discriminator, fn, message)


# ------------------------------------------------------------------ check_js_divergence


def _jsd_right(P, Q):
    M = (P + Q) / 2
    return (
        0.5 * (torch.xlogy(P, P) - torch.xlogy(P, M)).sum()
        + 0.5 * (torch.xlogy(Q, Q) - torch.xlogy(Q, M)).sum()
    )


def _jsd_naive(P, Q):  # 0 * log 0 = NaN on the disjoint test, but right on the first
    M = (P + Q) / 2
    return 0.5 * (P * torch.log(P / M)).nansum() + 0.5 * (Q * torch.log(Q / M)).sum()


def _kl(a, b):
    return (torch.xlogy(a, a) - torch.xlogy(a, b)).sum()


@pytest.mark.parametrize(
    "fn",
    [
        _jsd_right,
        lambda P, Q: torch.tensor(
            jensenshannon(P.numpy(), Q.numpy()) ** 2
        ),  # scipy's distance, squared
        lambda P, Q: 0.5 * _kl(P, (P + Q) / 2) + 0.5 * _kl(Q, (P + Q) / 2),
        lambda P, Q: _jsd_right(P.float(), Q.float()),
        lambda P, Q: float(_jsd_right(P, Q)),
        lambda P, Q: _jsd_right(P, Q).reshape(1),
    ],
    ids=["formula", "scipy", "two_kls", "float32", "float", "shape_1"],
)
def test_js_divergence_accepts_right_answers(fn):
    _expect(check_js_divergence, fn, "exactly log 2 for disjoint supports", passed=True)


@pytest.mark.parametrize(
    "fn,message",
    [
        (lambda P, Q: _jsd_right(P, Q) / math.log(2), "your value is in bits (log base 2)"),
        (lambda P, Q: 2 * _jsd_right(P, Q), "you left out the 1/2 in front of each KL term"),
        (
            lambda P, Q: 0.5 * _kl(P, P + Q) + 0.5 * _kl(Q, P + Q),
            "M is the average (P + Q) / 2, not the sum P + Q",
        ),
        (
            lambda P, Q: torch.tensor(jensenshannon(P.numpy(), Q.numpy())),
            "that is the Jensen-Shannon *distance*",
        ),
        (lambda P, Q: _kl(P, (P + Q) / 2), "you kept only KL(P || M)"),
        (lambda P, Q: _kl(Q, (P + Q) / 2), "you kept only KL(Q || M)"),
        (
            lambda P, Q: 0.5 * _kl(Q, P) + 0.5 * _kl(Q, (P + Q) / 2),
            "compare each distribution with the mixture M",
        ),
        (lambda P, Q: -_jsd_right(P, Q), "the sign is flipped"),
        (
            lambda P, Q: (P * torch.log(2 * P / (P + Q))).sum(),
            "NaN where P has a zero: treat 0 log 0 as 0",
        ),
        (_jsd_naive, "right on overlapping distributions, but not on disjoint ones"),
        (
            # random cases stay below 0.52 (max of 200,000 draws); disjoint ones are log 2
            lambda P, Q: _jsd_right(P, Q).clamp(max=0.6),
            "right on overlapping distributions, but not on disjoint ones",
        ),
        (lambda P, Q: _jsd_right(P, Q) + 0.01, "not yet right: JSD = 1/2 KL(P || M)"),
        (
            lambda P, Q: torch.stack([_jsd_right(P, Q)] * 2),
            "the JSD is one number; got a tensor of shape (2,)",
        ),
        (
            lambda P, Q: _jsd_right(P, Q) if (P * Q).sum() > 0 else 0.69,
            "right on overlapping distributions, but not on disjoint ones",
        ),
    ],
    ids=[
        "bits",
        "no_half",
        "sum_mixture",
        "distance",
        "kl_p",
        "kl_q",
        "kl_pq",
        "sign",
        "nan_first",
        "nan_disjoint",
        "disjoint_wrong",
        "other",
        "shape",
        "float_on_disjoint",
    ],
)
def test_js_divergence_names_each_mistake(fn, message):
    _expect(check_js_divergence, fn, message)


def test_js_divergence_disjoint_call_failures_are_reported():
    def crash_on_disjoint(P, Q):
        if (P * Q).sum() == 0:
            raise RuntimeError("bad")
        return _jsd_right(P, Q)

    _expect(check_js_divergence, crash_on_disjoint, "your function raised RuntimeError: bad")


def test_js_divergence_reference_is_scipys():
    ex = EXERCISES["check_js_divergence"]
    for P, Q in draw_cases(ex, torch.Generator().manual_seed(0)):
        assert float(ex.reference(P, Q)) == pytest.approx(jensenshannon(P, Q) ** 2, rel=1e-9)
    assert "expected" not in check_js_divergence(lambda P, Q: torch.tensor(0.0)).message


# ------------------------------------------------------------------ check_gaussian_kl

KL_PASSED = "1/2 sum(mu^2 + sigma^2 - log sigma^2 - 1), per example"


def _kl_right(mu, logvar):
    return 0.5 * (mu**2 + logvar.exp() - logvar - 1).sum(1)


@pytest.mark.parametrize(
    "fn",
    [
        _kl_right,
        lambda mu, lv: (
            -0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp(), dim=1)
        ),  # Kingma & Welling's form
        lambda mu, lv: torch.distributions.kl_divergence(
            torch.distributions.Normal(mu, (0.5 * lv).exp()), torch.distributions.Normal(0.0, 1.0)
        ).sum(-1),
        lambda mu, lv: _kl_right(mu.float(), lv.float()),
    ],
    ids=["formula", "kingma_welling", "distributions", "float32"],
)
def test_gaussian_kl_accepts_right_answers(fn):
    _expect(check_gaussian_kl, fn, KL_PASSED, passed=True)


def test_gaussian_kl_accepts_the_package_version():
    vae = pytest.importorskip("aigc_course.losses.vae")
    _expect(check_gaussian_kl, vae.gaussian_kl, KL_PASSED, passed=True)


@pytest.mark.parametrize(
    "fn,message",
    [
        (lambda mu, lv: -_kl_right(mu, lv), "the sign is flipped"),
        (
            lambda mu, lv: 0.5 * (mu**2 + lv.exp() - lv - 1).mean(1),
            "you averaged over the latent dimensions",
        ),
        (lambda mu, lv: (mu**2 + lv.exp() - lv - 1).sum(1), "you left out the factor 1/2"),
        (lambda mu, lv: 0.5 * (mu**2 + lv.exp() - lv).sum(1), "you left out the -1 inside the sum"),
        (
            lambda mu, lv: 0.5 * (mu**2 + (2 * lv).exp() - 2 * lv - 1).sum(1),
            "you treated logvar as log(sigma)",
        ),
        (lambda mu, lv: 0.5 * (lv + (1 + mu**2) / lv.exp() - 1).sum(1), "that is the reverse KL"),
        (lambda mu, lv: 0.5 * (mu**2 + lv.exp() - 1).sum(1), "you left out the -log sigma^2 term"),
        (lambda mu, lv: _kl_right(mu, lv).sum(), "you summed over the batch too"),
        (lambda mu, lv: _kl_right(mu, lv).mean(), "you averaged over the batch"),
        (
            lambda mu, lv: 0.5 * (mu**2 + lv.exp() - lv - 1),
            "you returned one KL per latent dimension: sum the KL over the latent dimensions (dim=1)",
        ),
        (
            lambda mu, lv: _kl_right(mu, lv)[:2],
            "expected one KL per example, shape (",
        ),
        (lambda mu, lv: torch.tensor(3.0), "expected one KL per example, shape ("),
        (lambda mu, lv: _kl_right(mu, lv).numpy(), "Can't call numpy()"),
        (lambda mu, lv: _kl_right(mu, lv) * 1.1, "not yet right: KL = 1/2 sum"),
    ],
    ids=[
        "sign",
        "mean_dims",
        "no_half",
        "no_minus_one",
        "log_sigma",
        "reverse",
        "no_log",
        "sum_batch",
        "mean_batch",
        "no_sum",
        "short",
        "scalar",
        "numpy",
        "other",
    ],
)
def test_gaussian_kl_names_each_mistake(fn, message):
    _expect(check_gaussian_kl, fn, message)


# ------------------------------------------------------------------ check_gaussian_nll

NLL_PASSED = "squared error / (2 sigma^2) plus D/2 log(2 pi sigma^2)"


def _nll_right(x, mean, sigma):
    d = x[0].numel()
    return ((x - mean) ** 2).sum(dim=(1, 2, 3)) / (2 * sigma**2) + 0.5 * d * math.log(
        2 * math.pi * sigma**2
    )


@pytest.mark.parametrize(
    "fn",
    [
        _nll_right,
        lambda x, m, s: -torch.distributions.Normal(m, s).log_prob(x).flatten(1).sum(1),
        lambda x, m, s: (
            F.gaussian_nll_loss(m, x, torch.full_like(x, s**2), full=True, reduction="none")
            .flatten(1)
            .sum(1)
        ),
        lambda x, m, s: _nll_right(x.float(), m.float(), s),
    ],
    ids=["formula", "distributions", "torch_gaussian_nll_loss", "float32"],
)
def test_gaussian_nll_accepts_right_answers(fn):
    _expect(check_gaussian_nll, fn, NLL_PASSED, passed=True)


def _sse(x, m):
    return ((x - m) ** 2).sum(dim=(1, 2, 3))


@pytest.mark.parametrize(
    "fn,message",
    [
        (lambda x, m, s: -_nll_right(x, m, s), "the sign is flipped"),
        (
            lambda x, m, s: _sse(x, m) / (2 * s**2),
            "you left out the constant D/2 log(2 pi sigma^2)",
        ),
        (
            lambda x, m, s: _sse(x, m) / (2 * s) + x[0].numel() / 2 * math.log(2 * math.pi * s**2),
            "divide the squared error by sigma^2, not sigma",
        ),
        (
            lambda x, m, s: _sse(x, m) / (2 * s**2) + x[0].numel() / 2 * math.log(2 * math.pi * s),
            "the constant is D/2 log(2 pi sigma^2)",
        ),
        (lambda x, m, s: 2 * _nll_right(x, m, s), "you left out the factor 1/2"),
        (
            lambda x, m, s: _sse(x, m) / s**2 + x[0].numel() / 2 * math.log(2 * math.pi * s**2),
            "the squared error needs the factor 1/2 too",
        ),
        (lambda x, m, s: _nll_right(x, m, s) / x[0].numel(), "you averaged over pixels"),
        (lambda x, m, s: ((x - m) ** 2).mean(dim=(1, 2, 3)), "that is the MSE"),
        (lambda x, m, s: _nll_right(x, m, s).sum(), "you summed over the batch too"),
        (lambda x, m, s: _nll_right(x, m, s).mean(), "you averaged over the batch"),
        (
            lambda x, m, s: ((x - m) ** 2).sum(dim=(2, 3)),
            "expected one value per image, shape (",
        ),
        (lambda x, m, s: _nll_right(x, m, s) + 1.0, "not yet right: NLL ="),
    ],
    ids=[
        "sign",
        "no_constant",
        "sigma_not_squared",
        "constant_sigma",
        "no_half",
        "no_half_sse",
        "mean_pixels",
        "mse",
        "sum_batch",
        "mean_batch",
        "shape",
        "other",
    ],
)
def test_gaussian_nll_names_each_mistake(fn, message):
    _expect(check_gaussian_nll, fn, message)
