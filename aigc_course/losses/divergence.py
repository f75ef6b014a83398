r"""Divergences between 1-D densities tabulated on a grid (for checking GAN theory numerically).

A density given by its values :math:`p(x_i)` on a sorted grid :math:`x_1 < \dots < x_N` is turned
into probabilities with the trapezoidal rule, :math:`P_i \propto p(x_i)\,w_i` where
:math:`w_i = (x_{i+1} - x_{i-1})/2` (half an interval at the two ends), renormalised to sum to 1.
As the grid gets finer the divergences of :math:`P, Q` converge to those of the densities.

References
----------
Lin (1991), "Divergence Measures Based on the Shannon Entropy", IEEE Trans. Inf. Theory 37(1).
Goodfellow et al. (2014), "Generative Adversarial Nets", Theorem 1.
"""

from __future__ import annotations

import math

import torch

__all__ = ["grid_probabilities", "js_divergence_1d"]


def _check_grid(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(
            f"x must be a floating-point torch.Tensor (the grid), got {type(x).__name__}"
        )
    if x.ndim != 1 or x.numel() < 2:
        raise ValueError(f"x must be a 1-D grid with at least 2 points, got shape {tuple(x.shape)}")
    if not bool((x[1:] > x[:-1]).all()):
        raise ValueError(
            "the grid x must be strictly increasing: sort it (torch.sort) and remove duplicates"
        )


def grid_probabilities(p: torch.Tensor, x: torch.Tensor, *, mass_tol: float = 1e-2) -> torch.Tensor:
    r"""Probabilities of the grid cells of a density, by the trapezoidal rule.

    .. math::

        P_i = \frac{p(x_i)\, w_i}{\sum_j p(x_j)\, w_j}, \qquad
        w_i = \tfrac12 (x_{\min(i+1, N)} - x_{\max(i-1, 1)})

    Parameters
    ----------
    p : torch.Tensor
        (N,), non-negative, finite: the density's values on the grid.
    x : torch.Tensor
        (N,), strictly increasing: the grid.
    mass_tol : float
        The density must integrate to :math:`1 \pm` ``mass_tol`` over the grid; otherwise the grid
        does not cover it (or ``p`` is not a normalised density) and a ``ValueError`` says so.

    Returns
    -------
    torch.Tensor
        (N,), same dtype as ``p``, non-negative, sums to 1.

    References
    ----------
    Press et al. (2007), "Numerical Recipes", 3rd ed., Sec. 4.1 (the trapezoidal rule).
    """
    return _grid_probabilities(p, x, mass_tol, "p")


def _grid_probabilities(
    p: torch.Tensor, x: torch.Tensor, mass_tol: float, name: str
) -> torch.Tensor:
    _check_grid(x)
    if not isinstance(p, torch.Tensor) or not p.is_floating_point():
        what = f"a {p.dtype} tensor" if isinstance(p, torch.Tensor) else type(p).__name__
        raise TypeError(
            f"{name} must be a floating-point torch.Tensor of density values, got {what}"
        )
    if p.shape != x.shape:
        raise ValueError(
            f"{name} has shape {tuple(p.shape)} but the grid x has shape {tuple(x.shape)}: give one value per grid point"
        )
    if not bool(torch.isfinite(p).all()) or bool((p < 0).any()):
        raise ValueError("density values must be finite and >= 0 (pass p(x), not log p(x))")
    gaps = (x[1:] - x[:-1]).to(p.dtype)
    w = torch.zeros_like(p)
    w[:-1] += gaps / 2
    w[1:] += gaps / 2
    mass = p * w
    total = mass.sum()
    if not math.isclose(float(total.detach()), 1.0, abs_tol=mass_tol):
        raise ValueError(
            f"the density integrates to {float(total.detach()):.4f} over the grid [{float(x[0]):g}, {float(x[-1]):g}], not 1: "
            "widen the grid so it covers the density, make it finer, or normalise p"
        )
    return mass / total


def js_divergence_1d(
    p: torch.Tensor, q: torch.Tensor, x: torch.Tensor, *, mass_tol: float = 1e-2
) -> torch.Tensor:
    r"""Jensen-Shannon divergence, in nats, of two 1-D densities tabulated on the same grid.

    .. math::

        \mathrm{JSD}(p \,\|\, q) = \tfrac12 \mathrm{KL}(p \,\|\, m) + \tfrac12 \mathrm{KL}(q \,\|\, m),
        \qquad m = \tfrac12 (p + q),

    computed on the grid probabilities of :func:`grid_probabilities` with :math:`0 \log 0 = 0`.
    It is symmetric, 0 iff :math:`p = q`, and at most :math:`\log 2 \approx 0.693`, reached when the
    supports do not overlap. At the optimal discriminator the GAN value function is
    :math:`-\log 4 + 2\,\mathrm{JSD}(p_\text{data} \,\|\, p_g)`.

    Parameters
    ----------
    p, q : torch.Tensor
        (N,), non-negative density values on the grid, each integrating to about 1.
    x : torch.Tensor
        (N,), strictly increasing grid covering both densities.
    mass_tol : float
        Tolerance on each density's integral over the grid (see :func:`grid_probabilities`).

    Returns
    -------
    torch.Tensor
        Scalar, in :math:`[0, \log 2]`, nats.

    References
    ----------
    Lin (1991), Eq. (4.1). Goodfellow et al. (2014), Theorem 1.
    """
    P = _grid_probabilities(p, x, mass_tol, "p")
    Q = _grid_probabilities(q, x, mass_tol, "q")
    M = (P + Q) / 2
    return ((_kl_terms(P, M) + _kl_terms(Q, M)) / 2).clamp(0.0, math.log(2.0))


def _kl_terms(P: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    r""":math:`\sum_i P_i \log(P_i / M_i)` over :math:`P_i > 0` (so :math:`0 \log 0 = 0`), with finite gradients.

    ``torch.xlogy`` gives the right value but a NaN gradient (:math:`-\infty \cdot 0`) where a density has
    underflowed to 0; masking both branches keeps autograd finite, e.g. for :math:`\partial\,\mathrm{JSD}/\partial\mu`.
    """
    positive = P > 0
    one = torch.ones_like(P)
    ratio = torch.where(positive, P, one) / torch.where(positive, M, one)
    return torch.where(positive, P * torch.log(ratio), torch.zeros_like(P)).sum()
