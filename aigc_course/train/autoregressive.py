r"""Train an autoregressive model (MADE, PixelCNN, a causal transformer) by maximum likelihood.

Every such model offers ``conditional_log_probs(x) -> (B, D)``, the chain-rule terms
:math:`\log p(x_d \mid x_{<d})`; one update descends their mean, the negative log-likelihood in
nats per dimension (per pixel or per token). :func:`train_autoregressive` runs
:func:`autoregressive_step` in the loop core, :class:`aigc_course.train.core.Loop`: seeded
batches, time budget, ``on_step``, checkpoints and bit-identical resume. Binary images can be
binarised afresh in every batch (``dynamic_binarization``, the protocol of the VAE chapter:
:math:`x \sim \mathrm{Bernoulli}(\text{grey})` per use), the draws coming from one
checkpointed generator.

References
----------
Larochelle & Murray, "The neural autoregressive distribution estimator", AISTATS 2011.
Loshchilov & Hutter, "Decoupled weight decay regularization" (AdamW), ICLR 2019.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from aigc_course._check import (
    check_binary,
    check_bool,
    check_choice,
    check_count,
    check_module,
    check_range,
    check_real,
    check_tensor,
    check_tokens,
)
from aigc_course.models.autoregressive import MADEConfig, PixelCNNConfig
from aigc_course.runtime import get_device
from aigc_course.train.config import RunConfig, TrainResult
from aigc_course.train.core import Loop, OnStep
from aigc_course.train.schedules import LR_SCHEDULES, cosine_factor

__all__ = [
    "AR_HISTORY_KEYS",
    "AutoregressiveResult",
    "AutoregressiveTrainConfig",
    "BinarizedMNISTRecipe",
    "MADE_RECIPE",
    "PIXELCNN_RECIPE",
    "autoregressive_step",
    "train_autoregressive",
]

AR_HISTORY_KEYS = ("nll",)
r"""Per-step record of :func:`train_autoregressive`: the batch NLL in nats per dimension."""

_STREAM_KEYS = ("seed", "batch_size", "dynamic_binarization")


@dataclass(frozen=True, kw_only=True)
class AutoregressiveTrainConfig(RunConfig):
    r"""Settings of :func:`train_autoregressive`; the run settings are :class:`~aigc_course.train.config.RunConfig`'s.

    Attributes
    ----------
    steps : int
        AdamW steps (an upper bound when ``max_seconds`` is set).
    lr : float
        Learning rate.
    weight_decay : float
        AdamW's decoupled weight decay.
    grad_clip : float or None
        Clip the gradients' global norm to this value.
    lr_schedule : {"constant", "cosine"}
        ``"cosine"`` decays the rate to 0 over the run
        (:func:`~aigc_course.train.schedules.cosine_factor`).
    dynamic_binarization : bool
        The data are grey images in [0, 1]; every batch is drawn afresh,
        :math:`x \sim \mathrm{Bernoulli}(\text{grey})`.
    """

    steps: int = 1000
    device: str | None = "cpu"
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = 1.0
    lr_schedule: str = "constant"
    dynamic_binarization: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "AutoregressiveTrainConfig"
        check_count(self.steps, f"{owner}.steps")
        check_real(self.lr, f"{owner}.lr", low=0.0, low_open=True)
        check_real(self.weight_decay, f"{owner}.weight_decay", low=0.0)
        if self.grad_clip is not None:
            check_real(self.grad_clip, f"{owner}.grad_clip", low=0.0, low_open=True)
        check_choice(self.lr_schedule, f"{owner}.lr_schedule", LR_SCHEDULES)
        check_bool(self.dynamic_binarization, f"{owner}.dynamic_binarization")


@dataclass(frozen=True)
class BinarizedMNISTRecipe:
    r"""A masked autoregressive model's architecture and training settings on binarised MNIST.

    The chapters that score these models (the autoregressive chapter, and the normalizing-flows
    chapter's likelihood table) build them from the same recipe, so their numbers are the same
    model's: ``MADE(recipe.model)`` or ``PixelCNN(recipe.model)``, trained by
    ``train_autoregressive(model, images, replace(recipe.train, seed=...))``.
    """

    model: MADEConfig | PixelCNNConfig
    train: AutoregressiveTrainConfig


MADE_RECIPE = BinarizedMNISTRecipe(
    MADEConfig(hidden=(1000,)),
    AutoregressiveTrainConfig(
        steps=1500, max_seconds=45, batch_size=64, lr=2e-3, lr_schedule="cosine",
        dynamic_binarization=True, progress=False,
    ),
)  # fmt: skip
"""MADE with one hidden layer of 1,000 units and one fixed mask (Germain et al. 2015), 45 s of AdamW."""

PIXELCNN_RECIPE = BinarizedMNISTRecipe(
    PixelCNNConfig(channels=32, n_layers=4),
    AutoregressiveTrainConfig(
        steps=400, max_seconds=90, batch_size=64, lr=3e-3, lr_schedule="cosine",
        dynamic_binarization=True, progress=False,
    ),
)  # fmt: skip
"""A small PixelCNN, one 7x7 mask-A and four 3x3 mask-B layers of 32 channels, 90 s of AdamW."""


@dataclass(frozen=True, kw_only=True)
class AutoregressiveResult(TrainResult):
    r"""What :func:`train_autoregressive` returns: :class:`~aigc_course.train.config.TrainResult` and ``model`` (trained in
    place)."""

    model: nn.Module


def autoregressive_step(model, opt, x, *, grad_clip=None):
    r"""One step on the mean negative log-likelihood per dimension of a batch, in nats.

    .. math:: L = -\frac{1}{BD} \sum_{b=1}^{B} \sum_{d=1}^{D} \log p_\theta(x_{b,d} \mid x_{b,<d})
    """
    loss = -model.conditional_log_probs(x, validate=False).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip is not None:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    return {"nll": loss.detach()}


def train_autoregressive(
    model: nn.Module,
    data: torch.Tensor,
    cfg: AutoregressiveTrainConfig,
    *,
    history: dict[str, list[float]] | None = None,
    resume: bool = False,
    on_step: OnStep | None = None,
) -> AutoregressiveResult:
    r"""Fit ``model`` by minimising the NLL per dimension with AdamW (:func:`autoregressive_step`).

    .. math:: \min_\theta\; -\frac{1}{BD} \sum_{b,d} \log p_\theta(x_{b,d} \mid x_{b,<d})

    Parameters
    ----------
    model : nn.Module
        With ``conditional_log_probs(x, validate=...) -> (B, D)``: :class:`~aigc_course.models.autoregressive.MADE`,
        :class:`~aigc_course.models.autoregressive.PixelCNN`,
        :class:`~aigc_course.models.transformer.CausalTransformer`.
    data : tensor
        (N, 1, H, W) binary images (grey images in [0, 1] with ``dynamic_binarization``), or
        (N, T) int64 token windows (:func:`~aigc_course.data.poems.token_windows`). Checked
        once before the first step: one batch through the model's own checks, the values of
        all of it by one reduction (binary pixels, token ids below ``model.cfg.vocab_size``).
    cfg : AutoregressiveTrainConfig
    history : dict, optional
        A dict to append the per-step records to (lists keyed by :data:`AR_HISTORY_KEYS`).
    resume : bool
        Continue from ``cfg.checkpoint_path`` if that file exists (validated before loading).
    on_step : callable, optional
        ``on_step(step, state)`` after every step; returning ``True`` stops training there.

    Returns
    -------
    AutoregressiveResult

    Raises
    ------
    TrainingDiverged
        (a ``FloatingPointError``) when the loss, a weight or an optimiser moment becomes NaN
        or infinite; names the step.

    Notes
    -----
    The dropout masks come from the torch generator of the training device, checkpointed with
    the data stream, so a resumed run repeats an uninterrupted one bit for bit on one device.
    Every process trains on the whole batch under ``torchrun`` (``ddp=False``: the step calls
    the model's own ``conditional_log_probs``).
    """
    if not isinstance(cfg, AutoregressiveTrainConfig):
        raise TypeError(
            f"cfg must be an AutoregressiveTrainConfig, got {type(cfg).__name__}"
        )
    check_module(model, "model", "conditional_log_probs")
    _check_data(model, data, cfg)
    device = get_device(cfg.device)
    binarize = torch.Generator().manual_seed(cfg.seed)
    dropout = torch.default_generator if device.type == "cpu" else None
    if device.type == "cuda":
        dropout = torch.cuda.default_generators[device.index or 0]
    opt = torch.optim.AdamW(
        model.train().parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay
    )
    loop = Loop.start(
        "autoregressive",
        cfg,
        models={"model": model},
        optimizers={"opt": opt},
        keys=AR_HISTORY_KEYS,
        hints={"nll": ("negative log-likelihood", f"lower cfg.lr (now {cfg.lr})")},
        total=cfg.steps,
        data=(data,),
        stream_keys=_STREAM_KEYS,
        rngs={"binarize": binarize}
        | ({"dropout": dropout} if dropout is not None else {}),
        history=history,
        resume=resume,
        limit=f"cfg.steps={cfg.steps}",
        ddp=False,
    )
    for (x,) in loop.batches(on_step):
        if cfg.lr_schedule == "cosine":
            loop.set_lr(opt, cfg.lr * cosine_factor(loop.fraction_done))
        if (
            cfg.dynamic_binarization
        ):  # a fresh draw per use, from the checkpointed generator
            x = (torch.rand(x.shape, generator=binarize).to(x.device) < x).to(x.dtype)
        loop.record(autoregressive_step(model, opt, x, grad_clip=cfg.grad_clip))
    return AutoregressiveResult(model=model, **loop.summary())


def _check_data(model: nn.Module, data: object, cfg: AutoregressiveTrainConfig) -> None:
    r"""Check ``data`` once: one batch through the model's own checks (shapes, dtypes), then the
    values of all of it with one reduction each (no forward pass over the whole data)."""
    check_tensor(data, "data", shape_hint="(N, 1, H, W) images or (N, T) int64 tokens")
    device = next(model.parameters()).device
    if cfg.dynamic_binarization:
        check_tensor(
            data, "data", ndim=4, floating=True, shape_hint="(N, 1, H, W) grey images"
        )
        check_range(
            data, "data (dynamic_binarization draws pixels from grey values)", 0.0, 1.0
        )
        first = torch.zeros_like(data[: cfg.batch_size])
    else:
        first = data[: cfg.batch_size]
    with torch.no_grad():
        model.conditional_log_probs(first.to(device), validate=True)
    if cfg.dynamic_binarization:
        return
    if data.is_floating_point():
        check_binary(data, "data", shape_hint="(N, 1, H, W) binary images")
    vocab_size = getattr(getattr(model, "cfg", None), "vocab_size", None)
    if data.dtype == torch.long and vocab_size is not None:
        check_tokens(data, "data", vocab_size)
