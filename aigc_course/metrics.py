r"""Evaluation metrics that need no pretrained network: likelihoods in nats and bits, nearest neighbours."""
from __future__ import annotations

import math

import torch


def bits_per_dim(nll_nats: torch.Tensor | float, num_dims: int) -> torch.Tensor | float:
    r"""Convert a negative log-likelihood per example from nats to bits per dimension.

    .. math:: \text{bpd} = \frac{\text{NLL}_{\text{nats}}}{D \ln 2}

    Parameters
    ----------
    nll_nats : tensor (B,) or float
        Negative log-likelihood of each example, in nats (natural log).
    num_dims : int
        Number of dimensions D of one example (784 for a 28x28 image).

    References
    ----------
    Theis, van den Oord & Bethge, "A note on the evaluation of generative models", ICLR 2016, sec. 3.1.
    """
    if num_dims <= 0:
        raise ValueError(f"num_dims must be positive, got {num_dims}")
    return nll_nats / (num_dims * math.log(2.0))


def discrete_nll_from_density(log_density: torch.Tensor, num_dims: int, levels: int = 256) -> torch.Tensor:
    r"""Upper bound on the NLL (nats) of ``levels``-valued data from a density fitted to dequantised data.

    With :math:`y = (x + u) / L`, :math:`u \sim U[0, 1)^D`, a density :math:`p` on :math:`[0, 1]^D` assigns the
    discrete image :math:`x` the probability :math:`P(x) = \int_{\text{bin}(x)} p(y)\,dy`, and by Jensen

    .. math:: -\log P(x) \le -\mathbb E_u[\log p(y)] + D \log L .

    Parameters
    ----------
    log_density : tensor (B,)
        :math:`\log p(y)` in nats for dequantised, rescaled images :math:`y \in [0, 1)^D`.
    num_dims : int
        D, the number of pixels.
    levels : int
        L, the number of intensity levels (256 for 8-bit images).

    References
    ----------
    Theis, van den Oord & Bethge, ICLR 2016, sec. 3.1; Uria, Murray & Larochelle, NeurIPS 2013.
    """
    if levels < 2:
        raise ValueError(f"levels must be >= 2, got {levels}")
    if num_dims <= 0:
        raise ValueError(f"num_dims must be positive, got {num_dims}")
    return -log_density + num_dims * math.log(levels)


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
