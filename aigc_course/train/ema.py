r"""An exponential moving average (EMA) of a model's weights, for sampling from a GAN.

.. math:: \bar\theta_t = \lambda\,\bar\theta_{t-1} + (1 - \lambda)\,\theta_t, \qquad \bar\theta_0 = \theta_0

Averaging the generator's iterates damps the oscillation of GAN training around an equilibrium;
samples from :math:`\bar\theta` are usually better than from the last :math:`\theta`.

References
----------
Yazici et al. (2019), "The Unusual Effectiveness of Averaging in GAN Training", ICLR.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["ema_copy", "ema_update_"]


def ema_copy(model: nn.Module) -> nn.Module:
    r"""A frozen copy of ``model`` to hold the average, in eval mode: :math:`\bar\theta_0 = \theta_0`."""
    ema = copy.deepcopy(model).eval()
    return ema.requires_grad_(False)


@torch.no_grad()
def ema_update_(ema: nn.Module, model: nn.Module, decay: float) -> None:
    r"""In place: :math:`\bar\theta \leftarrow \lambda\bar\theta + (1-\lambda)\theta`; buffers copied.

    Buffers (BatchNorm's running statistics) are copied rather than averaged.
    """
    for avg, p in zip(ema.parameters(), model.parameters(), strict=True):
        avg.lerp_(p, 1.0 - decay)
    for avg, b in zip(ema.buffers(), model.buffers(), strict=True):
        avg.copy_(b)
