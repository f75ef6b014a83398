r"""Rational-quadratic spline couplings: a monotone, exactly invertible, much more flexible coupling.

An affine coupling can only stretch and shift each transformed coordinate; a flow of them bends a
Gaussian into several modes slowly and leaves bridges between them. A *neural spline* coupling
replaces :math:`x \mapsto x e^s + t` by a monotone rational-quadratic spline with :math:`K` bins on
:math:`[-B, B]` (identity outside), whose knots, bin heights and knot derivatives come from the
conditioner: each bin can stretch its own piece of the line, so one layer can already split a
coordinate into several modes. Its inverse is the root of a quadratic in closed form and its
derivative is exact, so the log-determinant stays a sum over the transformed coordinates.

References
----------
Durkan, Bekasov, Murray & Papamakarios (2019), "Neural spline flows", NeurIPS (eqs. 4-8 and
appendix A). Gregory & Delbourgo (1982), "Piecewise rational quadratic interpolation to monotonic
data", IMA J. Numer. Anal.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from aigc_course import _check

__all__ = ["SplineCoupling", "rational_quadratic_spline"]

MIN_BIN = 1e-3  # smallest bin width and height, as a fraction of 2B
MIN_DERIVATIVE = 1e-3
_IDENTITY_DERIVATIVE = math.log(math.expm1(1.0 - MIN_DERIVATIVE))  # softplus(.) + min = 1


def _knots(raw: torch.Tensor, bound: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Bin sizes (..., K) summing to 2B, each >= MIN_BIN * 2B, and the K + 1 knots from -B to B."""
    k = raw.shape[-1]
    sizes = (MIN_BIN + (1 - MIN_BIN * k) * torch.softmax(raw, -1)) * 2 * bound
    inner = torch.cumsum(sizes, -1)[..., :-1] - bound
    ends = torch.full_like(inner[..., :1], bound)
    return sizes, torch.cat([-ends, inner, ends], -1)  # exactly -B and B at the ends


