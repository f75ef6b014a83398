r"""Precision and recall of generated samples, from k-nearest-neighbour balls around feature vectors.

References
----------
Kynkäänniemi, Karras, Laine, Lehtinen & Aila (2019), "Improved precision and recall metric for
assessing generative models", NeurIPS.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aigc_course._check import check_count
from aigc_course.metrics.frechet import _same_width, check_features

__all__ = ["PrecisionRecall", "knn_radii", "precision_recall"]


def _sq_dists(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # |a|^2 - 2 a.b + |b|^2, clipped at 0 (float64 rounding can make it slightly negative).
    return ((a**2).sum(1, keepdim=True) - 2 * a @ b.T + (b**2).sum(1)).clamp_min(0)


def knn_radii(features: torch.Tensor, k: int = 3, chunk: int = 2048) -> torch.Tensor:
    r"""Distance from each feature vector to its k-th nearest neighbour in the same set (itself excluded).

    .. math:: r_k(f_n) = \lVert f_n - f_{(k)} \rVert_2, \quad f_{(k)} = \text{k-th closest of } \{f_m : m \ne n\}

    Parameters
    ----------
    features : tensor (N, F), N > k
    k : int >= 1
    chunk : int
        Rows per block of the distance matrix (memory O(chunk * N)).

    Returns
    -------
    tensor (N,), float64, >= 0
    """
    f = check_features(features, "features")
    chunk = check_count(chunk, "chunk")
    k = check_count(k, "k")
    if f.shape[0] <= k:
        raise ValueError(
            f"need more than k={k} feature vectors to find each one's k-th neighbour, got {f.shape[0]}"
        )
    radii = []
    for start in range(0, f.shape[0], chunk):
        d2 = _sq_dists(f[start : start + chunk], f)
        rows = torch.arange(d2.shape[0])
        d2[rows, rows + start] = float(
            "inf"
        )  # exclude each point itself (but keep exact duplicates)
        radii.append(d2.kthvalue(k, dim=1).values.sqrt())
    return torch.cat(radii)


def _inside(
    queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int
) -> torch.Tensor:
    r"""For each query: is it within ``radii[m]`` of some centre ``m``? (bool (Q,))"""
    out = []
    r2 = radii**2
    for start in range(0, queries.shape[0], chunk):
        d2 = _sq_dists(queries[start : start + chunk], centres)
        out.append((d2 <= r2).any(1))
    return torch.cat(out)


@dataclass(frozen=True)
class PrecisionRecall:
    r"""Share of generated samples on the real manifold (precision) and of real samples on the generated one (recall)."""

    precision: float
    recall: float
    k: int


def precision_recall(
    real: torch.Tensor, fake: torch.Tensor, k: int = 3, chunk: int = 2048
) -> PrecisionRecall:
    r"""Improved precision and recall: set membership in unions of k-NN balls.

    The real manifold is the union of balls around each real feature vector :math:`\phi_r` of radius
    :math:`r_k(\phi_r)`, its distance to its k-th nearest real neighbour (:func:`knn_radii`); the
    generated manifold likewise. Then

    .. math::

        \text{precision} = \frac{1}{|\Phi_g|} \sum_{\phi \in \Phi_g} \bigl[\phi \in \text{manifold}(\Phi_r)\bigr],
        \qquad
        \text{recall} = \frac{1}{|\Phi_r|} \sum_{\phi \in \Phi_r} \bigl[\phi \in \text{manifold}(\Phi_g)\bigr],

    with :math:`\phi \in \text{manifold}(\Phi)` iff :math:`\lVert \phi - \phi' \rVert \le r_k(\phi')` for some
    :math:`\phi' \in \Phi`. Precision measures quality (are the samples realistic?), recall diversity (is
    every part of the data produced?). A mode-collapsed generator has high precision and low recall.
    Use the same number of real and generated samples, as in the paper.

    Parameters
    ----------
    real : tensor (N_r, F), fake : tensor (N_g, F)
        Feature vectors; each set needs more than k rows.
    k : int
        Neighbourhood size (3 in the paper).
    chunk : int
        Rows per block of the distance matrices.

    Returns
    -------
    PrecisionRecall
        Both in [0, 1].

    References
    ----------
    Kynkäänniemi et al. (2019), sec. 2 and eq. (1)-(3).
    """
    r = check_features(real, "real")
    g = check_features(fake, "fake")
    _same_width(r, g)
    chunk = check_count(chunk, "chunk")
    real_radii = knn_radii(r, k, chunk)
    fake_radii = knn_radii(g, k, chunk)
    precision = float(_inside(g, r, real_radii, chunk).double().mean())
    recall = float(_inside(r, g, fake_radii, chunk).double().mean())
    return PrecisionRecall(precision=precision, recall=recall, k=k)
