r"""A trained denoiser, its schedule and a sampler as one generator: ``sample(n, *, labels, generator)``.

The GAN and VAE generators already sample with ``model.sample(n, *, labels=None,
generator=None)`` and declare the range of what they return; :class:`DiffusionGenerator` gives
a diffusion or flow-matching network the same two things, so that evaluation code takes any
generator without asking which family it is.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from aigc_course import _check
from aigc_course.runtime import eval_mode
from aigc_course.sampling.diffusion import _plan, sample
from aigc_course.sampling.guidance import ClassifierFreeGuidance
from aigc_course.sampling.schedules import NoiseSchedule

__all__ = ["DiffusionGenerator"]


def _sample_shape(denoiser: nn.Module) -> tuple[int, ...]:
    cfg = getattr(denoiser, "cfg", None)
    if hasattr(cfg, "image_size") and hasattr(cfg, "in_channels"):  # UNet
        return (cfg.in_channels, cfg.image_size, cfg.image_size)
    if hasattr(cfg, "dim"):  # MLPDenoiser
        return (cfg.dim,)
    raise ValueError(
        f"cannot tell the shape of one sample of a {type(denoiser).__name__}: pass "
        "sample_shape=(C, H, W) or (D,)"
    )


def _real_or_infinite(value: object) -> float:
    if isinstance(value, float) and math.isinf(value):
        return value
    return _check.check_real(value, "data_range")


class DiffusionGenerator:
    r"""Sample a trained diffusion or flow-matching network like any other generator.

    ``DiffusionGenerator(unet, schedule, method="ddim", steps=50).sample(64)`` runs
    :func:`~aigc_course.sampling.diffusion.sample` on ``(64, *sample_shape)`` in eval mode
    (the network's mode is restored afterwards) and clamps the result to ``data_range``.

    Parameters
    ----------
    denoiser : torch.nn.Module
        ``denoiser(x, time, labels)``: a noise prediction ("ddpm", "ddim") or a flow-matching
        velocity ("euler", "heun"), e.g. a :class:`~aigc_course.models.unet.UNet`.
    schedule : NoiseSchedule, optional
        The training schedule; required by "ddpm" and "ddim", refused by "euler" and "heun".
    method : {"ddpm", "ddim", "euler", "heun"}
    steps : int
        Sampling steps S (<= T for diffusion).
    guidance : float
        Classifier-free guidance weight w (0: the plain conditional model); w != 0 needs a
        class-conditional network (Ho & Salimans, 2022).
    data_range : tuple of float
        The range of the data the network was trained on; samples are clamped to it.
        (-1, 1) for images (``aigc_course.data.to_signed``); (-inf, inf) for no clamp.
    sample_shape : tuple of int, optional
        One sample's shape; default from the network's config, (C, H, W) or (D,).
    \*\*opts
        The step's options (``eta``, ``clip_x0``, ``variance``), as in ``sample``.

    Attributes
    ----------
    data_range : tuple of float
    n_classes : int or None
        The network's classes (labels in [0, K)); None for an unconditional network.

    References
    ----------
    Ho, Jain & Abbeel (2020); Song, Meng & Ermon (2021); Lipman et al. (2023).
    """

    def __init__(
        self,
        denoiser: nn.Module,
        schedule: NoiseSchedule | None = None,
        *,
        method: str,
        steps: int,
        guidance: float = 0.0,
        data_range: tuple[float, float] = (-1.0, 1.0),
        sample_shape: tuple[int, ...] | None = None,
        **opts,
    ) -> None:
        self.denoiser = _check.check_module(denoiser, "denoiser")
        _check.check_model_call(denoiser, "denoiser")
        self.method = method
        self.schedule = schedule
        self.steps = _check.check_count(steps, "steps")
        self.guidance = _check.check_real(guidance, "guidance")
        self.n_classes = getattr(denoiser, "n_classes", None)
        if self.guidance != 0 and self.n_classes is None:
            raise ValueError(
                "guidance needs a class-conditional network (n_classes=K, trained with label "
                "dropout): use guidance=0.0 for this one"
            )
        if not isinstance(data_range, tuple | list) or len(data_range) != 2:
            raise TypeError(f"data_range must be a pair (low, high), got {data_range!r}")
        low, high = (_real_or_infinite(v) for v in data_range)
        if not low < high:
            raise ValueError(f"data_range must be (low, high) with low < high, got {data_range}")
        self.data_range = (low, high)
        if sample_shape is None:
            sample_shape = _sample_shape(denoiser)
        self.sample_shape = tuple(_check.check_count(s, "sample_shape[i]") for s in sample_shape)
        self.opts = opts
        _plan(method, schedule, steps, dict(opts))  # the sampler's own checks, once, here

    def _model(self):
        if self.guidance == 0:
            return self.denoiser
        return ClassifierFreeGuidance(self.denoiser, self.guidance)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        labels: torch.Tensor | int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        r"""``n`` samples in ``data_range``, shape ``(n, *sample_shape)``, on the network's device.

        Conditional networks take ``labels``: (n,) int64, one int for all, or None for the
        classes in turn, ``arange(n) % n_classes`` (as every generator here).
        """
        n = _check.check_sample_count(n)
        device = next(self.denoiser.parameters()).device
        y = _check.sample_labels(self.denoiser, n, labels, device)
        if n == 0:
            return torch.empty(0, *self.sample_shape, device=device)
        with eval_mode(self.denoiser):
            x = sample(
                self._model(), (n, *self.sample_shape), method=self.method,
                schedule=self.schedule, steps=self.steps, labels=y, generator=generator,
                **self.opts,
            )  # fmt: skip
        return x.clamp(*self.data_range)

    def __repr__(self) -> str:
        return (
            f"DiffusionGenerator({type(self.denoiser).__name__}, method={self.method!r}, "
            f"steps={self.steps}, guidance={self.guidance}, data_range={self.data_range})"
        )
