r"""Metrics from a classifier's class probabilities: the classifier score (an Inception score) and label coverage.

References
----------
Salimans, Goodfellow, Zaremba, Cheung, Radford & Chen (2016), "Improved techniques for training GANs",
NeurIPS, sec. 4 (Inception score).
Barratt & Sharma (2018), "A note on the Inception score", arXiv:1801.01973.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aigc_course._check import check_real

__all__ = ["LabelCoverage", "classifier_score", "label_coverage"]


def _check_probs(probs: torch.Tensor) -> torch.Tensor:
    if not isinstance(probs, torch.Tensor) or probs.ndim != 2 or probs.shape[1] < 2:
        shape = tuple(probs.shape) if isinstance(probs, torch.Tensor) else type(probs).__name__
        raise ValueError(
            f"probs must be a tensor (N, K) of class probabilities with K >= 2, got {shape}"
        )
    if probs.shape[0] == 0:
        raise ValueError("probs has no rows: classify at least one image")
    p = probs.detach().to("cpu", torch.float64)
    if (
        not torch.isfinite(p).all()
        or (p < 0).any()
        or not torch.allclose(p.sum(1), torch.ones(len(p), dtype=p.dtype), atol=1e-4)
    ):
        raise ValueError(
            "probs must be non-negative with rows summing to 1: pass softmax(logits), "
            "e.g. classifier.probs(x), not the logits"
        )
    return p


def classifier_score(probs: torch.Tensor) -> float:
    r"""The Inception score computed with any classifier: confident *and* varied predictions score high.

    .. math::

        \text{CS} = \exp\Bigl(\frac1N \sum_n \operatorname{KL}\bigl(p(y \mid x_n) \,\Vert\, \hat p(y)\bigr)\Bigr),
        \qquad \hat p(y) = \frac1N \sum_n p(y \mid x_n)

    It lies in :math:`[1, K]`: 1 when every image gets the same prediction (or every prediction is the
    uniform one), :math:`K` when each image is classified with certainty and the classes are equally frequent.
    It says nothing about whether the images look like the training data, only about the classifier's
    opinion of them, and it is computed on one set (no reference).

    Parameters
    ----------
    probs : tensor (N, K)
        :math:`p(y \mid x_n)`, rows summing to 1.

    Returns
    -------
    float in [1, K]

    References
    ----------
    Salimans et al. (2016), sec. 4; Barratt & Sharma (2018) on its pitfalls.
    """
    p = _check_probs(probs)
    marginal = p.mean(0, keepdim=True)
    kl = torch.xlogy(p, p) - torch.xlogy(p, marginal.expand_as(p))  # 0 log 0 = 0
    return float(torch.exp(kl.sum(1).mean()))


@dataclass(frozen=True)
class LabelCoverage:
    r"""How the predicted classes of a set of images are spread.

    Attributes
    ----------
    shares : tuple of float
        Share of the images whose most probable class is k, for k = 0..K-1 (sums to 1).
    kl_to_uniform : float
        :math:`\operatorname{KL}(s \Vert u) = \sum_k s_k \log(K s_k)` in nats: 0 for equal shares,
        :math:`\log K` when every image is one class.
    n_covered : int
        Classes whose share is at least ``min_share``.
    min_share : float
        The threshold used for ``n_covered``.
    """

    shares: tuple[float, ...]
    kl_to_uniform: float
    n_covered: int
    min_share: float


def label_coverage(probs: torch.Tensor, min_share: float | None = None) -> LabelCoverage:
    r"""Share of each predicted class, its KL divergence from the uniform distribution, and the classes covered.

    .. math:: s_k = \frac1N \sum_n [\arg\max_j p(j \mid x_n) = k], \qquad
              \operatorname{KL}(s \Vert u) = \sum_k s_k \log \frac{s_k}{1/K}

    A generator that has collapsed onto a few digits has a large KL and few classes covered, even
    when each of its images is sharp.

    Parameters
    ----------
    probs : tensor (N, K)
        Class probabilities, rows summing to 1.
    min_share : float, optional
        A class is covered when at least this share of the images falls in it; default
        :math:`1 / (5K)`, a fifth of its fair share (2% for 10 classes).

    Returns
    -------
    LabelCoverage
    """
    p = _check_probs(probs)
    k = p.shape[1]
    if min_share is None:
        min_share = 1.0 / (5 * k)
    min_share = check_real(min_share, "min_share", low=0.0, high=1.0, low_open=True)
    counts = torch.bincount(p.argmax(1), minlength=k).double()
    shares = counts / counts.sum()
    kl = float(torch.xlogy(shares, shares * k).sum())
    return LabelCoverage(
        shares=tuple(float(s) for s in shares),
        kl_to_uniform=max(kl, 0.0),
        n_covered=int((shares >= min_share - 1e-12).sum()),
        min_share=float(min_share),
    )
