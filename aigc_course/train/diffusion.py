r"""Training a diffusion or flow-matching denoiser: the math of one update.

:func:`diffusion_step` draws the time and the noise for a mini-batch, drops labels to the null
class with probability ``p_uncond`` (so one network learns both the conditional and the
unconditional prediction that classifier-free guidance combines), computes the loss of
:mod:`aigc_course.diffusion.losses`, and takes one optimiser step.

References
----------
Ho, Jain & Abbeel (2020), "Denoising Diffusion Probabilistic Models", Algorithm 1.
Lipman et al. (2023), "Flow Matching for Generative Modeling", ICLR; Liu, Gong & Liu (2023),
"Flow Straight and Fast", ICLR.
Ho & Salimans (2022), "Classifier-Free Diffusion Guidance", Algorithm 1 (label dropout).
"""

from __future__ import annotations

import torch
from torch import nn

from aigc_course.diffusion.losses import _epsilon_loss, _flow_loss
from aigc_course.diffusion.schedules import NoiseSchedule, _check_schedule

__all__ = ["OBJECTIVES", "diffusion_step"]

OBJECTIVES = ("eps", "flow")


def _draw(fn, shape, generator, device, **kwargs):
    if generator is None:
        return fn(*shape, device=device, **kwargs)
    return fn(*shape, generator=generator, device=generator.device, **kwargs).to(device)


def _drop_labels(model, labels, p_uncond, generator):
    if labels is None or p_uncond == 0:
        return labels
    null = getattr(model, "null_label", None)
    if null is None:
        raise ValueError(
            "p_uncond > 0 replaces labels by the model's null label, but the model has none: "
            "build it with n_classes=K, or pass p_uncond=0"
        )
    drop = _draw(torch.rand, labels.shape, generator, labels.device) < p_uncond
    return torch.where(drop, torch.full_like(labels, null), labels)


def diffusion_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x0: torch.Tensor,
    labels: torch.Tensor | None,
    schedule: NoiseSchedule | None,
    generator: torch.Generator | None,
    objective: str = "eps",
    p_uncond: float = 0.1,
) -> dict[str, torch.Tensor]:
    r"""One gradient step of DDPM (epsilon prediction) or flow matching on a mini-batch.

    ``objective="eps"`` (Ho et al., 2020, Algorithm 1):

    .. math::

        t \sim U\{1, \dots, T\},\ \epsilon \sim \mathcal N(0, I), \qquad
        L = \bigl\|\epsilon - \epsilon_\theta(\sqrt{\bar\alpha_t} x_0 + \sqrt{1-\bar\alpha_t}\,
        \epsilon,\ t/T,\ y)\bigr\|^2

    ``objective="flow"`` (Lipman et al., 2023; data at t = 0, noise at t = 1):

    .. math::

        t \sim U[0, 1],\ x_1 \sim \mathcal N(0, I), \qquad
        L = \bigl\|v_\theta((1-t) x_0 + t x_1,\ t,\ y) - (x_1 - x_0)\bigr\|^2

    Both losses are means over every element. With labels, each is replaced by the model's
    ``null_label`` with probability ``p_uncond`` before the forward pass.

    Parameters
    ----------
    model : nn.Module
        ``model(x, time, labels)``, e.g. :class:`~aigc_course.models.unet.UNet` or
        :class:`~aigc_course.models.denoiser.MLPDenoiser`; in train mode.
    optimizer : torch.optim.Optimizer
        Over ``model``'s parameters.
    x0 : torch.Tensor
        (B, ...) clean data (images in [-1, 1], points, latent codes).
    labels : torch.Tensor or None
        (B,) int64 class labels, or None for an unconditional model.
    schedule : NoiseSchedule or None
        Required for ``"eps"``; ignored by ``"flow"``.
    generator : torch.Generator or None
        Source of t, the noise and the label dropout (on any device).
    objective : {"eps", "flow"}
    p_uncond : float
        Label-dropout probability in [0, 1) (0.1 in Ho & Salimans, 2022).

    Returns
    -------
    dict
        ``{"loss": 0-d tensor}``, detached, on ``x0``'s device (no host synchronisation).

    References
    ----------
    Ho et al. (2020), Algorithm 1; Lipman et al. (2023), Algorithm 1; Ho & Salimans (2022),
    Algorithm 1.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if not (isinstance(p_uncond, (int, float)) and 0 <= p_uncond < 1):
        raise ValueError(f"p_uncond must be in [0, 1), got {p_uncond!r}")
    if not isinstance(x0, torch.Tensor) or x0.ndim < 2:
        raise TypeError("x0 must be a torch.Tensor of shape (B, ...), with a batch axis")
    batch, device = x0.shape[0], x0.device
    labels = _drop_labels(model, labels, p_uncond, generator)
    noise = _draw(torch.randn, x0.shape, generator, device, dtype=x0.dtype)
    if objective == "eps":
        _check_schedule(schedule)
        schedule = schedule.to(device)
        t = _draw(torch.randint, (1, schedule.T + 1, (batch,)), generator, device)
        loss = _epsilon_loss(model, x0, t, noise, schedule, labels)
    else:
        t = _draw(torch.rand, (batch,), generator, device, dtype=x0.dtype)
        loss = _flow_loss(model, x0, t, noise, labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return {"loss": loss.detach()}
