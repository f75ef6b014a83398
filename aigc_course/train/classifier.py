r"""Supervised training of an image classifier (cross-entropy, Adam).

Used to train the LeNet-style classifier whose features the sample-quality metrics compare
(:func:`aigc_course.train.trained_classifier` caches the result). Randomness comes only from
explicit seeds: the batch order from :func:`aigc_course.data.iterate_batches` ``(seed, epoch)``
and the random shifts from one ``torch.Generator`` seeded with ``cfg.seed``, so on one CPU
machine a run repeated with the same initial weights ends with bit-identical weights.

References
----------
LeCun et al. (1998), "Gradient-based learning applied to document recognition".
Kingma & Ba (2015), "Adam: A method for stochastic optimization", ICLR.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from aigc_course._check import check_count, check_module, check_real
from aigc_course.data.batching import num_batches
from aigc_course.data.transforms import random_shift
from aigc_course.metrics.classifier import (
    _num_classes,
    check_labelled_images,
    classifier_accuracy,
)
from aigc_course.train.config import RunConfig, TrainResult
from aigc_course.train.core import Loop, OnStep

__all__ = [
    "ClassifierResult",
    "ClassifierTrainConfig",
    "classifier_accuracy",  # re-exported: its home is aigc_course.metrics.classifier
    "classifier_step",
    "train_classifier",
]


@dataclass(frozen=True, kw_only=True)
class ClassifierTrainConfig(RunConfig):
    r"""Settings of :func:`train_classifier`.

    The run settings are those of :class:`~aigc_course.train.config.RunConfig`; here
    ``batch_size`` defaults to 64 (the last partial batch of an epoch is kept) and ``device``
    to ``"cpu"``.

    Attributes
    ----------
    epochs : int
        Passes over the training data.
    lr : float
        Adam learning rate.
    weight_decay : float
        L2 penalty added by Adam (``torch.optim.Adam(weight_decay=...)``), >= 0.
    max_shift : int
        Data augmentation: each training image is shifted by a random whole number of pixels in
        [-max_shift, max_shift] along each axis (zeros shifted in); 0 turns it off.
    """

    epochs: int = 20
    batch_size: int = 64
    device: str | None = "cpu"
    lr: float = 1e-3
    weight_decay: float = 0.0
    max_shift: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "ClassifierTrainConfig"
        check_count(self.epochs, f"{owner}.epochs")
        check_count(self.max_shift, f"{owner}.max_shift", minimum=0)
        check_real(self.lr, f"{owner}.lr", low=0.0, low_open=True)
        check_real(self.weight_decay, f"{owner}.weight_decay", low=0.0)
        if self.max_shift > 13:
            raise ValueError(
                f"{owner}.max_shift={self.max_shift} would shift digits out of a 28x28 image; "
                "use 0..3"
            )


@dataclass(frozen=True, kw_only=True)
class ClassifierResult(TrainResult):
    r"""What :func:`train_classifier` returns: :class:`~aigc_course.train.config.TrainResult` and

    Attributes
    ----------
    model : torch.nn.Module
        The model, trained in place, in eval mode.
    """

    model: nn.Module

    @property
    def losses(self) -> list[float]:
        r"""The cross-entropy of every step (``history["loss"]``)."""
        return self.history["loss"]


def classifier_step(model, opt, x, y):
    r"""One Adam step on the mean cross-entropy of a batch.

    .. math:: L = -\frac1B \sum_b \log p_\theta(y_b \mid x_b)
    """
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return {"loss": loss.detach()}


def train_classifier(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    cfg: ClassifierTrainConfig,
    *,
    on_step: OnStep | None = None,
) -> ClassifierResult:
    r"""Train ``model`` in place by minimising the mean cross-entropy with Adam.

    .. math:: \mathcal L(\theta) = -\frac1B \sum_{b=1}^{B} \log \operatorname{softmax}(\ell_\theta(x_b))_{y_b}

    Each step (:func:`classifier_step`) takes a batch, shifted by :func:`~aigc_course.data.transforms.random_shift`.

    Parameters
    ----------
    model : nn.Module
        Maps images (B, C, H, W) to logits (B, K).
    images : tensor (N, C, H, W)
        Float, in [0, 1].
    labels : tensor (N,)
        int64 in 0..K-1.
    cfg : ClassifierTrainConfig
    on_step : callable, optional
        ``on_step(step, state)`` after every step; returning ``True`` stops training there.

    Returns
    -------
    ClassifierResult
        The same ``model``, left in eval mode, and the loss of every step.

    Raises
    ------
    TrainingDiverged
        When the loss becomes NaN or infinite.
    """
    if not isinstance(cfg, ClassifierTrainConfig):
        raise TypeError(
            f"cfg must be a ClassifierTrainConfig, got {type(cfg).__name__}"
        )
    check_module(model, "model")
    check_labelled_images(images, labels, _num_classes(model))
    opt = torch.optim.Adam(
        model.train().parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay
    )
    shift_rng = torch.Generator().manual_seed(cfg.seed)
    hint = f"check that the images are finite and in [0, 1], and lower cfg.lr (now {cfg.lr})"
    loop = Loop.start(
        "classifier",
        cfg,
        models={"model": model},
        optimizers={"opt": opt},
        keys=("loss",),
        hints={"loss": ("cross-entropy", hint)},
        total=cfg.epochs * num_batches(images.shape[0], cfg.batch_size),
        data=(images, labels),
        drop_last=False,
    )
    for x, y in loop.batches(on_step):
        x = random_shift(x, cfg.max_shift, shift_rng)
        x, y = loop.shard((x, y))
        loop.record(classifier_step(loop.nets["model"], opt, x, y))
    model.eval()
    return ClassifierResult(model=model, **loop.summary())
