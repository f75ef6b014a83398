r"""Maximum-likelihood training of a normalizing flow through the loop core.

Each step (:func:`normalizing_flow_step`) maps a batch to the base, :math:`z = f(x)` with its
log-determinant, and descends the exact negative log-likelihood in nats per example. Images
stored as 8-bit intensities in [0, 1] are dequantised afresh every step (uniform noise from the
loop's seeded, checkpointed generator), so the flow fits a density on [0, 1) whose NLL plus
:math:`D \log 256` bounds the discrete one (:func:`aigc_course.metrics.dequantized_bits_per_dim`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from aigc_course._check import (
    check_choice,
    check_count,
    check_finite,
    check_module,
    check_real,
    check_tensor,
)
from aigc_course.data.batching import num_batches
from aigc_course.data.transforms import check_on_grid, dequantize_unit
from aigc_course.models.normalizing_flow import standard_normal_log_prob
from aigc_course.train.config import RunConfig, TrainResult
from aigc_course.train.core import Loop, OnStep
from aigc_course.train.schedules import LR_SCHEDULES, lr_factor

__all__ = [
    "NORMALIZING_FLOW_HISTORY_KEYS",
    "NormalizingFlowResult",
    "NormalizingFlowTrainConfig",
    "normalizing_flow_step",
    "train_normalizing_flow",
]

NORMALIZING_FLOW_HISTORY_KEYS = ("log_det", "nll")
r"""History keys: the batch mean of :math:`\log|\det J|` and the NLL, both nats per example.

