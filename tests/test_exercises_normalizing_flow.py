r"""Tests of the normalizing-flows chapter's checkers: each accepts right answers and names each mistake."""

from __future__ import annotations

import math

import pytest
import torch

from aigc_course.exercises import (
    EXERCISES,
    check_affine_flow_log_prob,
    check_coupling_inverse,
    check_coupling_log_det,
    check_dequantized_bits_per_dim,
)
from aigc_course.exercises.engine import draw_cases
from aigc_course.metrics import dequantized_bits_per_dim
from aigc_course.models.normalizing_flow import AffineCoupling, alternating_mask

LOG_2PI = math.log(2 * math.pi)


def _normal(z):
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


# ------------------------------------------------------------------ change of variables


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, a, b: _normal(a * x + b) + a.abs().log().sum(),
        lambda x, a, b: (
            torch.distributions.Normal(0.0, 1.0).log_prob(a * x + b).sum(1)
            + torch.log(torch.abs(a)).sum()
        ),
        # through the package's own density: a diagonal Gaussian in x with mean -b/a, std 1/|a|
        lambda x, a, b: torch.distributions.Normal(-b / a, 1 / a.abs()).log_prob(x).sum(1),
    ],
)
def test_affine_flow_accepts_right_answers(fn):
    fb = check_affine_flow_log_prob(fn)
    assert fb.passed, fb.message


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda x, a, b: _normal(a * x + b), "the log-determinant is missing"),
        (lambda x, a, b: _normal(a * x + b) - a.abs().log().sum(), "wrong sign"),
        (lambda x, a, b: _normal(x) + a.abs().log().sum(), "evaluated the normal density at x"),
        (lambda x, a, b: _normal((x - b) / a) - a.abs().log().sum(), "you inverted the map"),
        (
            lambda x, a, b: -0.5 * (a * x + b).pow(2).sum(-1) + a.abs().log().sum(),
            "normalising constant",
        ),
        (
            lambda x, a, b: (-0.5 * ((a * x + b).pow(2) + LOG_2PI) + a.abs().log()).mean(-1),
            "averaged over the dimensions",
        ),
        (lambda x, a, b: _normal(a * x + b) + a.log().sum(), "NaN"),
        (lambda x, a, b: (_normal(a * x + b) + a.abs().log().sum()).detach(), "gradient"),
        (lambda x, a, b: _normal(a * x + b) + 1.0, "not yet right"),
    ],
)
def test_affine_flow_names_each_mistake(fn, message):
    fb = check_affine_flow_log_prob(fn)
    assert not fb.passed and message in fb.message, fb.message


# ------------------------------------------------------------------ coupling log-det


def test_coupling_log_det_reference_matches_the_package_layer():
    # oracle: the package's AffineCoupling and autograd's Jacobian on a small input
    torch.manual_seed(0)
    layer = AffineCoupling(alternating_mask(4, 1), hidden=8).double()
    torch.nn.init.normal_(layer.net[-1].weight, std=0.5)
    x = torch.randn(1, 4, dtype=torch.float64)
    s, _ = layer._s_t(x * layer.mask)
    jac = torch.autograd.functional.jacobian(lambda v: layer(v)[0], x)[0, :, 0, :]
    ref = EXERCISES["check_coupling_log_det"].reference(s, layer.mask)
    assert torch.allclose(ref, torch.logdet(jac).reshape(1))


@pytest.mark.parametrize(
    "fn",
    [
        lambda s, mask: ((1 - mask) * s).sum(1),
        lambda s, mask: (s * (mask == 0)).sum(dim=-1),
        lambda s, mask: torch.log(torch.exp(s * (1 - mask)).prod(1)),
    ],
)
def test_coupling_log_det_accepts_right_answers(fn):
    fb = check_coupling_log_det(fn)
    assert fb.passed, fb.message


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda s, m: s.sum(1), "over every coordinate"),
        (lambda s, m: (m * s).sum(1), "over the kept coordinates"),
        (lambda s, m: ((1 - m) * s.exp()).sum(1), "you summed exp(s)"),
        (lambda s, m: ((1 - m) * s.exp()).prod(1), "the determinant itself"),
        (lambda s, m: ((1 - m) * s).sum(1) / (1 - m).sum(), "averaged"),
        (lambda s, m: -((1 - m) * s).sum(1), "sign is flipped"),
        (lambda s, m: ((1 - m) * s).sum(), "summed over the batch"),
        (lambda s, m: ((1 - m) * s).sum(1).detach(), "gradient"),
    ],
)
def test_coupling_log_det_names_each_mistake(fn, message):
    fb = check_coupling_log_det(fn)
    assert not fb.passed and message in fb.message, fb.message


