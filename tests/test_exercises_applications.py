r"""Tests of aigc_course.exercises.applications: each checker accepts right answers and names each common mistake."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import aigc_course.exercises as exercises
from aigc_course.exercises import (
    EXERCISES,
    check_class_accuracy,
    check_interpolation,
    check_mean_pairwise_distance,
)
from aigc_course.exercises.engine import check, draw_cases


def test_checkers_are_exported():
    for name in ["check_class_accuracy", "check_interpolation", "check_mean_pairwise_distance"]:
        assert name in exercises.__all__
        assert getattr(exercises, name).__module__ == "aigc_course.exercises.applications"


# Failures shared by every function checker (None, crashes, ...) are tested once, in test_exercises.py.

# ------------------------------------------------------------------ check_class_accuracy


@pytest.mark.parametrize(
    "fn",
    [
        lambda p, y: (p.argmax(dim=1) == y).float().mean(),
        lambda p, y: float((p.argmax(1) == y).sum()) / len(y),
        lambda p, y: (p.argmax(-1) == y).double().mean().reshape(1),
        lambda p, y: np.mean(p.numpy().argmax(1) == y.numpy()).item(),
        lambda p, y: (
            (p.log().argmax(1) == y).float().mean()
        ),  # log-probabilities have the same argmax
    ],
    ids=["mean", "sum_over_n", "shape_1", "numpy", "log"],
)
def test_class_accuracy_accepts_right_answers(fn):
    fb = check_class_accuracy(fn)
    assert fb.passed, fb
    assert repr(fb) == "PASSED: the share of images whose top class (argmax) is the requested one."


@pytest.mark.parametrize(
    "fn, message",
    [
        (
            lambda p, y: (p.argmax(1) == y).sum(),
            "you returned the number of hits; divide by the number of images",
        ),
        (
            lambda p, y: p[torch.arange(len(y)), y].mean(),
            "you averaged the probability of the requested class",
        ),
        (lambda p, y: p.max(dim=1).values.mean(), "you averaged the classifier's confidence"),
        (lambda p, y: (p.argmin(1) == y).float().mean(), "you used argmin"),
        (lambda p, y: 100 * (p.argmax(1) == y).float().mean(), "that is a percentage"),
        (
            lambda p, y: (p.argmax(1) == y).float(),
            "the hit rate is one number; got a tensor of shape (",
        ),
        (lambda p, y: "60%", "return the hit rate as a torch.Tensor (or a number), not str"),
        (lambda p, y: True, "not bool"),
        (lambda p, y: 0.5, "not yet right: the hit rate is the share of images"),
    ],
    ids=[
        "count",
        "prob_of_requested",
        "confidence",
        "argmin",
        "percent",
        "per_image",
        "str",
        "bool",
        "other",
    ],
)
def test_class_accuracy_names_each_mistake(fn, message):
    fb = check_class_accuracy(fn)
    assert not fb.passed
    assert message in fb.message, fb.message


def test_class_accuracy_expected_value_by_hand():
    # an independent count, one image at a time, with Python's max over the classes
    def by_hand(p, y):
        n, k = p.shape
        return sum(int(max(range(k), key=lambda c: p[i, c]) == y[i]) for i in range(n)) / n

    assert check_class_accuracy(by_hand).passed


def test_class_accuracy_argmax_over_images_is_reported_as_a_crash():
    fb = check_class_accuracy(lambda p, y: (p.argmax(dim=0) == y).float().mean())
    assert not fb.passed and "your function raised RuntimeError" in fb.message


# ------------------------------------------------------------------ check_interpolation


def _lerp(z0, z1, steps):
    t = torch.linspace(0, 1, steps).view(-1, 1)
    return (1 - t) * z0 + t * z1


@pytest.mark.parametrize(
    "fn",
    [
        _lerp,
        lambda z0, z1, n: torch.stack(
            [torch.lerp(z0, z1, float(t)) for t in torch.linspace(0, 1, n)]
        ),
        lambda z0, z1, n: z0 + torch.linspace(0, 1, n)[:, None] * (z1 - z0),
        lambda z0, z1, n: torch.from_numpy(np.linspace(z0.numpy(), z1.numpy(), n)),  # float64
    ],
    ids=["formula", "lerp", "offset", "numpy_linspace"],
)
def test_interpolation_accepts_right_answers(fn):
    fb = check_interpolation(fn)
    assert fb.passed, fb
    assert repr(fb) == "PASSED: z0 at t = 0, z1 at t = 1, evenly spaced in between."


@pytest.mark.parametrize(
    "fn, message",
    [
        (
            lambda z0, z1, n: _lerp(z0, z1, n).T,
            "your result has shape (d, steps); put one point per row",
        ),
        (lambda z0, z1, n: _lerp(z0, z1, n + 1), "points for steps = "),
        (lambda z0, z1, n: _lerp(z0, z1, n)[1:], "points for steps = "),
        (
            lambda z0, z1, n: _lerp(z0, z1, n).flatten(),
            "expected one point per row, shape (",
        ),
        (lambda z0, z1, n: _lerp(z1, z0, n), "your path runs from z1 to z0"),
        (
            lambda z0, z1, n: torch.stack([(1 - i / n) * z0 + i / n * z1 for i in range(n)]),
            "your last point stops short of z1",
        ),
        (
            lambda z0, z1, n: torch.stack(
                [(1 - t) * z0 + t * z1 for t in torch.linspace(0, 1, n) ** 2]
            ),
            "the ends are right but the points in between are not evenly spaced",
        ),
        (
            lambda z0, z1, n: "path",
            "not str",
        ),
        (
            lambda z0, z1, n: _lerp(z0, z1, n) + 1,
            "not yet right: z_i = (1 - t_i) z0 + t_i z1",
        ),
    ],
    ids=[
        "transposed",
        "one_too_many",
        "one_too_few",
        "flat",
        "reversed",
        "open_end",
        "uneven",
        "list",
        "other",
    ],
)
def test_interpolation_names_each_mistake(fn, message):
    fb = check_interpolation(fn)
    assert not fb.passed
    assert message in fb.message, fb.message


def test_interpolation_swapped_weights_are_recognised():
    # (t z0 + (1 - t) z1) is the reversed path; it is reported as such, not as "other"
    fb = check_interpolation(
        lambda z0, z1, n: torch.stack([t * z0 + (1 - t) * z1 for t in torch.linspace(0, 1, n)])
    )
    assert not fb.passed and "from z1 to z0" in fb.message


# ------------------------------------------------------------------ check_mean_pairwise_distance


def _pairs_mean(f):
    # independent of torch.cdist: an explicit loop over ordered pairs of different rows
    n = f.shape[0]
    dists = [
        math.dist(f[i].tolist(), f[j].tolist()) for i, j in itertools.permutations(range(n), 2)
    ]
    return sum(dists) / len(dists)


@pytest.mark.parametrize(
    "fn",
    [
        _pairs_mean,
        lambda f: torch.cdist(f, f).sum() / (f.shape[0] * (f.shape[0] - 1)),
        lambda f: F.pdist(f).mean(),
        lambda f: torch.cdist(f, f)[~torch.eye(f.shape[0], dtype=torch.bool)].mean().double(),
    ],
    ids=["loop", "cdist_sum", "pdist", "mask"],
)
def test_mean_pairwise_distance_accepts_right_answers(fn):
    fb = check_mean_pairwise_distance(fn)
    assert fb.passed, fb
    assert (
        repr(fb) == "PASSED: the mean Euclidean distance over the N(N - 1) pairs of different rows."
    )


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda f: torch.cdist(f, f).mean(), "including each row with itself"),
        (lambda f: F.pdist(f).pow(2).mean(), "these are squared distances"),
        (lambda f: F.pdist(f).sum(), "you summed the distances"),
        (lambda f: torch.cdist(f, f).sum(), "you summed the distances"),
        (lambda f: (f - f.mean(0)).norm(dim=1).mean(), "mean distance to the centroid"),
        (lambda f: F.pdist(f, p=1).mean(), "the L1 (city-block) distance"),
        (lambda f: F.pdist(f), "the mean distance is one number; got a tensor of shape ("),
        (lambda f: F.pdist(f).mean() + 1, "not yet right: average the Euclidean distance"),
        (
            lambda f: F.pdist(f).mean() if (f != f[0]).any() else 1.0,
            "identical rows (no diversity) should give 0",
        ),
        (lambda f: F.pdist(f).mean() if (f != f[0]).any() else None, "your function returned None"),
        (lambda f: F.pdist(f).mean() if (f != f[0]).any() else "0", "not str"),
    ],
    ids=[
        "diagonal",
        "squared",
        "sum_pdist",
        "sum_cdist",
        "centroid",
        "l1",
        "vector",
        "other",
        "not_zero",
        "none_second",
        "str_second",
    ],
)
def test_mean_pairwise_distance_names_each_mistake(fn, message):
    fb = check_mean_pairwise_distance(fn)
    assert not fb.passed
    assert message in fb.message, fb.message


def test_mean_pairwise_distance_hides_the_expected_value():
    ex = EXERCISES["check_mean_pairwise_distance"]
    (f,), _ = draw_cases(ex, torch.Generator().manual_seed(0))
    assert float(ex.reference(f)) == pytest.approx(_pairs_mean(f), rel=1e-6)
    fb = check(ex, lambda f: 0.0, seed=0)
    assert f"{_pairs_mean(f):.3f}" not in fb.message
