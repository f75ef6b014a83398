r"""Tests of the classifier score and label coverage against scipy.stats.entropy and constructed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import entropy

from aigc_course.metrics import classifier_score, label_coverage


def _softmax(logits):
    return torch.tensor(logits, dtype=torch.float64).softmax(1)


def test_classifier_score_matches_scipy_entropy():
    rng = np.random.default_rng(0)
    p = _softmax(rng.standard_normal((50, 10)) * 3)
    marginal = p.numpy().mean(0)
    expected = math.exp(np.mean([entropy(row, marginal) for row in p.numpy()]))
    assert classifier_score(p) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("k", [2, 10])
def test_classifier_score_bounds(k):
    one_hot_balanced = torch.eye(k, dtype=torch.float64).repeat(3, 1)
    assert classifier_score(one_hot_balanced) == pytest.approx(k, rel=1e-12)
    all_same = torch.eye(k, dtype=torch.float64)[[0] * 7]
    assert classifier_score(all_same) == pytest.approx(1.0, rel=1e-12)
    uniform = torch.full((5, k), 1.0 / k, dtype=torch.float64)
    assert classifier_score(uniform) == pytest.approx(1.0, rel=1e-12)
    # Half the images in each of two classes, with certainty: exp(log 2) = 2.
    two = torch.eye(k, dtype=torch.float64)[[0, 1] * 4]
    assert classifier_score(two) == pytest.approx(2.0, rel=1e-12)


def test_label_coverage_shares_kl_and_covered_classes():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 19 + [3] * 1)
    probs = torch.nn.functional.one_hot(labels, 4).double() * 0.9 + 0.025
    cov = label_coverage(probs)
    assert cov.shares == pytest.approx((0.5, 0.3, 0.19, 0.01))
    shares = np.array(cov.shares)
    assert cov.kl_to_uniform == pytest.approx(entropy(shares, np.full(4, 0.25)), rel=1e-10)
    assert cov.min_share == pytest.approx(0.05)  # a fifth of 1/4
    assert cov.n_covered == 3  # class 3 has 1% < 5%
    assert label_coverage(probs, min_share=0.01).n_covered == 4


def test_label_coverage_extremes():
    balanced = torch.eye(10, dtype=torch.float64).repeat(2, 1)
    cov = label_coverage(balanced)
    assert cov.kl_to_uniform == pytest.approx(0.0, abs=1e-12) and cov.n_covered == 10
    collapsed = torch.eye(10, dtype=torch.float64)[[7] * 9]
    cov = label_coverage(collapsed)
    assert cov.kl_to_uniform == pytest.approx(math.log(10), rel=1e-12) and cov.n_covered == 1
    assert cov.shares[7] == 1.0


def test_label_metrics_errors():
    with pytest.raises(ValueError, match="rows summing to 1: pass softmax"):
        classifier_score(torch.randn(4, 10))
    with pytest.raises(ValueError, match=r"probs must be a tensor \(N, K\)"):
        label_coverage(torch.rand(10))
    with pytest.raises(ValueError, match="probs has no rows"):
        classifier_score(torch.zeros(0, 10))
    with pytest.raises(ValueError, match="min_share must be in"):
        label_coverage(torch.eye(3), min_share=0.0)