# ------------------------------------------------------------------ coupling inverse


def test_coupling_inverse_reference_inverts_the_forward_map():
    gen = torch.Generator().manual_seed(0)
    exercise = EXERCISES["check_coupling_inverse"]
    for y, m, s, t in draw_cases(exercise, gen):
        x = exercise.reference(y, m, s, t)
        assert torch.allclose(m * x + (1 - m) * (x * s.exp() + t), y)


@pytest.mark.parametrize(
    "fn",
    [
        lambda y, m, s, t: m * y + (1 - m) * (y - t) * torch.exp(-s),
        lambda y, m, s, t: torch.where(m.bool(), y, (y - t) / s.exp()),
    ],
)
def test_coupling_inverse_accepts_right_answers(fn):
    fb = check_coupling_inverse(fn)
    assert fb.passed, fb.message


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda y, m, s, t: m * y + (1 - m) * (y * (-s).exp() - t), "before the shift"),
        (lambda y, m, s, t: m * y + (1 - m) * (y - t) * s.exp(), "exp(s) again"),
        (lambda y, m, s, t: m * y + (1 - m) * (y + t) * (-s).exp(), "shift has the wrong sign"),
        (lambda y, m, s, t: m * y + (1 - m) * (y - t), "scale is not undone"),
        (lambda y, m, s, t: m * y + (1 - m) * (y - t) / s, "divided by s"),
        (lambda y, m, s, t: (1 - m) * (y - t) * (-s).exp(), "kept coordinates"),
        (
            lambda y, m, s, t: (m * y + (1 - m) * (y - t) * (-s).exp()).detach(),
            "gradient",
        ),
    ],
)
def test_coupling_inverse_names_each_mistake(fn, message):
    fb = check_coupling_inverse(fn)
    assert not fb.passed and message in fb.message, fb.message


# ------------------------------------------------------------------ bits per dimension


@pytest.mark.parametrize(
    "fn",
    [
        lambda lp, d, lv: (-lp + d * math.log(lv)) / (d * math.log(2)),
        lambda lp, d, lv: -lp / (d * math.log(2)) + math.log2(lv),
        lambda lp, d, lv: dequantized_bits_per_dim(lp, d, lv),
    ],
)
def test_bits_per_dim_accepts_right_answers(fn):
    fb = check_dequantized_bits_per_dim(fn)
    assert fb.passed, fb.message


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda lp, d, lv: -lp / (d * math.log(2)), "offset is missing"),
        (lambda lp, d, lv: (-lp - d * math.log(lv)) / (d * math.log(2)), "wrong sign"),
        (lambda lp, d, lv: (-lp + d * math.log(lv)) / d, "nats per dimension"),
        (lambda lp, d, lv: (-lp + d * math.log(lv)) / math.log(2), "bits per image"),
        (lambda lp, d, lv: (lp + d * math.log(lv)) / (d * math.log(2)), "log-density enters"),
        (lambda lp, d, lv: (-lp + d * math.log(lv - 1)) / (d * math.log(2)), "L - 1"),
        (lambda lp, d, lv: (-lp / math.log(2) + d * math.log(lv)) / d, "in nats but"),
        (lambda lp, d, lv: -lp / (d * math.log(2)) + 8.0, "not yet right"),
        (
            lambda lp, d, lv: ((-lp + d * math.log(lv)) / (d * math.log(2))).detach(),
            "gradient",
        ),
    ],
)
def test_bits_per_dim_names_each_mistake(fn, message):
    fb = check_dequantized_bits_per_dim(fn)
    assert not fb.passed and message in fb.message, fb.message
