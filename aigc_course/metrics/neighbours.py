r"""Nearest neighbours in pixel (or feature) space: the memorisation check for generated samples."""

from __future__ import annotations

import math

import torch

from aigc_course._check import check_count, check_tensor


def nearest_neighbours(
    queries: torch.Tensor, reference: torch.Tensor, chunk: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Euclidean distance from each query to its nearest reference example, and that example's index.

    .. math:: d(q) = \min_n \lVert q - r_n \rVert_2

    Computed in chunks through :math:`\lVert q\rVert^2 - 2 q^\top r + \lVert r\rVert^2` in float64, so
    memory stays O(chunk * N).

    Parameters
    ----------
    queries : tensor (M, ...) flattened to (M, D)
    reference : tensor (N, ...) flattened to (N, D)

    Returns
    -------
    distances : tensor (M,), float64, >= 0
    indices : tensor (M,), int64, in [0, N)
    """
    check_tensor(queries, "queries", nonempty=False, shape_hint="(M, ...)")
    check_tensor(reference, "reference", nonempty=False, shape_hint="(N, ...)")
    chunk = check_count(chunk, "chunk")
    # Explicit widths: reshape(0, -1) is ambiguous, and empty batches are valid input.
    q = queries.reshape(queries.shape[0], math.prod(queries.shape[1:])).double()
    r = reference.reshape(reference.shape[0], math.prod(reference.shape[1:])).double()
    if q.shape[1] != r.shape[1]:
        raise ValueError(
            f"queries have {q.shape[1]} values per example but reference has {r.shape[1]}; "
            "compare images of the same size and scale"
        )
    if r.shape[0] == 0:
        raise ValueError("reference set is empty")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    r_sq = (r**2).sum(1)
    dists, idx = [], []
    for start in range(0, q.shape[0], chunk):
        qc = q[start : start + chunk]
        d2 = (qc**2).sum(1, keepdim=True) - 2 * qc @ r.T + r_sq
        best, arg = d2.min(1)
        dists.append(best.clamp_min(0).sqrt())
        idx.append(arg)
    if not dists:
        return torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.int64)
    return torch.cat(dists), torch.cat(idx)


def mean_pairwise_distance(features: torch.Tensor) -> float:
    r"""Mean Euclidean distance between the rows of ``features``, over all pairs of different rows.

    .. math:: \bar d = \binom{N}{2}^{-1} \sum_{i < j} \lVert f_i - f_j \rVert_2

    A simple measure of the variety of a set of samples (in pixels or classifier features).

    Parameters
    ----------
    features : tensor (N, ...) flattened to (N, D), N >= 2

    Returns
    -------
    float, >= 0 (computed in float64)
    """
    check_tensor(features, "features", floating=True, shape_hint="(N, D)")
    if features.shape[0] < 2:
        raise ValueError(f"features needs at least 2 rows to form a pair, got {features.shape[0]}")
    f = features.reshape(features.shape[0], -1).double()
    return float(torch.pdist(f).mean())
