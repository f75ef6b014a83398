r"""Likelihood-based metrics: nats to bits per dimension, and the NLL bound of a density on dequantised data."""

from __future__ import annotations

import math

import torch

from aigc_course._check import check_count, check_real, check_tensor


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
    _check_nll(nll_nats, "nll_nats")
    num_dims = check_count(num_dims, "num_dims")
    return nll_nats / (num_dims * math.log(2.0))


def _check_nll(value: object, name: str) -> None:
    if isinstance(value, torch.Tensor):
        check_tensor(value, name, floating=True, nonempty=False)
    else:
        check_real(value, name)


def discrete_nll_from_density(
    log_density: torch.Tensor, num_dims: int, levels: int = 256
) -> torch.Tensor:
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
    _check_nll(log_density, "log_density")
    levels = check_count(levels, "levels", minimum=2)
    num_dims = check_count(num_dims, "num_dims")
    return -log_density + num_dims * math.log(levels)
