r"""Training a diffusion or flow-matching denoiser: one update, and the loop around it.

:func:`diffusion_step` draws the time and the noise for a mini-batch, drops labels to
the null class with probability ``p_uncond`` (so one network learns both the conditional
and the unconditional prediction that classifier-free guidance combines), computes the
loss of :mod:`aigc_course.losses.diffusion`, and takes one optimiser step.
:func:`train_diffusion` runs it on the shared training core
(:class:`aigc_course.train.core.Loop`: time budget, ``on_step``, NaN checks, atomic
checkpoints, bit-identical resume) and keeps an exponential moving average of the
weights, the model to sample from (Ho et al., 2020, App. B, use decay 0.9999).

References
----------
Ho, Jain & Abbeel (2020), "Denoising Diffusion Probabilistic Models", Algorithm 1.
Lipman et al. (2023), "Flow Matching for Generative Modeling", ICLR.
Liu, Gong & Liu (2023), "Flow Straight and Fast", ICLR.
Ho & Salimans (2022), "Classifier-Free Diffusion Guidance", Algorithm 1 (label dropout).
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from aigc_course import _check
from aigc_course._check import (
    check_choice,
    check_count,
    check_finite,
    check_module,
    check_real,
    check_tensor,
)
from aigc_course.losses.diffusion import epsilon_loss, flow_matching_loss
from aigc_course.sampling.diffusion import _draw
from aigc_course.sampling.schedules import (
    NoiseSchedule,
    cosine_schedule,
    linear_schedule,
)
from aigc_course.train.config import RunConfig, TrainResult
from aigc_course.train.core import Loop, OnStep
from aigc_course.train.ema import ema_copy, ema_update_

__all__ = [
    "DiffusionResult",
    "DiffusionTrainConfig",
    "OBJECTIVES",
    "diffusion_step",
    "make_schedule",
    "train_diffusion",
]

OBJECTIVES = ("eps", "flow_matching")
r"""Training objectives: DDPM's noise prediction, or flow matching's velocity ("flow" is the
deprecated name of "flow_matching")."""


def _drop_labels(model, labels, p_uncond, generator):
    if labels is None or p_uncond == 0:
        return labels
    null = getattr(model, "null_label", None)
    if null is None:
        raise ValueError(
            "p_uncond > 0 replaces labels by the model's null label, but the model "
            "has none: "
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
        L = \bigl\|\epsilon - \epsilon_\theta(\sqrt{\bar\alpha_t} x_0
        + \sqrt{1-\bar\alpha_t}\, \epsilon,\ t/T,\ y)\bigr\|^2

    ``objective="flow_matching"`` (Lipman et al., 2023; data at t = 0, noise at t = 1):

    .. math::

        t \sim U[0, 1],\ x_1 \sim \mathcal N(0, I), \qquad
        L = \bigl\|v_\theta((1-t) x_0 + t x_1,\ t,\ y) - (x_1 - x_0)\bigr\|^2

    Both losses are means over every element. With labels, each is replaced by the
    model's ``null_label`` with probability ``p_uncond`` before the forward pass.

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
        Required for ``"eps"``, on ``x0``'s device; ignored by ``"flow_matching"``.
    generator : torch.Generator or None
        Source of t, the noise and the label dropout (on any device).
    objective : {"eps", "flow_matching"}
    p_uncond : float
        Label-dropout probability in [0, 1) (0.1 in Ho & Salimans, 2022).

    The arguments are checked once by :func:`train_diffusion`, not here, in every step.

    Returns
    -------
    dict
        ``{"loss": 0-d tensor}``, detached, on ``x0``'s device (no host
        synchronisation).

    References
    ----------
    Ho et al. (2020), Algorithm 1; Lipman et al. (2023), Algorithm 1; Ho & Salimans
    (2022), Algorithm 1.
    """
    if not isinstance(x0, torch.Tensor) or x0.ndim < 2:
        raise TypeError(
            "x0 must be a torch.Tensor of shape (B, ...), with a batch axis"
        )
    batch, device = x0.shape[0], x0.device
    labels = _drop_labels(model, labels, p_uncond, generator)
    noise = _draw(torch.randn, x0.shape, generator, device, dtype=x0.dtype)
    if objective == "eps":
        t = _draw(torch.randint, (1, schedule.T + 1, (batch,)), generator, device)
        loss = epsilon_loss(model, x0, t, noise, schedule, labels, validate=False)
    else:
        t = _draw(torch.rand, (batch,), generator, device, dtype=x0.dtype)
        loss = flow_matching_loss(model, x0, t, noise, labels, validate=False)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return {"loss": loss.detach()}


# ---------------------------------------------------------------------------- the loop

