r"""Tests of aigc_course.exercises.gan: each checker accepts right answers and names each common mistake."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import aigc_course.exercises as exercises
from aigc_course.exercises import (
    EXERCISES,
    check_count_modes,
    check_discriminator_loss,
    check_gradient_prediction,
    check_nonsaturating_loss,
)
from aigc_course.exercises.engine import check, draw_cases
from aigc_course.metrics.modes import count_modes


def test_checkers_are_exported():
    for name in [
        "check_nonsaturating_loss",
        "check_discriminator_loss",
        "check_count_modes",
        "check_gradient_prediction",
    ]:
        assert name in exercises.__all__
        assert getattr(exercises, name).__module__ == "aigc_course.exercises.gan"


# Failures shared by every function checker (None, crashes, ...) are tested once, in test_exercises.py.


# ------------------------------------------------------------------ check_nonsaturating_loss

NS_PASSED = "PASSED: -log D(G(z)) from logits (softplus(-l)), finite even when D is certain."


@pytest.mark.parametrize(
    "fn",
    [
        lambda l: F.softplus(-l).mean(),
        lambda l: -F.logsigmoid(l).mean(),
        lambda l: F.binary_cross_entropy_with_logits(l, torch.ones_like(l)),
        lambda l: torch.nn.BCEWithLogitsLoss()(l, torch.ones_like(l)),
        lambda l: F.softplus(-l.double()).mean(),
        lambda l: F.softplus(-l).mean().reshape(1),  # one number, shape (1,)
        lambda l: F.softplus(l.neg_()).mean(),  # changes its (copied) input in place
    ],
    ids=[
        "softplus",
        "logsigmoid",
        "bce_with_logits",
        "bce_module",
        "float64",
        "shape_1",
        "in_place",
    ],
)
def test_nonsaturating_accepts_right_answers(fn):
    fb = check_nonsaturating_loss(fn)
    assert fb.passed, fb
    assert repr(fb).startswith(NS_PASSED)


def _ns_raises_on_extreme(l):
    assert (l > -100).all(), "logit out of range"
    return F.softplus(-l).mean()


def _ns_vector_on_extreme(l):
    loss = F.softplus(-l)
    return loss.mean() if l.min() > -100 else loss


@pytest.mark.parametrize(
    "fn,message",
    [
        (
            lambda l: torch.log(1 - torch.sigmoid(l)).mean(),
            "that is the minimax (saturating) loss log(1 - D(G(z))); the non-saturating loss is -log D(G(z))",
        ),
        (lambda l: F.logsigmoid(-l).mean(), "that is the minimax (saturating) loss"),
        (
            lambda l: -torch.log(1 - torch.sigmoid(l)).mean(),
            "that is -log(1 - D(G(z))), the discriminator's fake term; the generator wants -log D(G(z))",
        ),
        (
            lambda l: F.binary_cross_entropy_with_logits(l, torch.zeros_like(l)),
            "the discriminator's fake term",
        ),
        (
            lambda l: F.logsigmoid(l).mean(),
            "the sign is flipped: the loss -log D(G(z)) is >= 0 and falls as D is fooled",
        ),
        (
            lambda l: F.softplus(-l).sum(),
            "you summed over the batch; average it (mean) so the loss does not scale with the batch size",
        ),
        (
            lambda l: -torch.log(torch.sigmoid(l)).mean(),
            "but not on logits of -200 (a discriminator sure the fakes are fake): torch.log(torch.sigmoid(l)) underflows",
        ),
        (
            lambda l: torch.log1p(torch.exp(-l)).mean(),
            "right on moderate logits, but not on logits of -200",
        ),
        (
            lambda l: torch.full((), float("nan")) if l[0] == -200 else F.softplus(-l).mean(),
            "right on moderate logits, but not on logits of -200",
        ),
        (
            lambda l: F.binary_cross_entropy(
                torch.sigmoid(l), torch.ones_like(l)
            ),  # BCE clamps log at -100
            "right on moderate logits, but not on logits of -200",
        ),
        (
            lambda l: -torch.log(torch.sigmoid(l).clamp_min(1e-7)).mean(),
            "right on moderate logits, but not on logits of -200",
        ),
        (
            lambda l: F.softplus(-l).sum() / 5,
            "not yet right: the non-saturating loss is the batch mean",
        ),
        (
            lambda l: F.softplus(-l).mean() + 0.1,
            "not yet right: the non-saturating loss is the batch mean",
        ),
        (_ns_raises_on_extreme, "your function raised AssertionError: logit out of range"),
        (
            lambda l: F.softplus(-l).mean().item(),
            "right values, but no gradient reaches fake_logits",
        ),
        (
            lambda l: F.softplus(-l).mean().numpy(),
            "your function raised RuntimeError: Can't call numpy()",
        ),
        (lambda l: F.softplus(-l).tolist(), "a loss is one number: average it over the batch"),
        (lambda l: F.softplus(-l), "a loss is one number: average it over the batch"),
        (lambda l: F.softplus(-l).mean(0, keepdim=True).expand(2), "got a tensor of shape (2,)"),
        (lambda l: F.softplus(-l)[:0], "got a tensor of shape (0,)"),
        (_ns_vector_on_extreme, "right on moderate logits, but not on logits of -200"),
    ],
    ids=[
        "saturating",
        "saturating_logsigmoid",
        "fake_term",
        "fake_term_bce",
        "sign",
        "sum",
        "log_sigmoid_inf",
        "log1p_exp_inf",
        "nan_at_extreme",
        "bce_on_probs",
        "clamped",
        "fixed_batch_size",
        "other",
        "raises_on_extreme",
        "float",
        "numpy",
        "list",
        "per_example",
        "two_numbers",
        "empty",
        "vector_on_extreme",
    ],
)
def test_nonsaturating_names_each_mistake(fn, message):
    fb = check_nonsaturating_loss(fn)
    assert not fb.passed
    assert message in fb.message, fb.message
    assert repr(fb) == "NOT YET: " + fb.message


def test_nonsaturating_reference_matches_an_independent_oracle():
    # Independent oracle: -log sigmoid(l) = log(1 + exp(-l)), averaged over the logits.
    ex = EXERCISES["check_nonsaturating_loss"]
    for (logits,) in draw_cases(ex, torch.Generator().manual_seed(0)):
        expected = sum(math.log1p(math.exp(-v)) for v in logits.tolist()) / len(logits)
        assert float(ex.reference(logits.double())) == pytest.approx(expected, rel=1e-9)
    fb = check(ex, lambda l: F.softplus(-l).mean() + 0.1, seed=0)
    assert "expected" not in fb.message


def test_nonsaturating_tolerance_allows_rounding_but_not_small_offsets():
    assert check_nonsaturating_loss(lambda l: F.softplus(-l.double()).mean() * (1 + 1e-6)).passed
    assert not check_nonsaturating_loss(lambda l: F.softplus(-l).mean() * (1 + 1e-3)).passed


# ------------------------------------------------------------------ check_discriminator_loss

D_PASSED = "PASSED: binary cross-entropy with target 1 on real and 0 on fake, from logits."


def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _d_hand_written_bce(r, f):
    # The textbook formula with targets: 0 * log(0) = nan once sigmoid saturates.
    def bce(p, t):
        return -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()

    return bce(torch.sigmoid(r), 1.0) + bce(torch.sigmoid(f), 0.0)


def _d_raises_on_extreme(r, f):
    assert (r.abs() < 100).all(), "logit out of range"
    return _bce(r, 1.0) + _bce(f, 0.0)


@pytest.mark.parametrize(
    "fn",
    [
        lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(),
        lambda r, f: -F.logsigmoid(r).mean() - F.logsigmoid(-f).mean(),
        lambda r, f: _bce(r, 1.0) + _bce(f, 0.0),
        lambda r, f: (
            torch.nn.BCEWithLogitsLoss()(r, torch.ones_like(r))
            + torch.nn.BCEWithLogitsLoss()(f, torch.zeros_like(f))
        ),
        lambda r, f: (F.softplus(-r.double()).mean() + F.softplus(f.double()).mean()).reshape(1, 1),
    ],
    ids=["softplus", "logsigmoid", "bce_with_logits", "bce_module", "float64_shape_1x1"],
)
def test_discriminator_accepts_right_answers(fn):
    fb = check_discriminator_loss(fn)
    assert fb.passed, fb
    assert repr(fb) == D_PASSED


@pytest.mark.parametrize(
    "fn,message",
    [
        (
            lambda r, f: F.softplus(-r).mean() + F.softplus(-f).mean(),
            "this is the source article's mistake: the fake term is -log D(G(z)), which rewards D for calling fakes real",
        ),
        (
            lambda r, f: _bce(r, 0.0) + _bce(f, 1.0),
            "the labels are swapped: real examples should be pushed towards D = 1, fakes towards D = 0",
        ),
        (
            lambda r, f: F.logsigmoid(r).mean() + F.logsigmoid(-f).mean(),
            "the sign is flipped: you returned the value function V(D, G), which D maximises; the loss is -V",
        ),
        (
            lambda r, f: F.binary_cross_entropy_with_logits(
                torch.cat([r, f]), torch.cat([torch.ones_like(r), torch.zeros_like(f)])
            ),
            "average each term over its own batch and add the two averages (the batches may differ in size)",
        ),
        (lambda r, f: _bce(r, 1.0), "not yet right: L_D = mean of -log sigmoid(real logits)"),
        (
            lambda r, f: (
                -torch.log(torch.sigmoid(r)).mean() - torch.log(1 - torch.sigmoid(f)).mean()
            ),
            "but not for a fooled discriminator (logits -150 on real, +150 on fake), where "
            "torch.log(torch.sigmoid(l)) underflows to -inf: "
            "compute it from logits with F.softplus or F.binary_cross_entropy_with_logits",
        ),
        (
            lambda r, f: (
                F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r))
                + F.binary_cross_entropy(torch.sigmoid(f), torch.zeros_like(f))
            ),  # log clamped at -100
            "but not for a fooled discriminator (logits -150 on real, +150 on fake)",
        ),
        (
            _d_hand_written_bce,
            "but not for a perfect discriminator (logits +150 on real, -150 on fake), where a "
            "hand-written 0 * log(0) gives NaN: "
            "compute it from logits with F.softplus or F.binary_cross_entropy_with_logits",
        ),
        (
            lambda r, f: (
                -torch.log(torch.sigmoid(r).clamp(1e-4, 1 - 1e-4)).mean()
                - torch.log(1 - torch.sigmoid(f).clamp(1e-4, 1 - 1e-4)).mean()
            ),
            "but not for a perfect discriminator (logits +150 on real, -150 on fake)",
        ),
        (_d_raises_on_extreme, "your function raised AssertionError: logit out of range"),
        (lambda r, f: float(_bce(r, 1.0) + _bce(f, 0.0)), "right values, but no gradient reaches"),
        (lambda r, f: [float(_bce(r, 1.0)), float(_bce(f, 0.0))], "got a tensor of shape (2,)"),
        (
            lambda r, f: torch.stack([_bce(r, 1.0), _bce(f, 0.0)]),
            "the loss is one number; got a tensor of shape (2,)",
        ),
        (
            lambda r, f: F.softplus(-r) + F.softplus(f).mean(),
            "the loss is one number; got a tensor of shape (",
        ),
    ],
    ids=[
        "article",
        "swapped",
        "value_function",
        "pooled",
        "other",
        "log_sigmoid_inf",
        "bce_on_probs",
        "hand_written_bce_nan",
        "clamped",
        "raises_on_extreme",
        "float",
        "list",
        "two_terms",
        "per_example",
    ],
)
def test_discriminator_names_each_mistake(fn, message):
    fb = check_discriminator_loss(fn)
    assert not fb.passed
    assert message in fb.message, fb.message
    assert repr(fb) == "NOT YET: " + fb.message


def test_discriminator_reference_matches_an_independent_oracle():
    # mean of log(1 + exp(-r)) over real plus mean of log(1 + exp(f)) over fake
    ex = EXERCISES["check_discriminator_loss"]
    for real, fake in draw_cases(ex, torch.Generator().manual_seed(0)):
        expected = sum(math.log1p(math.exp(-v)) for v in real.tolist()) / len(real) + sum(
            math.log1p(math.exp(v)) for v in fake.tolist()
        ) / len(fake)
        assert float(ex.reference(real.double(), fake.double())) == pytest.approx(expected)


def test_discriminator_accepts_the_mean_of_the_two_terms_and_says_what_changes():
    fb = check_discriminator_loss(lambda r, f: (_bce(r, 1.0) + _bce(f, 0.0)) / 2)
    assert fb.passed, fb
    assert repr(fb).startswith(D_PASSED) and "ln 2, not 2 ln 2" in fb.message


# ------------------------------------------------------------------ check_count_modes

CM_PASSED = (
    "PASSED: the modes that hold at least 1% of the samples are covered; "
    "a handful of stray samples does not cover a mode."
)


def _mode_counts(samples, centers, std, radius=3.0):
    d = torch.cdist(samples, centers)
    dist, nearest = d.min(1)
    return torch.bincount(nearest[dist <= radius * std], minlength=len(centers))


def _modes_loop(samples, centers, std):
    covered = 0
    for c in centers:
        close = ((samples - c) ** 2).sum(1).sqrt() <= 3 * std
        covered += int(close.sum()) >= 0.01 * len(samples)
    return covered


@pytest.mark.parametrize(
    "fn",
    [
        lambda s, c, std: int((_mode_counts(s, c, std) >= 0.01 * len(s)).sum()),
        lambda s, c, std: (_mode_counts(s, c, std) >= 0.01 * len(s)).sum(),  # a 0-d tensor
        lambda s, c, std: float((_mode_counts(s, c, std) >= 0.01 * len(s)).sum()),  # 3.0
        lambda s, c, std: np.int64((_mode_counts(s, c, std) >= 0.01 * len(s)).sum()),
        lambda s, c, std: count_modes(s, c, std).n_covered,
    ],
    ids=["cdist", "tensor", "float", "numpy", "library"],
)
def test_count_modes_accepts_right_answers(fn):
    fb = check_count_modes(fn)
    assert fb.passed, fb
    assert repr(fb) == CM_PASSED


@pytest.mark.parametrize(
    "fn,message",
    [
        (
            lambda s, c, std: int((_mode_counts(s, c, std) > 0).sum()),
            "you counted a mode that fewer than one percent of the samples reach",
        ),
        (
            lambda s, c, std: len(c),
            "you counted every centre; count only those with enough samples within three standard deviations",
        ),
        (
            lambda s, c, std: int((_mode_counts(s, c, std, radius=1e3) >= 0).sum()),
            "you counted every centre",
        ),
        (
            lambda s, c, std: int(
                _mode_counts(s, c, std).sum()
            ),  # samples within 3 std of a centre
            "a number of samples",
        ),
        (
            lambda s, c, std: int(_mode_counts(s, c, std)[_mode_counts(s, c, std) >= 10].sum()),
            "a number of samples",
        ),
        (lambda s, c, std: len(s), "a number of samples"),
        (lambda s, c, std: len(s) - 5, "a number of samples"),
        (
            lambda s, c, std: int((_mode_counts(s, c, std) >= 1 * len(s)).sum()),  # 1 instead of 1%
            "no mode counted: measure the distance from each sample to each centre and compare it with three standard deviations",
        ),
        (lambda s, c, std: 2, ""),
        (lambda s, c, std: 5, ""),
        (_modes_loop, "count it only for its nearest centre"),
        (
            lambda s, c, std: _mode_counts(s, c, std) >= 0.01 * len(s),
            "return the number of modes covered as an int, not Tensor",
        ),
        (
            lambda s, c, std: (_mode_counts(s, c, std) >= 10).tolist(),
            "return the number of modes covered as an int, not list",
        ),
        (lambda s, c, std: "three", "return the number of modes covered as an int, not str"),
        (lambda s, c, std: 3.5, "return the number of modes covered as an int, not float"),
        (lambda s, c, std: 3 / 8, "return the number of modes covered as an int, not float"),
        (lambda s, c, std: float("inf"), "return the number of modes covered as an int, not float"),
        (
            lambda s, c, std: torch.tensor(float("nan")),
            "return the number of modes covered as an int, not Tensor",
        ),
    ],
    ids=[
        "stray_mode",
        "all_centres",
        "huge_radius",
        "samples_within_3std",
        "samples_in_covered_modes",
        "all_samples",
        "samples_minus_far",
        "zero",
        "other_low",
        "other_high",
        "not_nearest",
        "per_mode_tensor",
        "per_mode_list",
        "str",
        "half",
        "fraction",
        "inf",
        "nan",
    ],
)
def test_count_modes_names_each_mistake(fn, message):
    fb = check_count_modes(fn)
    assert not fb.passed
    assert message in fb.message, fb.message
    assert repr(fb) == "NOT YET: " + fb.message


def test_count_modes_reader_cannot_corrupt_the_checker_inputs():
    def mutating(samples, centers, std):
        out = count_modes(samples, centers, std).n_covered
        samples.zero_()
        centers.zero_()
        return out

    assert check_count_modes(mutating).passed


# ------------------------------------------------------------------ check_gradient_prediction

GRAD_PASSED = "PASSED: saturating 0.001 (vanishes), non-saturating 0.999 (stays ~1): G keeps learning only with the second."


@pytest.mark.parametrize(
    "answer",
    [
        (0.001, 0.999),
        (-0.001, -0.999),  # signs are not the point: magnitudes
        (1e-3, 1.0),  # within 2%
        [0.00101, 0.998],
        (torch.tensor(0.001), torch.tensor(0.999)),
        np.array([0.001, 0.999]),
        ("0.001", "0.999"),
    ],
    ids=["exact", "negative", "rounded", "list", "tensors", "numpy", "strings"],
)
def test_gradient_prediction_accepts_right_answers(answer):
    fb = check_gradient_prediction(answer)
    assert fb.passed, fb
    assert repr(fb) == GRAD_PASSED


@pytest.mark.parametrize(
    "answer,message",
    [
        (
            (0.999, 0.001),
            "you swapped them: it is the saturating loss whose gradient vanishes when D rejects the fakes",
        ),
        (
            (1.001, 1000.0),
            "1/D is the gradient with respect to D; take it with respect to the logit (chain rule through the sigmoid)",
        ),
        ((0.001, -1000.0), "1/D is the gradient with respect to D"),
        ((1000.0, 0.999), "1/D is the gradient with respect to D"),
        (0.999, "answer with a pair of numbers: (saturating, non_saturating)"),
        ((0.001, 0.999, 1.0), "answer with a pair of numbers"),
        ((0.999,), "answer with a pair of numbers"),
        (None, "answer with a pair of numbers"),
        (("small", "large"), "answer with a pair of numbers"),
        ((None, 0.999), "answer with a pair of numbers"),
        (
            (0.5, 0.5),
            "differentiate log(1 - sigmoid(l)) and -log sigmoid(l) with respect to l, then put sigmoid(l) = 0.001",
        ),
        ((0.0, 1.0), "differentiate log(1 - sigmoid(l))"),
        ((0.001, 0.9), "differentiate log(1 - sigmoid(l))"),
        ((float("nan"), 0.999), "answer with a pair of numbers"),
    ],
    ids=[
        "swapped",
        "grad_wrt_D",
        "grad_wrt_D_signed",
        "one_over_D_first",
        "scalar",
        "triple",
        "single",
        "None",
        "words",
        "None_inside",
        "other",
        "zero_one",
        "off_by_10pct",
        "nan",
    ],
)
def test_gradient_prediction_names_each_mistake(answer, message):
    fb = check_gradient_prediction(answer)
    assert not fb.passed
    assert message in fb.message, fb.message
    assert repr(fb) == "NOT YET: " + fb.message


def test_gradient_prediction_values_match_hand_derivation():
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l); d/dl -log sigmoid(l) = -(1 - sigmoid(l)); with sigmoid(l) = D = 0.001.
    d = 0.001
    assert check_gradient_prediction((d, 1 - d)).passed
    assert not check_gradient_prediction((d * 1.05, 1 - d)).passed  # outside the 2% tolerance
