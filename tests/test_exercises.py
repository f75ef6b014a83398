r"""Tests of aigc_course.exercises: each checker accepts right answers and names each common mistake."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from aigc_course.exercises import (
    EXERCISES,
    Feedback,
    check_bernoulli_log_likelihood,
    check_bits_per_dim,
    check_count_modes,
    check_discriminator_loss,
    check_nonsaturating_loss,
    check_to_signed,
)
from aigc_course.exercises.applications import (
    check_class_accuracy,
    check_interpolation,
    check_mean_pairwise_distance,
)
from aigc_course.exercises.engine import draw_cases
from aigc_course.exercises.feedback import call_reader
from aigc_course.exercises.lossmath import (
    check_gaussian_kl,
    check_gaussian_nll,
    check_js_divergence,
    check_optimal_discriminator,
)
from aigc_course.exercises.metrics import (
    check_classifier_score,
    check_frechet_distance,
    check_mmd2_unbiased,
    check_precision,
)
from aigc_course.exercises.vae import check_iw_bound, check_negative_elbo, check_reparameterize

# ------------------------------------------------------------------ Feedback / call_reader


def test_feedback_repr_and_bool():
    ok = Feedback(True, "well done")
    no = Feedback(False, "try again")
    assert repr(ok) == "PASSED: well done"
    assert repr(no) == "NOT YET: try again"
    assert bool(ok) is True and bool(no) is False
    with pytest.raises(AttributeError):
        ok.passed = False  # frozen


def test_call_reader_success_passes_arguments():
    out, fb = call_reader(lambda a, b: a + b, 2, 3)
    assert out == 5 and fb is None


def test_call_reader_falsy_but_not_none_result_is_a_result():
    out, fb = call_reader(lambda: 0)
    assert out == 0 and fb is None


def _not_implemented(*args):
    raise NotImplementedError


def _crash(*args):
    raise ZeroDivisionError("division by zero in cell 3")


def _returns_none(*args):
    x = args[0] * 2  # noqa: F841 -- forgot to return


# Failure modes shared by every checker of a function, in every chapter (they all go through call_reader).
COMMON = [
    (_not_implemented, "not implemented yet: replace the `raise NotImplementedError`"),
    (_crash, "your function raised ZeroDivisionError: division by zero in cell 3"),
    (_returns_none, "your function returned None; did you forget `return`?"),
    (torch.zeros(3), "expected a function, got Tensor; pass the function itself, not its result"),
    (None, "expected a function, got NoneType"),
]

CHECKERS = [
    check_to_signed,
    check_bernoulli_log_likelihood,
    check_bits_per_dim,
    check_nonsaturating_loss,
    check_discriminator_loss,
    check_count_modes,
    check_optimal_discriminator,
    check_js_divergence,
    check_gaussian_kl,
    check_gaussian_nll,
    check_reparameterize,
    check_negative_elbo,
    check_iw_bound,
    check_frechet_distance,
    check_classifier_score,
    check_mmd2_unbiased,
    check_precision,
    check_class_accuracy,
    check_interpolation,
    check_mean_pairwise_distance,
]


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    "fn,message", COMMON, ids=["not_implemented", "raises", "none", "tensor", "None"]
)
def test_every_checker_reports_call_failures(checker, fn, message):
    fb = checker(fn)
    assert isinstance(fb, Feedback)
    assert not fb.passed
    assert message in fb.message, fb.message
    assert repr(fb).startswith("NOT YET: ")
    assert repr(fb).startswith("NOT YET: ")


# ------------------------------------------------------------------ check_to_signed


def _in_place(x):
    return x.mul_(2).sub_(1)


def test_to_signed_accepts_an_in_place_answer_and_says_so():
    fb = check_to_signed(_in_place)
    assert fb.passed, fb
    assert "changed its input in place" in fb.message


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: 2 * x - 1,
        lambda x: (x - 0.5) / 0.5,
        lambda x: x * 2.0 - 1.0,
        lambda x: torch.lerp(-torch.ones_like(x), torch.ones_like(x), x),
    ],
)
def test_to_signed_accepts_right_answers(fn):
    fb = check_to_signed(fn)
    assert fb.passed, fb
    assert repr(fb) == "PASSED: 0 maps to -1, 0.5 to 0 and 1 to 1, elementwise."


@pytest.mark.parametrize(
    "fn,message",
    [
        (lambda x: 2 * x, "you scaled by 2 but forgot to shift by -1 (the output spans [0, 2])"),
        (
            lambda x: x - 0.5,
            "you shifted by -0.5 but forgot to scale by 2 (the output spans [-0.5, 0.5])",
        ),
        (
            lambda x: x * 2 - 0.5,
            "your output spans [-0.5, 1.5], not [-1, 1]; check the order of scale and shift",
        ),
        (
            lambda x: (x - 1) * 2,
            "your output spans [-2, 0], not [-1, 1]; check the order of scale and shift",
        ),
        (lambda x: 1 - 2 * x, "your map is flipped: 0 should go to -1 and 1 to +1"),
        (
            lambda x: (2 * x - 1).flatten(),
            "expected one value per pixel (the shape of x), shape (",
        ),
        (
            lambda x: "x",
            "return one value per pixel (the shape of x) as a torch.Tensor (or a number), not str",
        ),
        (
            lambda x: (x + 1) / 2,
            "not yet 2x - 1 elementwise; at x = ",
        ),
    ],
    ids=[
        "no_shift",
        "no_scale",
        "order",
        "shift_then_scale",
        "flipped",
        "shape",
        "str",
        "other",
    ],
)
def test_to_signed_names_each_mistake(fn, message):
    fb = check_to_signed(fn)
    assert not fb.passed
    assert message in fb.message, fb.message
    assert repr(fb) == "NOT YET: " + fb.message


def test_to_signed_float32_rounding_is_accepted():
    # Tolerance: a float16 round trip (relative error ~ 1e-3) is a different answer, float32 is not.
    assert check_to_signed(lambda x: (2 * x - 1).float()).passed
    assert not check_to_signed(lambda x: (2 * x - 1) + 1e-3).passed


# ------------------------------------------------------------------ check_bernoulli_log_likelihood


def _ll_right(x, p):
    return (x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(1)


@pytest.mark.parametrize(
    "fn",
    [
        _ll_right,
        lambda x, p: torch.distributions.Bernoulli(probs=p).log_prob(x).sum(-1),
        lambda x, p: (
            -torch.nn.functional.binary_cross_entropy(p.expand_as(x), x, reduction="none").sum(1)
        ),
        lambda x, p: _ll_right(x.float(), p.float()),
    ],
    ids=["formula", "distributions", "bce", "float32"],
)
def test_bernoulli_accepts_right_answers(fn):
    fb = check_bernoulli_log_likelihood(fn)
    assert fb.passed, fb
    assert repr(fb).startswith("PASSED: the log-likelihood is a sum over pixels")


@pytest.mark.parametrize(
    "fn,message",
    [
        (
            lambda x, p: -_ll_right(x, p),
            "the sign is flipped: you returned the negative log-likelihood",
        ),
        (
            lambda x, p: (x * torch.log2(p) + (1 - x) * torch.log2(1 - p)).sum(1),
            "your values are in bits (log base 2); use the natural log",
        ),
        (
            lambda x, p: (x * torch.log(p) + (1 - x) * torch.log(1 - p)).mean(1),
            "you averaged over pixels; the log-likelihood of an image is the sum over its pixels",
        ),
        (lambda x, p: (x * torch.log(p)).sum(1), "you left out the (1 - x) log(1 - pi) term"),
        (
            lambda x, p: (x * torch.log(1 - p) + (1 - x) * torch.log(p)).sum(1),
            "pixels that are on should use log(pi) and pixels that are off log(1 - pi)",
        ),
        (
            lambda x, p: (x * torch.log(p) + (1 - x) * torch.log(p)).sum(1),
            "pixels that are on should use log(pi) and pixels that are off log(1 - pi)",
        ),
        (
            lambda x, p: _ll_right(x, p).sum(),
            "you summed over the batch too: return one log-likelihood per image",
        ),
        (
            lambda x, p: _ll_right(x, p).mean(),
            "you averaged over the batch: return one log-likelihood per image",
        ),
        (
            lambda x, p: (x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(),
            "you summed over the batch too",
        ),
        (
            lambda x, p: x * torch.log(p) + (1 - x) * torch.log(1 - p),
            "expected one log-likelihood per image, shape (",
        ),
        (
            lambda x, p: torch.tensor(1.0),
            "expected one log-likelihood per image, shape (",
        ),
        (
            lambda x, p: {},
            "return one log-likelihood per image as a torch.Tensor (or a number), not dict",
        ),
        (lambda x, p: float(_ll_right(x, p)[0]), "expected one log-likelihood per image, shape ("),
        (lambda x, p: _ll_right(x, p) + 0.5, "not yet right: sum x log(pi) + (1 - x) log(1 - pi)"),
    ],
    ids=[
        "sign",
        "log2",
        "mean_pixels",
        "missing_1_minus_x",
        "swapped",
        "log_pi_twice",
        "sum_batch",
        "mean_batch",
        "sum_all",
        "no_sum",
        "scalar_other",
        "dict",
        "float",
        "other",
    ],
)
def test_bernoulli_names_each_mistake(fn, message):
    fb = check_bernoulli_log_likelihood(fn)
    assert not fb.passed
    assert message in fb.message, fb.message
    assert repr(fb).startswith("NOT YET: ")


def test_bernoulli_reference_matches_torch_distributions():
    ex = EXERCISES["check_bernoulli_log_likelihood"]
    for x, probs in draw_cases(ex, torch.Generator().manual_seed(0)):
        oracle = torch.distributions.Bernoulli(probs=probs).log_prob(x).sum(1)
        torch.testing.assert_close(ex.reference(x, probs), oracle)
    fb = check_bernoulli_log_likelihood(lambda x, p: _ll_right(x, p) + 0.5)
    assert "0.5" not in fb.message and "expected" not in fb.message


def test_bernoulli_reader_cannot_corrupt_the_checker_inputs():
    # A reader that mutates x and p in place gets them as copies; the check still uses the originals.
    def mutating(x, p):
        out = _ll_right(x, p)
        x.zero_()
        p.fill_(0.5)
        return out

    assert check_bernoulli_log_likelihood(mutating).passed


# ------------------------------------------------------------------ check_bits_per_dim


@pytest.mark.parametrize(
    "fn",
    [
        lambda nll, d: nll / (d * math.log(2)),
        lambda nll, d: nll / d / math.log(2),
        lambda nll, d: nll * math.log2(math.e) / d,
        lambda nll, d: (nll / (d * math.log(2))).float().tolist(),
        lambda nll, d: (nll / (d * math.log(2))).numpy(),
    ],
    ids=["formula", "two_divisions", "log2e", "list", "numpy"],
)
def test_bits_per_dim_accepts_right_answers(fn):
    fb = check_bits_per_dim(fn)
    assert fb.passed, fb
    assert (
        repr(fb) == "PASSED: divide by D to get per dimension, and by ln 2 to turn nats into bits."
    )


@pytest.mark.parametrize(
    "fn,message",
    [
        (lambda nll, d: nll / d, "you divided by D but are still in nats: divide by ln 2 as well"),
        (
            lambda nll, d: nll / math.log(2),
            "these are bits per image: divide by the number of dimensions D too",
        ),
        (lambda nll, d: nll * math.log(2) / d, "you multiplied by ln 2; a bit is ln 2 nats"),
        (lambda nll, d: nll / (d * math.log(10)), "you used ln 10 (digits); bits need ln 2"),
        (
            lambda nll, d: (nll / (d * math.log(2))).mean(),
            "return one value per image, not their mean",
        ),
        (
            lambda nll, d: (nll / (d * math.log(2)))[:2],
            "expected one value per image, shape (",
        ),
        (
            lambda nll, d: -nll / (d * math.log(2)),
            "not yet right: bits per dimension = NLL / (D ln 2)",
        ),
        (
            lambda nll, d: "0.18",
            "return one value per image as a torch.Tensor (or a number), not str",
        ),
        (
            lambda nll, d: object(),
            "return one value per image as a torch.Tensor (or a number), not object",
        ),
        (
            lambda nll, d: [[1.0], [2.0, 3.0]],
            "return one value per image as a torch.Tensor (or a number), not list",
        ),
    ],
    ids=[
        "nats",
        "bits_per_image",
        "times_ln2",
        "ln10",
        "scalar",
        "short",
        "other",
        "str",
        "object",
        "ragged",
    ],
)
def test_bits_per_dim_names_each_mistake(fn, message):
    fb = check_bits_per_dim(fn)
    assert not fb.passed
    assert message in fb.message, fb.message
    assert repr(fb).startswith("NOT YET: ")


def test_bits_per_dim_reference_matches_numpy():
    # Independent oracle: log2(e) bits per nat, divided by the number of dimensions.
    ex = EXERCISES["check_bits_per_dim"]
    for nll, d in draw_cases(ex, torch.Generator().manual_seed(0)):
        np.testing.assert_allclose(ex.reference(nll, d).numpy(), nll.numpy() * np.log2(np.e) / d)
    assert "expected" not in check_bits_per_dim(lambda nll, d: nll).message