SCHEDULES = ("linear", "cosine")
_STREAM_KEYS = (
    "seed",
    "batch_size",
    "objective",
    "T",
    "schedule",
    "p_uncond",
    "ema_decay",
)


@dataclass(frozen=True, kw_only=True)
class DiffusionTrainConfig(RunConfig):
    r"""Settings of :func:`train_diffusion`.

    The run settings are those of :class:`~aigc_course.train.config.RunConfig` (``batch_size``
    128, the last incomplete batch of an epoch dropped; ``device`` None: the best available;
    ``log_every`` 10).

    Attributes
    ----------
    steps : int
        Optimiser steps (an upper bound when ``max_seconds`` is set), counting those of
        a resumed run.
    lr : float
        Adam learning rate.
    objective : {"flow_matching", "eps"}
        Flow matching (velocity) or DDPM (noise prediction); see :func:`diffusion_step`.
        ``"flow"`` is accepted with a FutureWarning and read as ``"flow_matching"``.
    T : int
        Diffusion steps of the noise schedule (``"eps"`` only).
    schedule : {"linear", "cosine"}
        The noise schedule (``"eps"`` only), built by :func:`~aigc_course.train.diffusion.make_schedule`.
    p_uncond : float
        Label-dropout probability in [0, 1) for classifier-free guidance (used with
        labels).
    ema_decay : float or None
        Decay in [0, 1) of the weight average (:attr:`DiffusionResult.ema_model`),
        reached after a warm-up (:func:`~aigc_course.train.ema.warmed_up_decay`); None: no average.
    grad_clip : float or None
        Clip the gradient norm to this value before each step; None: no clipping.
    """

    steps: int = 2000
    lr: float = 1e-3
    objective: str = "flow_matching"
    T: int = 1000  # noqa: N815 (the papers' name)
    schedule: str = "linear"
    p_uncond: float = 0.1
    ema_decay: float | None = 0.999
    grad_clip: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "DiffusionTrainConfig"
        check_count(self.steps, f"{owner}.steps", minimum=0)
        check_count(self.T, f"{owner}.T")
        check_real(self.lr, f"{owner}.lr", low=0.0, low_open=True)
        if self.grad_clip is not None:
            check_real(self.grad_clip, f"{owner}.grad_clip", low=0.0, low_open=True)
        if self.objective == "flow":
            warnings.warn(
                f'{owner}.objective="flow" is deprecated: use "flow_matching" (the same '
                "objective; the name says which flow)",
                FutureWarning,
                stacklevel=3,
            )
            object.__setattr__(self, "objective", "flow_matching")
        check_choice(self.objective, f"{owner}.objective", OBJECTIVES)
        check_choice(self.schedule, f"{owner}.schedule", SCHEDULES)
        check_real(
            self.p_uncond, f"{owner}.p_uncond", low=0.0, high=1.0, high_open=True
        )
        if self.ema_decay is not None:
            check_real(
                self.ema_decay, f"{owner}.ema_decay", low=0.0, high=1.0, high_open=True
            )


def make_schedule(cfg: DiffusionTrainConfig) -> NoiseSchedule:
    r"""The config's schedule: ``linear_schedule(T)`` or ``cosine_schedule(T)``."""
    if not isinstance(cfg, DiffusionTrainConfig):
        raise TypeError(f"cfg must be a DiffusionTrainConfig, got {type(cfg).__name__}")
    return (
        linear_schedule(cfg.T) if cfg.schedule == "linear" else cosine_schedule(cfg.T)
    )


@dataclass(frozen=True, kw_only=True)
class DiffusionResult(TrainResult):
    r"""What :func:`train_diffusion` returns: :class:`~aigc_course.train.config.TrainResult` and

    Attributes
    ----------
    model : nn.Module
        The trained network (train mode), on the training device.
    ema_model : nn.Module or None
        With ``cfg.ema_decay``: a copy in eval mode holding the moving average of the
        weights; sample from it.
    schedule : NoiseSchedule or None
        The noise schedule (``"eps"``), for the samplers; None for flow matching.
    """

    model: nn.Module
    ema_model: nn.Module | None = None
    schedule: NoiseSchedule | None = None

    @property
    def sampling_model(self) -> nn.Module:
        r"""The EMA model if there is one, else the trained model; in eval mode."""
        return (self.ema_model if self.ema_model is not None else self.model).eval()


def _check_model(model: object) -> nn.Module:
    check_module(model, "model")
    try:
        inspect.signature(model.forward).bind(None, None, None)
    except TypeError:
        raise TypeError(
            f"model must be called as model(x, time, labels), but {type(model).__name__}."
            f"forward{inspect.signature(model.forward)} is not: use a denoiser such as "
            "aigc_course.models.MLPDenoiser or UNet"
        ) from None
    return model


