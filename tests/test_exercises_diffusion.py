r"""Tests of the diffusion chapter's checkers: right answers pass, each known mistake is named,
and each checker's reference equals the package's own implementation."""

from __future__ import annotations

import pytest
import torch

from aigc_course.exercises import (
    EXERCISES,
    check_ddim_step,
    check_flow_loss,
    check_predict_x0,
    check_q_sample,
)
from aigc_course.losses import flow_matching_loss
from aigc_course.sampling import ddim_step, linear_schedule, predict_x0, q_sample


def _col(a):
    return a[:, None]


# ------------------------------------------------------------------ q_sample


@pytest.mark.parametrize(
    "fn",
    [
        lambda x0, ab, n: _col(ab).sqrt() * x0 + (1 - _col(ab)).sqrt() * n,
        lambda x0, ab, n: torch.sqrt(ab).unsqueeze(1) * x0 + torch.sqrt(1 - ab).unsqueeze(1) * n,
        lambda x0, ab, n: (x0.T * ab.sqrt() + n.T * (1 - ab).sqrt()).T,
    ],
)
def test_q_sample_accepts_right_answers(fn):
    fb = check_q_sample(fn)
    assert fb.passed, fb.message


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda x0, ab, n: _col(ab) * x0 + (1 - _col(ab)) * n, "their square roots"),
        (lambda x0, ab, n: _col(ab).sqrt() * x0 + (1 - _col(ab)) * n, "its variance"),
        (lambda x0, ab, n: (1 - _col(ab)).sqrt() * x0 + _col(ab).sqrt() * n, "swapped"),
        (lambda x0, ab, n: _col(ab).sqrt() * x0 + n, "keeps unit variance"),
        (lambda x0, ab, n: _col(ab).sqrt() * (x0 + n), "multiplies only x0"),
        (lambda x0, ab, n: ab.sqrt() * x0 + (1 - ab).sqrt() * n, "must match the size"),
        (lambda x0, ab, n: x0, "not yet right"),
        (lambda x0, ab, n: torch.zeros_like(x0), "not yet right"),
    ],
)
def test_q_sample_names_each_mistake(fn, message):
    fb = check_q_sample(fn)
    assert not fb.passed and message in fb.message, fb.message


def test_q_sample_reference_equals_the_package():
    sched = linear_schedule(100)
    gen = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(6, 3, generator=gen), torch.randn(6, 3, generator=gen)
    t = torch.randint(0, 101, (6,), generator=gen)
    ab = sched.alpha_bars[t]
    ref = EXERCISES["check_q_sample"].reference(x0.double(), ab, noise.double())
    assert torch.allclose(ref.float(), q_sample(x0, t, noise, sched), atol=1e-6)


# ------------------------------------------------------------------ predict_x0


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, e, ab: (x - (1 - _col(ab)).sqrt() * e) / _col(ab).sqrt(),
        lambda x, e, ab: x / _col(ab).sqrt() - ((1 - _col(ab)) / _col(ab)).sqrt() * e,
    ],
)
def test_predict_x0_accepts_right_answers(fn):
    fb = check_predict_x0(fn)
    assert fb.passed, fb.message


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda x, e, ab: x - (1 - _col(ab)).sqrt() * e, "did not divide"),
        (lambda x, e, ab: (x + (1 - _col(ab)).sqrt() * e) / _col(ab).sqrt(), "subtracted"),
        (lambda x, e, ab: (x - (1 - _col(ab)) * e) / _col(ab), "without square roots"),
        (lambda x, e, ab: (x - (1 - _col(ab)).sqrt() * e) * _col(ab).sqrt(), "so divide"),
        (lambda x, e, ab: (x - _col(ab).sqrt() * e) / (1 - _col(ab)).sqrt(), "swapped"),
        (lambda x, e, ab: (x - (1 - _col(ab)).sqrt() * e).detach() / _col(ab).sqrt(), "gradient"),
    ],
)
def test_predict_x0_names_each_mistake(fn, message):
    fb = check_predict_x0(fn)
    assert not fb.passed and message in fb.message, fb.message


