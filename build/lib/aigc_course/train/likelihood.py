r"""Maximum-likelihood training by gradient descent, for any model with a ``log_prob`` method."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm

from aigc_course.data.batching import iterate_batches
from aigc_course.train.errors import TrainingDiverged


@dataclass(frozen=True)
class LikelihoodTrainConfig:
    r"""Settings of :func:`train_likelihood`.

    Attributes
    ----------
    epochs : int
        Passes over the training data.
    batch_size : int
        Examples per gradient step.
    lr : float
        Adam learning rate.
    seed : int
        Seed of the mini-batch order.
    progress : bool
        Show a ``tqdm`` progress bar.
    """

    epochs: int = 5
    batch_size: int = 128
    lr: float = 0.05
    seed: int = 0
    progress: bool = True


def train_likelihood(
    model: nn.Module, data: torch.Tensor, cfg: LikelihoodTrainConfig
) -> list[float]:
    r"""Fit ``model`` by minimising the mean negative log-likelihood (nats per example) with Adam.

    .. math:: \mathcal L(\theta) = -\frac1B \sum_{b=1}^{B} \log p_\theta(x_b)

    Parameters
    ----------
    model : nn.Module
        Any model with ``log_prob(x) -> (B,)`` in nats.
    data : tensor (N, ...)
        Training examples in the form ``model.log_prob`` expects.
    cfg : LikelihoodTrainConfig

    Returns
    -------
    list of float
        The mini-batch loss after every step, in nats per example.

    Raises
    ------
    TrainingDiverged
        (a ``FloatingPointError``) when the loss becomes NaN or infinite; names the step.

    References
    ----------
    Kingma & Ba, "Adam: A method for stochastic optimization", ICLR 2015.
    """
    if not hasattr(model, "log_prob"):
        raise TypeError(
            f"{type(model).__name__} has no log_prob method; train_likelihood needs one"
        )
    if cfg.epochs < 1 or cfg.batch_size < 1 or not cfg.lr > 0:
        raise ValueError(f"epochs, batch_size and lr must be positive, got {cfg}")
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    history: list[float] = []
    steps_per_epoch = math.ceil(len(data) / cfg.batch_size)
    with tqdm(
        total=cfg.epochs * steps_per_epoch, disable=not cfg.progress, desc="max-likelihood"
    ) as bar:
        for epoch in range(cfg.epochs):
            for (batch,) in iterate_batches(
                data, batch_size=cfg.batch_size, seed=cfg.seed, epoch=epoch
            ):
                loss = -model.log_prob(batch).mean()
                if not torch.isfinite(loss):
                    raise TrainingDiverged(
                        len(history), "loss", loss.item(), f"lower cfg.lr (now {cfg.lr})"
                    )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                history.append(loss.item())
                bar.update()
                bar.set_postfix(nll=f"{history[-1]:.2f}")
    return history