def _check_data(model: nn.Module, data: object, labels: object, cfg) -> int | None:
    check_tensor(data, "data", floating=True, shape_hint="(N, ...) training examples")
    if data.ndim < 2 or data.shape[0] < cfg.batch_size:
        raise ValueError(
            f"data has shape {tuple(data.shape)}: it needs a batch axis and at least "
            f"cfg.batch_size={cfg.batch_size} examples; lower batch_size"
        )
    check_finite(data, "data")
    if labels is None:
        return None
    n_classes = getattr(model, "n_classes", None)
    if n_classes is None:
        raise ValueError(
            "labels were given but the model is unconditional (n_classes=None): "
            "build it with n_classes=K, or drop labels="
        )
    # [0, K): the null label K is added by label dropout, not by the data.
    _check.check_labels(labels, "labels", n_classes, batch=data.shape[0])
    return n_classes


def train_diffusion(
    model: nn.Module,
    data: torch.Tensor,
    cfg: DiffusionTrainConfig,
    *,
    labels: torch.Tensor | None = None,
    on_step: OnStep | None = None,
    resume: bool = False,
    history: dict[str, list[float]] | None = None,
) -> DiffusionResult:
    r"""Train a denoiser by DDPM or flow matching: diffusion_step in the core loop.

    Each step takes the next mini-batch (seeded order, epoch after epoch), then
    :func:`diffusion_step` with ``cfg.objective``; with ``cfg.ema_decay`` the average
    :math:`\bar\theta \leftarrow \lambda_n \bar\theta + (1 - \lambda_n)\theta` follows
    every step, :math:`\lambda_n` = :func:`~aigc_course.train.ema.warmed_up_decay` ``(cfg.ema_decay, n)``.

    Parameters
    ----------
    model : nn.Module
        ``model(x, time, labels)``, e.g. :class:`~aigc_course.models.unet.UNet`; moved
        to the device and trained in place.
    data : torch.Tensor
        (N, ...) float training examples (images in [-1, 1], points, latent codes).
    cfg : DiffusionTrainConfig
    labels : torch.Tensor, optional
        (N,) int64 class labels for a class-conditional model (``model.n_classes`` set).
    on_step : callable, optional
        ``on_step(step, state) -> bool | None``; True stops after that step.
    resume : bool
        Continue from ``cfg.checkpoint_path`` if it exists; resumed runs equal
        uninterrupted ones bit for bit on the same machine.
    history : dict, optional
        A dict to append the per-step losses to.

    Returns
    -------
    DiffusionResult

    Raises
    ------
    aigc_course.train.errors.TrainingDiverged
        When the loss becomes NaN or infinite.

    References
    ----------
    Ho et al. (2020), Algorithm 1 and App. B (EMA); Lipman et al. (2023); Ho & Salimans
    (2022).
    """
    if not isinstance(cfg, DiffusionTrainConfig):
        raise TypeError(f"cfg must be a DiffusionTrainConfig, got {type(cfg).__name__}")
    n_classes = _check_data(_check_model(model), data, labels, cfg)
    opt = torch.optim.Adam(model.train().parameters(), lr=cfg.lr)
    ema = None if cfg.ema_decay is None else ema_copy(model)
    rng = torch.Generator().manual_seed(cfg.seed)
    hint = f"lower cfg.lr (now {cfg.lr}) or set cfg.grad_clip"
    loop = Loop.start(
        "diffusion",
        cfg,
        models={"model": model} | ({"ema_model": ema} if ema is not None else {}),
        optimizers={"opt": opt},
        keys=("loss",),
        hints={"loss": ("the diffusion loss", hint)},
        total=cfg.steps,
        data=(data, labels),
        stream_keys=_STREAM_KEYS,
        settings={"n_classes": n_classes},
        rngs={"noise": rng},
        history=history,
        resume=resume,
        ddp=False,  # diffusion_step reads model.null_label, which a DDP wrapper hides
    )
    schedule = make_schedule(cfg).to(loop.device) if cfg.objective == "eps" else None
    if cfg.grad_clip is not None:
        opt.register_step_pre_hook(lambda o, args, kwargs: _clip(o, cfg.grad_clip))
    for step in loop.steps(on_step):
        x0, *y = next(loop.stream)
        y = y[0] if y else None
        loop.record(
            diffusion_step(
                model, opt, x0, y, schedule, rng, cfg.objective, p_uncond=cfg.p_uncond
            )
        )
        if ema is not None:
            ema_update_(ema, model, cfg.ema_decay, step=step)  # warmed-up decay
    return DiffusionResult(
        model=model, ema_model=ema, schedule=schedule, **loop.summary()
    )


def _clip(optimizer: torch.optim.Optimizer, max_norm: float) -> None:
    params = [p for group in optimizer.param_groups for p in group["params"]]
    torch.nn.utils.clip_grad_norm_(params, max_norm)
