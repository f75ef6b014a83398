r"""Training objectives: epsilon prediction (DDPM) and flow matching (rectified flow).

The model is any callable ``model(x, time, labels)`` returning a tensor shaped like ``x``;
``time`` is a float tensor (B,) in [0, 1] (for diffusion, :math:`t/T`; see
:mod:`aigc_course.sampling.schedules`).

Flow-matching convention (one direction of time for the whole package)
----------------------------------------------------------------------
Data at time 0, noise at time 1, as in diffusion:

.. math::

    x_t = (1 - t)\, x_0 + t\, x_1, \qquad x_0 \sim p_{\text{data}},\ x_1 \sim \mathcal N(0, I),
    \qquad u_t = \frac{d x_t}{dt} = x_1 - x_0

Lipman et al. (2023) and Liu et al. (2023) put the data at t = 1 instead; their :math:`t` is our
:math:`1 - t` and their velocity is our :math:`-u`. Sampling integrates from t = 1 down to t = 0
(:func:`aigc_course.sampling.diffusion.flow_matching_sample`). Stable Diffusion 3 uses this package's
direction.

References
----------
Ho, Jain & Abbeel (2020), "Denoising Diffusion Probabilistic Models", Eq. (14).
Lipman, Chen, Ben-Hamu, Nickel & Le (2023), "Flow Matching for Generative Modeling", ICLR,
Eqs. (20)-(23) (the optimal-transport path with sigma_min = 0).
Liu, Gong & Liu (2023), "Flow Straight and Fast: Learning to Generate and Transfer Data with
Rectified Flow", ICLR, Eq. (1).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from aigc_course import _check
from aigc_course.sampling.schedules import (
    NoiseSchedule,
    _check_batch,
    _check_schedule,
    check_timesteps,
    q_sample,
)

__all__ = ["epsilon_loss", "flow_matching_loss", "flow_matching_path"]

Model = Callable[..., torch.Tensor]


def epsilon_loss(
    model: Model,
    x0: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    schedule: NoiseSchedule,
    labels: torch.Tensor | None = None,
    *,
    validate: bool = True,
) -> torch.Tensor:
    r"""The "simple" DDPM loss: mean squared error of the network's noise estimate.

    .. math::

        L_{\text{simple}}(\theta) = \mathbb E_{t, x_0, \epsilon}
        \bigl\| \epsilon - \epsilon_\theta\bigl(\sqrt{\bar\alpha_t} x_0 + \sqrt{1-\bar\alpha_t}\,
        \epsilon,\ t/T\bigr) \bigr\|^2

    averaged here over every element (batch and data dimensions): a network that outputs 0
    scores about 1. The minimiser is :math:`\mathbb E[\epsilon \mid x_t]`, so even the best
    network keeps a floor above 0, the posterior variance of the noise.

    Parameters
    ----------
    model : callable
        ``model(x_t, time, labels) -> eps_hat``, shapes (B, ...), (B,), (B,) or None.
    x0 : torch.Tensor
        (B, ...) clean data, e.g. images in [-1, 1].
    t : torch.Tensor
        (B,) int64 timesteps in [1, T] (uniform in Ho et al.).
    noise : torch.Tensor
        :math:`\epsilon`, shape of ``x0``, standard normal.
    schedule : NoiseSchedule
    labels : torch.Tensor, optional
        (B,) int64 class labels passed through to the model.
    validate : bool
        Check the arguments (reads ``t``'s values); a training loop that checked its inputs
        once passes ``False``.

    Returns
    -------
    torch.Tensor
        0-d, >= 0.

    References
    ----------
    Ho, Jain & Abbeel (2020), Eq. (14) and Algorithm 1.
    """
    if validate:
        _check.check_model_call(model)
        _check_schedule(schedule)
        _check_batch(x0, "x0")
        check_timesteps(t, schedule, x0.shape[0], low=1)
        _check.check_same_shape(noise, "noise", x0, "x0")
    x_t = q_sample(x0, t, noise, schedule, validate=False)
    time = t.to(torch.get_default_dtype()) / schedule.T  # model_time, without its checks
    return F.mse_loss(model(x_t, time, labels), noise)


def flow_matching_path(
    x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor, *, validate: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""A point on the straight path from data to noise and the velocity that moves along it.

    .. math:: x_t = (1 - t)\, x_0 + t\, x_1, \qquad u_t = x_1 - x_0

    Parameters
    ----------
    x0 : torch.Tensor
        (B, ...) data (time 0).
    x1 : torch.Tensor
        (B, ...) noise (time 1), same shape; any source distribution works.
    t : torch.Tensor
        (B,) floats in [0, 1].
    validate : bool
        Check the arguments (reads ``t``'s values); ``False`` inside a training loop.

    Returns
    -------
    x_t : torch.Tensor
        Shape of ``x0``.
    target : torch.Tensor
        :math:`u_t = x_1 - x_0`, shape of ``x0``. The network regresses on it; the minimiser is
        the marginal velocity :math:`v(x, t) = \mathbb E[x_1 - x_0 \mid x_t = x]`.

    References
    ----------
    Lipman et al. (2023), Eq. (23) with sigma_min = 0 and time reversed; Liu et al. (2023), Eq. (1).
    """
    if validate:
        _check_batch(x0, "x0")
        _check.check_same_shape(x1, "x1", x0, "x0")
        _check.check_times(t, "t", x0.shape[0])
    tb = t.to(x0.dtype).view(-1, *([1] * (x0.ndim - 1)))
    return (1 - tb) * x0 + tb * x1, x1 - x0


def flow_matching_loss(
    model: Model,
    x0: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    validate: bool = True,
) -> torch.Tensor:
    r"""The conditional flow-matching loss on the linear (rectified-flow) path.

    .. math::

        L_{\text{FM}}(\theta) = \mathbb E_{t \sim U[0,1],\, x_0,\, x_1}
        \bigl\| v_\theta\bigl((1-t)x_0 + t x_1,\ t\bigr) - (x_1 - x_0) \bigr\|^2

    averaged over every element. Data at t = 0, noise at t = 1 (see the module docstring).

    Parameters
    ----------
    model : callable
        ``model(x_t, t, labels) -> v_hat``.
    x0 : torch.Tensor
        (B, ...) data.
    t : torch.Tensor
        (B,) floats in [0, 1].
    noise : torch.Tensor
        :math:`x_1`, shape of ``x0``.
    labels : torch.Tensor, optional
        (B,) int64 class labels passed through to the model.
    validate : bool
        Check the arguments (reads ``t``'s values); ``False`` inside a training loop.

    Returns
    -------
    torch.Tensor
        0-d, >= 0.

    References
    ----------
    Lipman et al. (2023), Eq. (9) and Sec. 4.1; Liu et al. (2023), Eq. (1).
    """
    if validate:
        _check.check_model_call(model)
        _check_batch(x0, "x0")
        _check.check_times(t, "t", x0.shape[0])
        _check.check_same_shape(noise, "noise", x0, "x0")
    x_t, target = flow_matching_path(x0, noise, t, validate=False)
    return F.mse_loss(model(x_t, t, labels), target)