``log_det`` comes first, so a non-finite log-determinant is named as the cause."""

_STREAM_KEYS = ("seed", "batch_size", "dequantize_levels")


@dataclass(frozen=True, kw_only=True)
class NormalizingFlowTrainConfig(RunConfig):
    r"""Settings of :func:`train_normalizing_flow` (the run settings come from :class:`RunConfig`).

    Attributes
    ----------
    epochs : int
        Passes over the training data (an upper bound when ``max_seconds`` is set).
    lr : float
        Adam learning rate.
    dequantize_levels : int or None
        L for data stored as L-level intensities :math:`k / (L - 1)` in [0, 1] (256 for 8-bit
        images): every step trains on :math:`(k + u) / L`, :math:`u \sim \mathcal U[0, 1)`.
        None for continuous data (the 2-D toys).
    max_grad_norm : float or None
        Clip the gradient's global norm to this (coupling flows on images can spike early);
        None does not clip.
    lr_schedule : {"constant", "cosine"}
        ``"cosine"`` decays the rate to 0 over the run, steps or ``max_seconds``, whichever
        ends it (:func:`~aigc_course.train.schedules.cosine_factor`); a sharp density
        needs the small final steps.
    """

    epochs: int = 10
    device: str | None = "cpu"
    lr: float = 1e-3
    dequantize_levels: int | None = None
    max_grad_norm: float | None = None
    lr_schedule: str = "constant"

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = type(self).__name__
        check_count(self.epochs, f"{owner}.epochs")
        check_real(self.lr, f"{owner}.lr", low=0.0, low_open=True)
        check_choice(self.lr_schedule, f"{owner}.lr_schedule", LR_SCHEDULES)
        if self.dequantize_levels is not None:
            check_count(self.dequantize_levels, f"{owner}.dequantize_levels", minimum=2)
        if self.max_grad_norm is not None:
            check_real(
                self.max_grad_norm, f"{owner}.max_grad_norm", low=0.0, low_open=True
            )


@dataclass(frozen=True, kw_only=True)
class NormalizingFlowResult(TrainResult):
    r"""What :func:`train_normalizing_flow` returns: the trained ``model`` and the run's record.

    ``history["nll"]`` is the training NLL in nats per example (of the dequantised density on
    [0, 1) for images), ``history["log_det"]`` the mean :math:`\log|\det J|`.
    """

    model: nn.Module | None = None


def normalizing_flow_step(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    max_grad_norm: float | None = None,
) -> dict[str, torch.Tensor]:
    r"""One Adam step on a batch's exact negative log-likelihood (change of variables), in nats.

    .. math::

        L = -\frac1B \sum_b \Bigl[\log \mathcal N\bigl(f(x_b); 0, I\bigr)
            + \log\bigl|\det J_f(x_b)\bigr|\Bigr]

    Returns the detached losses (no host sync): ``{"log_det": ..., "nll": ...}``.
    """
    z, log_det = model(x)
    nll = -(standard_normal_log_prob(z) + log_det).mean()
    opt.zero_grad(set_to_none=True)
    nll.backward()
    if max_grad_norm is not None:
        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    opt.step()
    return {"log_det": log_det.detach().mean(), "nll": nll.detach()}


def train_normalizing_flow(
    model: nn.Module,
    data: torch.Tensor,
    cfg: NormalizingFlowTrainConfig,
    *,
    history: dict[str, list[float]] | None = None,
    resume: bool = False,
    on_step: OnStep | None = None,
) -> NormalizingFlowResult:
    r"""Fit a normalizing flow by maximum likelihood with Adam (each step: :func:`normalizing_flow_step`).

    .. math:: \mathcal L(\theta) = -\frac1B \sum_b \log p_\theta(x_b),
              \qquad x_b = (k_b + u_b) / L \text{ when dequantising}

    Parameters
    ----------
    model : torch.nn.Module
        A flow whose ``forward(x)`` returns ``(z, log_det)``, like
        :class:`aigc_course.models.normalizing_flow.NormalizingFlow`.
    data : torch.Tensor
        (N, \*data_shape) float examples: continuous data, or with ``cfg.dequantize_levels``
        L-level intensities in [0, 1] (:func:`aigc_course.data.to_unit` of 8-bit images).
        Checked once here (NaN/Inf, and range and grid when dequantising).
    cfg : NormalizingFlowTrainConfig
    history : dict, optional
        A dict to append the per-step records to (:data:`NORMALIZING_FLOW_HISTORY_KEYS`).
    resume : bool
        Continue from ``cfg.checkpoint_path`` if it exists (validated first; the dequantisation
        noise generator is restored too, so a resumed run is bit-identical to an uninterrupted
        one).
    on_step : callable, optional
        ``on_step(step, state)`` after every step; returning ``True`` stops training there.

    Returns
    -------
    NormalizingFlowResult

    Raises
    ------
    TrainingDiverged
        (a ``FloatingPointError``) when the log-determinant, the NLL, a weight or an Adam
        moment becomes NaN or infinite; names the step, and no checkpoint with non-finite
        state is written.

    References
    ----------
    Dinh, Sohl-Dickstein & Bengio (2017), "Density estimation using Real NVP", ICLR;
    Theis, van den Oord & Bethge (2016), ICLR (dequantisation); Kingma & Ba (2015), Adam.
    """
    if not isinstance(cfg, NormalizingFlowTrainConfig):
        raise TypeError(
            f"cfg must be a NormalizingFlowTrainConfig, got {type(cfg).__name__}"
        )
    check_module(model, "model")
    check_tensor(data, "data", floating=True, shape_hint="(N, *data_shape)")
    levels = cfg.dequantize_levels
    if levels is None:
        check_finite(data, "data")
    else:
        check_on_grid(data, "data", levels)
    opt = torch.optim.Adam(model.train().parameters(), lr=cfg.lr)
    rng = torch.Generator().manual_seed(cfg.seed)
    per_epoch = num_batches(data.shape[0], cfg.batch_size)
    hint = f"lower cfg.lr (now {cfg.lr}) or set cfg.max_grad_norm"
    loop = Loop.start(
        "normalizing flow",
        cfg,
        models={"model": model},
        optimizers={"opt": opt},
        keys=NORMALIZING_FLOW_HISTORY_KEYS,
        hints={
            "log_det": ("log|det J|", hint),
            "nll": ("negative log-likelihood", hint),
        },
        total=cfg.epochs * per_epoch,
        data=(data,),
        drop_last=False,
        stream_keys=_STREAM_KEYS,
        rngs={"dequantization": rng},
        history=history,
        resume=resume,
        ddp=False,  # the step calls the flow itself; every rank fits the whole batch
        limit=f"cfg.epochs={cfg.epochs} ({cfg.epochs * per_epoch} steps)",
    )
    for (x,) in loop.batches(on_step):
        if cfg.lr_schedule != "constant":
            loop.set_lr(opt, cfg.lr * lr_factor(cfg.lr_schedule, loop.fraction_done))
        if levels is not None:
            noise = torch.rand(x.shape, generator=rng, dtype=x.dtype).to(loop.device)
            x = dequantize_unit(x, levels=levels, noise=noise, validate=False)
        loop.record(normalizing_flow_step(model, opt, x, cfg.max_grad_norm))
    return NormalizingFlowResult(model=model, **loop.summary())