def rational_quadratic_spline(
    x: torch.Tensor,
    raw_widths: torch.Tensor,
    raw_heights: torch.Tensor,
    raw_derivatives: torch.Tensor,
    *,
    bound: float = 3.0,
    inverse: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Apply a monotone rational-quadratic spline elementwise; return ``(y, log|dy/dx|)``.

    In bin :math:`k` (knots :math:`x_k, y_k`, width :math:`w_k`, height :math:`h_k`, slope
    :math:`s_k = h_k / w_k`, knot derivatives :math:`d_k, d_{k+1}`, :math:`\xi = (x - x_k)/w_k`):

    .. math::

        y = y_k + \frac{h_k\,[s_k \xi^2 + d_k \xi(1-\xi)]}{s_k + (d_{k+1} + d_k - 2 s_k)\,\xi(1-\xi)},
        \qquad
        \frac{dy}{dx} = \frac{s_k^2\,[d_{k+1}\xi^2 + 2 s_k \xi(1-\xi) + d_k (1-\xi)^2]}
                             {[s_k + (d_{k+1} + d_k - 2 s_k)\,\xi(1-\xi)]^2}

    Outside :math:`[-B, B]` the map is the identity (derivative 1 at both ends, linear tails).

    Parameters
    ----------
    x : torch.Tensor
        (...) values (with ``inverse=True``, the spline's outputs to invert).
    raw_widths, raw_heights : torch.Tensor
        (..., K) unnormalised bin widths and heights (a softmax makes them sum to 2B).
    raw_derivatives : torch.Tensor
        (..., K - 1) unnormalised derivatives at the inner knots (softplus; all zeros and equal
        widths and heights give the identity).
    bound : float
        B, the half-width of the spline's interval.
    inverse : bool
        Compute :math:`x = g^{-1}(y)` and :math:`\log|dx/dy|` instead.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        The transformed values and the log-derivative, both shaped like ``x``.

    References
    ----------
    Durkan et al. (2019), eqs. (4)-(6); the inverse is their appendix A's root of a quadratic.
    """
    inside = (x >= -bound) & (x <= bound)
    xc = x.clamp(-bound, bound)
    widths, xk = _knots(raw_widths, bound)
    heights, yk = _knots(raw_heights, bound)
    pad = torch.full_like(raw_derivatives[..., :1], 1.0)  # derivative 1 at -B and B
    inner = MIN_DERIVATIVE + F.softplus(raw_derivatives + _IDENTITY_DERIVATIVE)
    deriv = torch.cat([pad, inner, pad], -1)
    edges = yk if inverse else xk
    idx = (torch.searchsorted(edges[..., 1:-1].contiguous(), xc[..., None].contiguous())).clamp(
        0, widths.shape[-1] - 1
    )

    def pick(t: torch.Tensor) -> torch.Tensor:
        return t.gather(-1, idx)[..., 0]

    w, h, x0, y0 = pick(widths), pick(heights), pick(xk), pick(yk)
    d0, d1 = pick(deriv), deriv[..., 1:].gather(-1, idx)[..., 0]
    s = h / w
    if inverse:
        dy = xc - y0
        a = h * (s - d0) + dy * (d1 + d0 - 2 * s)
        b = h * d0 - dy * (d1 + d0 - 2 * s)
        c = -s * dy
        xi = (2 * c / (-b - torch.sqrt((b * b - 4 * a * c).clamp_min(0)))).clamp(0, 1)
        out = x0 + xi * w
    else:
        xi = ((xc - x0) / w).clamp(0, 1)
        out = y0 + h * (s * xi**2 + d0 * xi * (1 - xi)) / (s + (d1 + d0 - 2 * s) * xi * (1 - xi))
    denom = s + (d1 + d0 - 2 * s) * xi * (1 - xi)
    log_deriv = (
        2 * torch.log(s)
        + torch.log(d1 * xi**2 + 2 * s * xi * (1 - xi) + d0 * (1 - xi) ** 2)
        - 2 * torch.log(denom)
    )
    if inverse:
        log_deriv = -log_deriv
    return torch.where(inside, out, x), torch.where(inside, log_deriv, torch.zeros_like(x))


class SplineCoupling(nn.Module):
    r"""A coupling layer whose transformed coordinates go through a rational-quadratic spline.

    .. math::

        y = m \odot x + (1 - m) \odot g_{\theta(m \odot x)}(x),
        \qquad \log|\det J| = \sum_d (1 - m_d) \log g'_{\theta(m \odot x), d}(x_d)

    with :math:`g` the monotone spline of :func:`rational_quadratic_spline`, its :math:`3K - 1`
    parameters per coordinate produced by an MLP (two hidden layers) from the kept coordinates.
    The MLP's last layer starts at zero, so a new layer is the identity.

    Parameters
    ----------
    mask : torch.Tensor
        (D,) of 0 and 1 (:func:`~aigc_course.models.normalizing_flow.alternating_mask`), with at
        least one of each: vectors only.
    hidden : int
        Width of the conditioner's hidden layers.
    bins : int
        K, the spline's bins (>= 2).
    bound : float
        B: the spline acts on :math:`[-B, B]`, the identity outside.

    References
    ----------
    Durkan, Bekasov, Murray & Papamakarios (2019), "Neural spline flows", NeurIPS.
    """

    def __init__(self, mask: torch.Tensor, hidden: int, *, bins: int = 8, bound: float = 3.0):
        super().__init__()
        _check.check_tensor(mask, "mask", ndim=1, floating=True)
        hidden = _check.check_count(hidden, "hidden")
        self.bins = _check.check_count(bins, "bins", minimum=2)
        self.bound = _check.check_real(bound, "bound", low=0.0, low_open=True)
        kept = float(mask.sum())
        if not bool(((mask == 0) | (mask == 1)).all()) or kept in (0.0, float(mask.numel())):
            raise ValueError("mask must hold only 0 and 1, with at least one of each")
        dim = mask.shape[0]
        self.net = nn.Sequential(
            nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, dim * (3 * self.bins - 1)),
        )  # fmt: skip
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.register_buffer("mask", mask.clone())

    def _transform(self, x: torch.Tensor, kept: torch.Tensor, *, inverse: bool):
        r"""The conditioner reads the kept part; the spline moves the free part: ``(y, log_det)``."""
        params = self.net(kept).view(x.shape[0], x.shape[1], 3 * self.bins - 1)
        k = self.bins
        y, log_d = rational_quadratic_spline(
            x, params[..., :k], params[..., k : 2 * k], params[..., 2 * k :],
            bound=self.bound, inverse=inverse,
        )  # fmt: skip
        free = 1.0 - self.mask
        return x * self.mask + y * free, (log_d * free).sum(1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(y, log_det)``: y (B, D), log_det (B,) in nats."""
        return self._transform(x, x * self.mask, inverse=False)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        r"""The exact inverse of :meth:`forward` (the kept coordinates pass through unchanged)."""
        return self._transform(y, y * self.mask, inverse=True)[0]
