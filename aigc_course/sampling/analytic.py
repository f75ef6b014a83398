r"""Exact noise and velocity predictors for Gaussian data: oracles for samplers and losses.

For data :math:`x_0 \sim \mathcal N(m, \operatorname{diag} s^2)` every quantity a network learns
has a closed form, so a sampler driven by these predictors must return the data distribution
(up to its discretisation error). The tests use them that way; the chapter uses them to show
epsilon as a scaled score.

References
----------
Ho, Jain & Abbeel (2020), Eq. (4); Song et al. (2021), "Score-Based Generative Modeling through
SDEs", App. B (Gaussian scores); Lipman et al. (2023), Eq. (8) (marginal velocity as a
conditional expectation).
"""

from __future__ import annotations

import torch

from aigc_course import _check
from aigc_course.sampling.schedules import NoiseSchedule, _check_schedule

__all__ = ["GaussianEpsilon", "GaussianVelocity"]


def _as_vector(name: str, value, *, positive: bool = False) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        _check.check_tensor(value, name, ndim=(0, 1), floating=True, shape_hint="(D,)")
        out = value.detach().to("cpu", torch.float64)
    else:
        out = torch.tensor(_check.check_real(value, name), dtype=torch.float64)
    _check.check_finite(out, name)
    if positive and not bool((out > 0).all()):
        raise ValueError(f"{name} must be > 0 (a standard deviation), got {out.tolist()}")
    return out


def _check_call(x: object, time: object, *vectors: torch.Tensor) -> torch.Tensor:
    # The oracles run on the host in float64 anyway, so reading time's values costs nothing extra.
    x = _check.check_tensor(x, "x", floating=True, shape_hint="(B, ..., D)")
    _check.check_times(time, "time", x.shape[0])
    dims = {v.numel() for v in vectors if v.ndim == 1}
    if dims and (x.ndim < 2 or x.shape[-1] not in dims):
        raise ValueError(
            f"x must have shape (B, ..., D) with D = {max(dims)} (one mean and std per "
            f"dimension), got {tuple(x.shape)}"
        )
    return x


class GaussianEpsilon:
    r"""The optimal noise prediction :math:`\mathbb E[\epsilon \mid x_t]` for Gaussian data.

    With :math:`x_t = \sqrt{\bar\alpha_t} x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon` and
    :math:`x_0 \sim \mathcal N(m, s^2)` per coordinate, :math:`x_t` is Gaussian with mean
    :math:`\mu_t = \sqrt{\bar\alpha_t}\, m` and variance :math:`v_t = \bar\alpha_t s^2 + 1 -
    \bar\alpha_t`, and

    .. math::

        \epsilon^*(x_t, t) = \frac{\sqrt{1 - \bar\alpha_t}}{v_t}\,(x_t - \mu_t)
        = -\sqrt{1-\bar\alpha_t}\; \nabla_{x_t} \log q_t(x_t)

    Call it as ``model(x, time, labels)`` with ``time = t / T`` (labels are ignored).

    Parameters
    ----------
    mean, std : float or 1-D tensor
        m and s > 0 per coordinate (broadcast over the last axis of x).
    schedule : NoiseSchedule
    """

    n_classes = None
    null_label = None

    def __init__(self, mean, std, schedule: NoiseSchedule) -> None:
        _check_schedule(schedule)
        self.mean = _as_vector("mean", mean)
        self.std = _as_vector("std", std, positive=True)
        self.schedule = schedule

    def __call__(self, x: torch.Tensor, time: torch.Tensor, labels=None) -> torch.Tensor:
        _check_call(x, time, self.mean, self.std)
        t = (time.to(torch.float64) * self.schedule.T).round().long().cpu()
        ab = self.schedule.alpha_bars[t].view(-1, *([1] * (x.ndim - 1)))
        m, s = self.mean, self.std
        mu = ab.sqrt() * m
        var = ab * s**2 + 1 - ab
        eps = (1 - ab).sqrt() * (x.cpu().to(torch.float64) - mu) / var
        return eps.to(x.device, x.dtype)


class GaussianVelocity:
    r"""The marginal flow-matching velocity between two independent Gaussians.

    On the path :math:`x_t = (1-t) x_0 + t x_1` with :math:`x_0 \sim \mathcal N(m_0, s_0^2)`
    (data, t = 0) and :math:`x_1 \sim \mathcal N(m_1, s_1^2)` (noise, t = 1) per coordinate,
    :math:`x_t \sim \mathcal N(\mu_t, \sigma_t^2)` with :math:`\mu_t = (1-t)m_0 + t m_1`,
    :math:`\sigma_t^2 = (1-t)^2 s_0^2 + t^2 s_1^2`, and

    .. math::

        v(x, t) = \mathbb E[x_1 - x_0 \mid x_t = x]
        = (m_1 - m_0) + \frac{t s_1^2 - (1-t) s_0^2}{\sigma_t^2}\,(x - \mu_t)

    Call it as ``model(x, t, labels)`` (labels are ignored).

    Parameters
    ----------
    mean, std : float or 1-D tensor
        :math:`m_0, s_0 > 0` of the data.
    noise_mean, noise_std : float or 1-D tensor
        :math:`m_1, s_1 > 0` of the source; default the standard normal.
    """

    n_classes = None
    null_label = None

    def __init__(self, mean, std, noise_mean=0.0, noise_std=1.0) -> None:
        self.m0 = _as_vector("mean", mean)
        self.s0 = _as_vector("std", std, positive=True)
        self.m1 = _as_vector("noise_mean", noise_mean)
        self.s1 = _as_vector("noise_std", noise_std, positive=True)

    def __call__(self, x: torch.Tensor, time: torch.Tensor, labels=None) -> torch.Tensor:
        _check_call(x, time, self.m0, self.s0, self.m1, self.s1)
        t = time.to(torch.float64).cpu().view(-1, *([1] * (x.ndim - 1)))
        mu = (1 - t) * self.m0 + t * self.m1
        var = (1 - t) ** 2 * self.s0**2 + t**2 * self.s1**2
        slope = (t * self.s1**2 - (1 - t) * self.s0**2) / var
        v = (self.m1 - self.m0) + slope * (x.cpu().to(torch.float64) - mu)
        return v.to(x.device, x.dtype)
