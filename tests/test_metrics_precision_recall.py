r"""Tests of improved precision and recall (Kynkäänniemi et al. 2019) on constructed cases and a scipy oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from aigc_course.metrics import knn_radii, precision_recall


def _oracle(real, fake, k):
    # Brute force with scipy: radius = k-th smallest distance to the *other* points of the same set.
    def radii(a):
        d = cdist(a, a)
        np.fill_diagonal(d, np.inf)
        return np.sort(d, axis=1)[:, k - 1]

    rr, rf = radii(real), radii(fake)
    d = cdist(fake, real)  # (G, R)
    precision = np.mean((d <= rr[None, :]).any(1))
    recall = np.mean((rf[None, :] >= d.T).any(1))
    return precision, recall


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("chunk", [7, 2048])
def test_precision_recall_matches_bruteforce(k, chunk):
    rng = np.random.default_rng(k)
    real = rng.standard_normal((60, 4))
    fake = rng.standard_normal((45, 4)) * 0.7 + 0.5
    out = precision_recall(torch.tensor(real), torch.tensor(fake), k=k, chunk=chunk)
    p, r = _oracle(real, fake, k)
    assert out.precision == pytest.approx(p, abs=1e-12) and out.recall == pytest.approx(
        r, abs=1e-12
    )
    assert out.k == k


def test_knn_radii_match_bruteforce():
    rng = np.random.default_rng(9)
    a = rng.standard_normal((30, 3))
    d = cdist(a, a)
    np.fill_diagonal(d, np.inf)
    for k in (1, 2, 4):
        np.testing.assert_allclose(
            knn_radii(torch.tensor(a), k, chunk=8).numpy(), np.sort(d, 1)[:, k - 1], rtol=1e-10
        )


def test_identical_sets_have_full_precision_and_recall():
    x = torch.randn(100, 5, generator=torch.Generator().manual_seed(0))
    out = precision_recall(x, x.clone())
    assert out.precision == 1.0 and out.recall == 1.0


def test_disjoint_sets_have_zero_precision_and_recall():
    gen = torch.Generator().manual_seed(1)
    real = torch.randn(100, 3, generator=gen)
    fake = torch.randn(100, 3, generator=gen) + 100.0
    out = precision_recall(real, fake)
    assert out.precision == 0.0 and out.recall == 0.0


def test_mode_collapse_keeps_precision_and_halves_recall():
    # Real data: two far-apart clusters; generator: only the first cluster. Every fake is realistic
    # (precision ~1), but the second real cluster is never produced (recall ~0.5).
    gen = torch.Generator().manual_seed(2)
    real = torch.cat(
        [torch.randn(200, 2, generator=gen), torch.randn(200, 2, generator=gen) + 20.0]
    )
    fake = torch.randn(400, 2, generator=gen)
    out = precision_recall(real, fake)
    assert out.precision > 0.95
    assert 0.45 <= out.recall <= 0.55


def test_blurry_spread_out_generator_has_low_precision_high_recall():
    # A generator much wider than the data covers it (high recall) but most of its samples are off it.
    gen = torch.Generator().manual_seed(3)
    real = torch.randn(300, 2, generator=gen) * 0.1
    fake = torch.randn(300, 2, generator=gen) * 3.0
    out = precision_recall(real, fake)
    assert out.precision < 0.2 and out.recall > 0.9


def test_precision_recall_errors():
    x = torch.rand(10, 3)
    with pytest.raises(ValueError, match="k must be an int >= 1, got 0"):
        precision_recall(x, x, k=0)
    with pytest.raises(ValueError, match="need more than k=3 feature vectors"):
        precision_recall(x, x[:3], k=3)
    with pytest.raises(ValueError, match="chunk must be an int >= 1"):
        precision_recall(x, x, chunk=0)
    with pytest.raises(ValueError, match="the two feature sets have 3 and 2 columns"):
        precision_recall(x, torch.rand(10, 2))
