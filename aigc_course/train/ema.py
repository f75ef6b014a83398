r"""An exponential moving average (EMA) of a model's weights, the model to sample from.

.. math:: \bar\theta_n = \lambda_n\,\bar\theta_{n-1} + (1 - \lambda_n)\,\theta_n, \qquad \bar\theta_0 = \theta_0

Averaging the iterates damps the oscillation of GAN training around an equilibrium and the
noise of a diffusion model's last steps; samples from :math:`\bar\theta` are usually better
than from the last :math:`\theta`. With a warm-up (:func:`warmed_up_decay`) the average leaves
the random initial weights quickly in short runs.

References
----------
Yazici et al. (2019), "The Unusual Effectiveness of Averaging in GAN Training", ICLR.
Ho, Jain & Abbeel (2020), "Denoising Diffusion Probabilistic Models", App. B (decay 0.9999).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from aigc_course._check import check_count, check_module, check_real

__all__ = ["ema_copy", "ema_update_", "warmed_up_decay"]


def ema_copy(model: nn.Module) -> nn.Module:
    r"""A frozen copy of ``model`` to hold the average, in eval mode: :math:`\bar\theta_0 = \theta_0`."""
    check_module(model, "model")
    ema = copy.deepcopy(model).eval()
    return ema.requires_grad_(False)


def warmed_up_decay(decay: float, step: int) -> float:
    r"""The EMA decay after step ``step`` (1-based), warmed up so short runs leave init.

    .. math:: \lambda_n = \min\Bigl(\lambda,\ \frac{1 + n}{10 + n}\Bigr)

    (0.18 after step 1, 0.9 after step 80, :math:`\lambda` = 0.999 from step 8,990 on).
    Without the warm-up a 0.999 average after 50 steps would still be 95% the random
    initial weights.

    References
    ----------
    TensorFlow's ``tf.train.ExponentialMovingAverage`` (argument ``num_updates``); the
    same warm-up in diffusers' ``EMAModel``.
    """
    decay = check_real(decay, "decay", low=0.0, high=1.0, high_open=True)
    step = check_count(step, "step", minimum=1)
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def ema_update_(
    ema: nn.Module, model: nn.Module, decay: float, step: int | None = None
) -> None:
    r"""In place: :math:`\bar\theta \leftarrow \lambda\bar\theta + (1-\lambda)\theta`; buffers copied.

    ``decay`` is :math:`\lambda` in [0, 1); given ``step`` (1-based), the warmed-up
    :math:`\lambda_n` = :func:`warmed_up_decay` ``(decay, step)`` is used instead. Buffers
    (BatchNorm's running statistics) are copied rather than averaged. Only argument types,
    parameter counts and shapes are checked: no value is read back from the device.
    """
    check_module(ema, "ema")
    check_module(model, "model")
    if step is None:
        decay = check_real(decay, "decay", low=0.0, high=1.0, high_open=True)
    else:
        decay = warmed_up_decay(decay, step)
    avgs, params = list(ema.parameters()), list(model.parameters())
    if len(avgs) != len(params) or any(
        a.shape != p.shape for a, p in zip(avgs, params, strict=True)
    ):
        raise ValueError(
            "ema must be a copy of model (same parameters and shapes): make it with "
            "ema_copy(model)"
        )
    for avg, p in zip(avgs, params, strict=True):
        avg.lerp_(p, 1.0 - decay)
    for avg, b in zip(ema.buffers(), model.buffers(), strict=True):
        avg.copy_(b)