def test_predict_x0_reference_equals_the_package():
    sched = linear_schedule(50)
    gen = torch.Generator().manual_seed(1)
    x, e = torch.randn(5, 4, generator=gen), torch.randn(5, 4, generator=gen)
    t = torch.randint(1, 51, (5,), generator=gen)
    ref = EXERCISES["check_predict_x0"].reference(x.double(), e.double(), sched.alpha_bars[t])
    assert torch.allclose(ref.float(), predict_x0(x, t, e, sched), atol=1e-5)


# ------------------------------------------------------------------ ddim_step


def _ddim(x, e, a, p):
    x0 = (x - (1 - a) ** 0.5 * e) / a**0.5
    return p**0.5 * x0 + (1 - p) ** 0.5 * e


@pytest.mark.parametrize(
    "fn",
    [
        _ddim,
        lambda x, e, a, p: (p / a) ** 0.5 * x + ((1 - p) ** 0.5 - (p * (1 - a) / a) ** 0.5) * e,
    ],
)
def test_ddim_step_accepts_right_answers(fn):
    fb = check_ddim_step(fn)
    assert fb.passed, fb.message


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda x, e, a, p: (x - (1 - a) ** 0.5 * e) / a**0.5, "the end of the chain"),
        (lambda x, e, a, p: p**0.5 * (x - (1 - a) ** 0.5 * e) / a**0.5, "noise direction"),
        (lambda x, e, a, p: _ddim(x, e, p, a), "swapped"),
        (
            lambda x, e, a, p: p**0.5 * (x - (1 - a) ** 0.5 * e) / a**0.5 + (1 - p) * e,
            "a variance",
        ),
        (lambda x, e, a, p: p * (x - (1 - a) * e) / a + (1 - p) * e, "without square roots"),
        (lambda x, e, a, p: x, "not yet right"),
    ],
)
def test_ddim_step_names_each_mistake(fn, message):
    fb = check_ddim_step(fn)
    assert not fb.passed and message in fb.message, fb.message


def test_ddim_reference_equals_the_package_step_with_eta_zero():
    sched = linear_schedule(100)
    gen = torch.Generator().manual_seed(2)
    x, e = torch.randn(4, 3, generator=gen), torch.randn(4, 3, generator=gen)
    a, p = float(sched.alpha_bars[80]), float(sched.alpha_bars[60])
    ref = EXERCISES["check_ddim_step"].reference(x.double(), e.double(), a, p)
    assert torch.allclose(ref.float(), ddim_step(x, e, 80, 60, schedule=sched, eta=0.0), atol=1e-5)


# ------------------------------------------------------------------ flow loss


@pytest.mark.parametrize(
    "fn",
    [
        lambda v, x0, x1: ((v - (x1 - x0)) ** 2).mean(),
        lambda v, x0, x1: torch.nn.functional.mse_loss(v, x1 - x0),
        lambda v, x0, x1: ((v + x0 - x1) ** 2).mean(),
    ],
)
def test_flow_loss_accepts_right_answers(fn):
    fb = check_flow_loss(fn)
    assert fb.passed, fb.message


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda v, x0, x1: ((v - (x0 - x1)) ** 2).mean(), "points the wrong way"),
        (lambda v, x0, x1: ((v - x1) ** 2).mean(), "as in DDPM"),
        (lambda v, x0, x1: ((v - x0) ** 2).mean(), "that target is the data"),
        (lambda v, x0, x1: ((v - (x1 - x0)) ** 2).sum(), "you summed"),
        (lambda v, x0, x1: (v - (x1 - x0)).abs().mean(), "absolute error"),
        (lambda v, x0, x1: (v - (x1 - x0)).mean() ** 2, "squared the mean"),
        (lambda v, x0, x1: torch.tensor(1.0), "not yet right"),
    ],
)
def test_flow_loss_names_each_mistake(fn, message):
    fb = check_flow_loss(fn)
    assert not fb.passed and message in fb.message, fb.message


def test_flow_reference_equals_the_package_loss():
    gen = torch.Generator().manual_seed(3)
    x0, x1, v = (torch.randn(5, 2, generator=gen) for _ in range(3))
    t = torch.rand(5, generator=gen)
    ref = EXERCISES["check_flow_loss"].reference(v.double(), x0.double(), x1.double())
    pkg = flow_matching_loss(lambda x, tt, y: v, x0, t, x1)
    assert abs(float(ref) - float(pkg)) < 1e-6
