r"""Kernel distance between feature sets: the unbiased squared MMD with a cubic polynomial kernel (KID).

References
----------
Gretton, Borgwardt, Rasch, Schölkopf & Smola (2012), "A kernel two-sample test", JMLR 13 (unbiased MMD^2, eq. 3).
Bińkowski, Sutherland, Arbel & Gretton (2018), "Demystifying MMD GANs", ICLR (KID, sec. 4 and app. D).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from aigc_course._check import check_count, check_tensor
from aigc_course.metrics.frechet import _same_width, check_features

__all__ = ["KID", "kid", "mmd2_unbiased", "polynomial_kernel"]


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""The KID kernel :math:`k(x, y) = (x^\top y / d + 1)^3` for every pair of rows.

    Parameters
    ----------
    x : tensor (N, d), y : tensor (M, d)

    Returns
    -------
    tensor (N, M)

    References
    ----------
    Bińkowski et al. (2018), sec. 4.
    """
    for name, t in (("x", x), ("y", y)):
        check_tensor(t, name, ndim=2, floating=True, nonempty=False, shape_hint="(N, d)")
    if x.shape[1] != y.shape[1] or x.dtype != y.dtype:
        raise ValueError(
            f"x {tuple(x.shape)} {x.dtype} and y {tuple(y.shape)} {y.dtype} must have the same "
            "number of columns d and the same dtype"
        )
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    r"""Unbiased estimate of the squared maximum mean discrepancy with :func:`polynomial_kernel`.

    .. math::

        \widehat{\text{MMD}}^2_u = \frac{1}{m(m-1)} \sum_{i \ne j} k(x_i, x_j)
        + \frac{1}{n(n-1)} \sum_{i \ne j} k(y_i, y_j) - \frac{2}{mn} \sum_{i, j} k(x_i, y_j)

    Unbiased, so it can be slightly negative when the two distributions are equal.

    Parameters
    ----------
    x : tensor (m, d), y : tensor (n, d); m, n >= 2

    Returns
    -------
    float

    References
    ----------
    Gretton et al. (2012), eq. (3).
    """
    x = check_features(x, "x")
    y = check_features(y, "y")
    _same_width(x, y)
    m, n = x.shape[0], y.shape[0]
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    term_x = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    term_y = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(term_x + term_y - 2 * kxy.mean())


@dataclass(frozen=True)
class KID:
    r"""Kernel Inception (here: classifier) Distance: mean and standard deviation over random subsets."""

    mean: float
    std: float
    subsets: int
    subset_size: int


def kid(
    features_a: torch.Tensor,
    features_b: torch.Tensor,
    *,
    subsets: int = 50,
    subset_size: int = 1000,
    seed: int = 0,
) -> KID:
    r"""KID: :func:`mmd2_unbiased` averaged over random subsets of both feature sets.

    .. math:: \text{KID} = \frac1S \sum_{s=1}^{S} \widehat{\text{MMD}}^2_u\bigl(A^{(s)}, B^{(s)}\bigr)

    Each subset draws ``subset_size`` rows of each set without replacement (fewer if a set is
    smaller). Unlike FID, KID is an unbiased estimator, so its value does not depend on the number
    of images in expectation; ``std`` shows its spread over the subsets.

    Parameters
    ----------
    features_a, features_b : tensor (N_a, F), (N_b, F)
    subsets : int
        S >= 1 (Bińkowski et al. use 100).
    subset_size : int
        Rows per subset, >= 2 (Bińkowski et al. use 1000).
    seed : int
        Seeds the subset draws.

    Returns
    -------
    KID

    References
    ----------
    Bińkowski et al. (2018), "Demystifying MMD GANs", sec. 4 and app. D.
    """
    a = check_features(features_a, "features_a")
    b = check_features(features_b, "features_b")
    _same_width(a, b)
    subsets = check_count(subsets, "subsets")
    subset_size = check_count(subset_size, "subset_size", minimum=2)
    size = min(subset_size, a.shape[0], b.shape[0])
    gen = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(subsets):
        ia = torch.randperm(a.shape[0], generator=gen)[:size]
        ib = torch.randperm(b.shape[0], generator=gen)[:size]
        values.append(mmd2_unbiased(a[ia], b[ib]))
    v = torch.tensor(values, dtype=torch.float64)
    std = float(v.std()) if subsets > 1 else math.nan
    return KID(mean=float(v.mean()), std=std, subsets=subsets, subset_size=size)
