r"""Maximum-likelihood training by gradient descent, for any model with a ``log_prob`` method."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch
from torch import nn

from aigc_course._check import check_count, check_module, check_real, check_tensor
from aigc_course.data.batching import num_batches
from aigc_course.train.config import RunConfig
from aigc_course.train.core import Loop, OnStep

__all__ = [
    "LikelihoodHistory",
    "LikelihoodTrainConfig",
    "likelihood_step",
    "train_likelihood",
]


@dataclass(frozen=True, kw_only=True)
class LikelihoodTrainConfig(RunConfig):
    r"""Settings of :func:`train_likelihood`.

    The run settings are those of :class:`~aigc_course.train.config.RunConfig` (``batch_size``
    128: examples per gradient step; ``seed``: the mini-batch order); here ``device`` defaults
    to ``"cpu"``.

    Attributes
    ----------
    epochs : int
        Passes over the training data (an upper bound when ``max_seconds`` is set).
    lr : float
        Adam learning rate.
    """

    epochs: int = 5
    device: str | None = "cpu"
    lr: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        check_count(self.epochs, "LikelihoodTrainConfig.epochs")
        check_real(self.lr, "LikelihoodTrainConfig.lr", low=0.0, low_open=True)


class LikelihoodHistory(list):
    r"""The per-step losses of :func:`train_likelihood` (a ``list`` of float), plus ``seconds``
    (training wall-clock time) and ``stopped_by`` (``"steps"``, ``"max_seconds"`` or ``"on_step"``).
    """

    seconds: float = 0.0
    stopped_by: str = "steps"


def likelihood_step(model, opt, x, **log_prob_kwargs):
    r"""One Adam step on the mean negative log-likelihood of a batch, in nats.

    .. math:: L = -\frac1B \sum_b \log p_\theta(x_b)
    """
    loss = -model.log_prob(x, **log_prob_kwargs).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return {"nll": loss.detach()}


def train_likelihood(
    model: nn.Module,
    data: torch.Tensor,
    cfg: LikelihoodTrainConfig,
    *,
    on_step: OnStep | None = None,
) -> LikelihoodHistory:
    r"""Fit ``model`` by minimising the mean negative log-likelihood (nats per example) with Adam.

    .. math:: \mathcal L(\theta) = -\frac1B \sum_{b=1}^{B} \log p_\theta(x_b)

    Each step is :func:`likelihood_step`. A model whose ``log_prob`` takes a ``validate``
    keyword (e.g. :class:`~aigc_course.models.baselines.PixelBernoulli`) has all of ``data``
    checked once, before training, and is called with ``validate=False`` in every step, so
    steps read nothing back from the device.

    Parameters
    ----------
    model : nn.Module
        Any model with ``log_prob(x) -> (B,)`` in nats.
    data : tensor (N, ...)
        Training examples in the form ``model.log_prob`` expects.
    cfg : LikelihoodTrainConfig
    on_step : callable, optional
        ``on_step(step, state)`` after every step; returning ``True`` stops training there.

    Returns
    -------
    LikelihoodHistory
        A list: the mini-batch loss after every step, in nats per example.

    Raises
    ------
    TrainingDiverged
        (a ``FloatingPointError``) when the loss becomes NaN or infinite; names the step.

    References
    ----------
    Kingma & Ba, "Adam: A method for stochastic optimization", ICLR 2015.
    """
    if not isinstance(cfg, LikelihoodTrainConfig):
        raise TypeError(
            f"cfg must be a LikelihoodTrainConfig, got {type(cfg).__name__}"
        )
    check_module(model, "model", "log_prob")
    check_tensor(data, "data", shape_hint="(N, ...), one example per row")
    step_kwargs = _check_once(model, data, cfg.batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loop = Loop.start(
        "max-likelihood",
        cfg,
        models={"model": model},
        optimizers={"opt": opt},
        keys=("nll",),
        hints={"nll": ("loss", f"lower cfg.lr (now {cfg.lr})")},
        total=cfg.epochs * num_batches(len(data), cfg.batch_size),
        data=(data,),
        drop_last=False,
        ddp=False,  # log_prob is a method a DDP wrapper hides: every rank fits the whole batch
    )
    for (x,) in loop.batches(on_step):
        loop.record(likelihood_step(model, opt, x, **step_kwargs))
    history = LikelihoodHistory(loop.history["nll"])
    history.seconds, history.stopped_by = loop.seconds, loop.stopped_by
    return history


def _check_once(model: nn.Module, data: torch.Tensor, batch_size: int) -> dict:
    r"""Validate all of ``data`` through ``model.log_prob`` if it can skip checks later.

    Returns the keyword arguments of every training step: ``{"validate": False}`` after the
    check, or ``{}`` for a model whose ``log_prob`` has no ``validate`` keyword.
    """
    if "validate" not in inspect.signature(model.log_prob).parameters:
        return {}
    with torch.no_grad():
        for chunk in data.split(batch_size):
            model.log_prob(chunk, validate=True)
    return {"validate": False}
