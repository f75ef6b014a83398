r"""Tests of aigc_course.exercises.metrics: each checker accepts right answers and names each common mistake."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

import aigc_course.exercises as exercises
from aigc_course.exercises import (
    check_classifier_score,
    check_frechet_distance,
    check_mmd2_unbiased,
    check_precision,
)

# Failures shared by every function checker (None, crashes, ...) are tested once, in test_exercises.py.


def test_checkers_are_exported():
    for name in [
        "check_frechet_distance",
        "check_classifier_score",
        "check_mmd2_unbiased",
        "check_precision",
    ]:
        assert name in exercises.__all__
        assert getattr(exercises, name).__module__ == "aigc_course.exercises.metrics"


# ------------------------------------------------------------------ check_frechet_distance


def _fd_scipy(m1, c1, m2, c2):
    covmean = scipy.linalg.sqrtm(c1.numpy() @ c2.numpy()).real
    return float(((m1 - m2) ** 2).sum() + c1.trace() + c2.trace() - 2 * np.trace(covmean))


def _fd_eig(m1, c1, m2, c2):
    ev = torch.linalg.eigvals(c1 @ c2).real.clamp_min(0)
    return ((m1 - m2) ** 2).sum() + c1.trace() + c2.trace() - 2 * ev.sqrt().sum()


def _fd_parts(m1, c1, m2, c2, *, mean=True, two=2.0, root="matrix", sq=True):
    if root == "matrix":
        cross = float(torch.linalg.eigvals(c1 @ c2).real.clamp_min(0).sqrt().sum())
    elif root == "elementwise":
        cross = float((c1 * c2).clamp_min(0).sqrt().trace())
    else:
        cross = float(torch.trace(c1 @ c2))
    m = float(((m1 - m2) ** 2).sum())
    m = m if sq else math.sqrt(m)
    return (m if mean else 0.0) + float(c1.trace() + c2.trace()) - two * cross


@pytest.mark.parametrize(
    "fn",
    [_fd_scipy, _fd_eig, lambda *a: np.float64(_fd_scipy(*a)), lambda *a: _fd_eig(*a).reshape(1)],
    ids=["scipy", "eig", "numpy_scalar", "tensor_1"],
)
def test_frechet_accepts_right_answers(fn):
    fb = check_frechet_distance(fn)
    assert fb.passed, fb
    assert (
        repr(fb)
        == "PASSED: mean term plus the trace term, with the matrix square root of cov1 @ cov2."
    )


@pytest.mark.parametrize(
    "fn,message",
    [
        (lambda *a: math.sqrt(_fd_scipy(*a)), "you took the square root at the end"),
        (lambda *a: _fd_parts(*a, mean=False), "the term ||mu1 - mu2||^2 is missing"),
        (lambda *a: _fd_parts(*a, two=1.0), "you left out the factor 2"),
        (lambda *a: _fd_parts(*a, root="elementwise"), "you took square roots element by element"),
        (lambda *a: _fd_parts(*a, root="none"), "you used tr(cov1 cov2) without the square root"),
        (lambda *a: _fd_parts(*a, sq=False), "the mean term is the squared norm"),
        (lambda *a: _fd_scipy(*a) + 1.0, "not yet right: ||mu1 - mu2||^2"),
        (
            lambda *a: torch.zeros(2),
            "the Fréchet distance is one number; got a tensor of shape (2,)",
        ),
        (lambda *a: "3.2", "return the Fréchet distance as a torch.Tensor (or a number), not str"),
    ],
    ids=["sqrt", "no_mean", "no_two", "elementwise", "no_root", "norm", "other", "vector", "str"],
)
def test_frechet_names_each_mistake(fn, message):
    fb = check_frechet_distance(fn)
    assert not fb.passed
    assert message in fb.message, fb.message


# ------------------------------------------------------------------ check_classifier_score


def _cs(p):
    m = p.mean(0, keepdim=True)
    return torch.exp((torch.xlogy(p, p) - torch.xlogy(p, m.expand_as(p))).sum(1).mean())


def _cs_eps(p):
    m = p.mean(0)
    return math.exp(float((p * (torch.log(p + 1e-12) - torch.log(m + 1e-12))).sum(1).mean()))


def _cs_entropies(p):
    # exp(H(marginal) - mean H(p(y|x))), the same number written with entropies.
    m = p.mean(0)
    h_m = -torch.xlogy(m, m).sum()
    h_c = -torch.xlogy(p, p).sum(1).mean()
    return torch.exp(h_m - h_c)


def _cs_bits(p):
    # KL in bits with 2 ** (...): the same number, a right answer.
    m = p.mean(0, keepdim=True)
    return 2 ** ((torch.xlogy(p, p) - torch.xlogy(p, m.expand_as(p))).sum(1).mean() / math.log(2))


@pytest.mark.parametrize(
    "fn", [_cs, _cs_eps, _cs_entropies, _cs_bits], ids=["xlogy", "eps", "entropies", "bits"]
)
def test_classifier_score_accepts_right_answers(fn):
    fb = check_classifier_score(fn)
    assert fb.passed, fb
    assert "give 5" in fb.message


def _naive_kl(p):
    m = p.mean(0, keepdim=True)
    return (p * (p / m).log()).sum(1)


@pytest.mark.parametrize(
    "fn,message",
    [
        (lambda p: torch.exp(_naive_kl(p).mean()), "treat 0 * log 0 as 0"),
        (lambda p: _naive_kl(p).mean(), "that is the mean KL itself"),
        (
            lambda p: torch.exp((p.mean(0) * (p.mean(0) / p).log()).sum(1).mean()),
            "the KL is the wrong way round",
        ),
        (lambda p: torch.exp(_naive_kl(p).sum()), "average the KL over the images"),
        (
            lambda p: torch.exp(-(p.mean(0) * p.mean(0).log()).sum()),
            "subtract the mean entropy of p(y|x)",
        ),
        (
            lambda p: torch.exp((_naive_kl(p) / math.log(2)).mean()),
            "your KL is in bits (log base 2)",
        ),
        (lambda p: _cs(p) + 0.1, "not yet right: the score is exp("),
    ],
    ids=["nan_0log0", "no_exp", "reverse", "sum", "entropy_only", "log2", "other"],
)
def test_classifier_score_names_each_mistake(fn, message):
    fb = check_classifier_score(fn)
    assert not fb.passed
    assert message in fb.message, fb.message


def test_classifier_score_second_call_failures_are_reported():
    calls = []

    def fails_second_time(p):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("boom")
        return _cs(p)

    assert (
        "your function raised RuntimeError: boom"
        in check_classifier_score(fails_second_time).message
    )
    calls.clear()

    def list_second_time(p):
        calls.append(1)
        return _cs(p) if len(calls) == 1 else {"score": 1.0}

    assert "not dict" in check_classifier_score(list_second_time).message


# ------------------------------------------------------------------ check_mmd2_unbiased


def _mmd(x, y, *, diag=False, norm="pairs", two=2.0, scale=True):
    d = x.shape[1] if scale else 1
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)

    def within(kk, s):
        total = kk.sum() - (0 if diag else kk.diagonal().sum())
        return total / (s * s if (diag or norm == "square") else s * (s - 1))

    return within(k(x, x), m) + within(k(y, y), n) - two * k(x, y).mean()


def _mmd_loops(x, y):
    d = x.shape[1]
    k = lambda a, b: (float(a @ b) / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    syy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    sxy = sum(k(a, b) for a in x for b in y) / (m * n)
    return sxx + syy - 2 * sxy


@pytest.mark.parametrize(
    "fn",
    [_mmd, _mmd_loops, lambda x, y: _mmd(x.float(), y.float())],
    ids=["matrix", "loops", "float32"],
)
def test_mmd_accepts_right_answers(fn):
    fb = check_mmd2_unbiased(fn)
    assert fb.passed, fb


@pytest.mark.parametrize(
    "fn,message",
    [
        (lambda x, y: _mmd(x, y, diag=True), "that is the biased estimate"),
        (lambda x, y: _mmd(x, y, norm="square"), "divided by m^2"),
        (lambda x, y: _mmd(x, y, two=1.0), "the cross term has weight 2"),
        (lambda x, y: _mmd(x, y, scale=False), "you left out the / d"),
        (lambda x, y: _mmd(x, y) + 1.0, "not yet right: mean of k over pairs"),
    ],
    ids=["biased", "m_squared", "no_two", "no_scale", "other"],
)
def test_mmd_names_each_mistake(fn, message):
    fb = check_mmd2_unbiased(fn)
    assert not fb.passed
    assert message in fb.message, fb.message


# ------------------------------------------------------------------ check_precision


def _precision(real, fake, k, offset=1):
    radius = torch.cdist(real, real).kthvalue(k + offset, dim=1).values
    return (torch.cdist(fake, real) <= radius).any(1).double().mean()


def _recall(real, fake, k):
    return _precision(fake, real, k)


PRECISION_PASSED = (
    "each real point's ball reaches its k-th nearest other real point; "
    "precision is the share of fakes inside some ball."
)


@pytest.mark.parametrize(
    "fn", [_precision, lambda r, f, k: float(_precision(r, f, k))], ids=["tensor", "float"]
)
def test_precision_accepts_right_answers(fn):
    fb = check_precision(fn)
    assert fb.passed, fb
    assert fb.message == PRECISION_PASSED


@pytest.mark.parametrize(
    "fn,message",
    [
        (_recall, "that is the recall"),
        (lambda r, f, k: _precision(r, f, k, offset=0), "each point is its own nearest neighbour"),
        (
            lambda r, f, k: _precision(r, f, k, offset=2),
            "your radius reaches the (k+1)-th neighbour",
        ),
        (lambda r, f, k: 1 - _precision(r, f, k), "you counted the fakes *outside*"),
        (lambda r, f, k: 0.5, ""),
    ],
    ids=["recall", "self", "k_plus_1", "outside", "other"],
)
def test_precision_names_each_mistake(fn, message):
    fb = check_precision(fn)
    assert not fb.passed
    assert message in fb.message, fb.message
