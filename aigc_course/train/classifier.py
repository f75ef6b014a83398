r"""Supervised training of an image classifier (cross-entropy, Adam), and its accuracy.

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

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from aigc_course import _check
from aigc_course.data.batching import num_batches
from aigc_course.data.transforms import random_shift
from aigc_course.runtime import get_device
from aigc_course.train.core import Loop, OnStep, batch_stream

__all__ = [
    "ClassifierResult",
    "ClassifierTrainConfig",
    "classifier_accuracy",
    "classifier_step",
    "train_classifier",
]


@dataclass(frozen=True)
class ClassifierTrainConfig:
    r"""Settings of :func:`train_classifier`.

    Attributes
    ----------
    epochs : int
        Passes over the training data.
    batch_size : int
        Images per Adam step (the last partial batch of an epoch is kept).
    lr : float
        Adam learning rate.
    weight_decay : float
        L2 penalty added by Adam (``torch.optim.Adam(weight_decay=...)``), >= 0.
    max_shift : int
        Data augmentation: each training image is shifted by a random whole number of pixels in
        [-max_shift, max_shift] along each axis (zeros shifted in); 0 turns it off.
    max_seconds : float or None
        Stop after the step during which this much training time has passed.
    seed : int
        Seeds the batch order and the shifts.
    device : str
        ``"cpu"``, ``"cuda"``, ...; see :func:`aigc_course.runtime.get_device`.
    progress : bool
        Show a tqdm progress bar.
    """

    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    max_shift: int = 2
    max_seconds: float | None = None
    seed: int = 0
    device: str = "cpu"
    progress: bool = True

    def __post_init__(self) -> None:
        owner = "ClassifierTrainConfig"
        for name, minimum in (
            ("epochs", 1),
            ("batch_size", 1),
            ("max_shift", 0),
            ("seed", 0),
        ):
            _check.positive_int(owner, name, getattr(self, name), minimum)
        _check.finite_number(owner, "lr", self.lr)
        _check.finite_number(owner, "weight_decay", self.weight_decay, positive=False)
        if self.max_seconds is not None:
            _check.finite_number(owner, "max_seconds", self.max_seconds)
        if self.max_shift > 13:
            raise ValueError(
                f"ClassifierTrainConfig.max_shift={self.max_shift} would shift digits out of a 28x28 image; use 0..3"
            )


@dataclass(frozen=True)
class ClassifierResult:
    r"""What :func:`train_classifier` returns.

    Attributes
    ----------
    model : torch.nn.Module
        The model, trained in place, in eval mode.
    losses : list of float
        The cross-entropy of every step.
    seconds : float
        Training wall-clock time.
    stopped_by : {"steps", "max_seconds", "on_step"}
        What ended training.
    """

    model: nn.Module
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    stopped_by: str = "steps"


def classifier_step(model, opt, x, y):
    r"""One Adam step on the mean cross-entropy of a batch.

    .. math:: L = -\frac1B \sum_b \log p_\theta(y_b \mid x_b)
    """
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return {"loss": loss.detach()}


def _check_data(
    images: torch.Tensor, labels: torch.Tensor, num_classes: int | None = None
) -> None:
    if (
        not isinstance(images, torch.Tensor)
        or not images.is_floating_point()
        or images.ndim != 4
    ):
        what = (
            f"{images.dtype} {tuple(images.shape)}"
            if isinstance(images, torch.Tensor)
            else type(images).__name__
        )
        raise ValueError(
            f"images must be a float tensor (N, C, H, W) in [0, 1], got {what}: "
            "use aigc_course.data.to_unit"
        )
    if (
        not isinstance(labels, torch.Tensor)
        or labels.dtype != torch.int64
        or labels.shape != (images.shape[0],)
    ):
        what = (
            f"{labels.dtype} {tuple(labels.shape)}"
            if isinstance(labels, torch.Tensor)
            else type(labels).__name__
        )
        raise ValueError(
            f"labels must be an int64 tensor of shape ({images.shape[0]},), one per image, "
            f"got {what}"
        )
    if images.shape[0] == 0:
        raise ValueError("no images to train or evaluate on")
    _check.unit_range("images", images)
    if num_classes is not None:
        low, high = (int(v) for v in torch.aminmax(labels))
        if low < 0 or high >= num_classes:
            raise ValueError(
                f"labels must be in 0..{num_classes - 1}, got values from {low} to {high}"
            )


def _num_classes(model: nn.Module) -> int | None:
    return getattr(getattr(model, "cfg", None), "num_classes", None)


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
    _check_data(images, labels, _num_classes(model))
    device = get_device(cfg.device)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    shift_rng = torch.Generator().manual_seed(cfg.seed)
    hint = f"check that the images are finite and in [0, 1], and lower cfg.lr (now {cfg.lr})"
    loop = Loop(
        "classifier",
        total=cfg.epochs * num_batches(images.shape[0], cfg.batch_size),
        keys=("loss",),
        hints={"loss": ("cross-entropy", hint)},
        models={"model": model},
        optimizers={"opt": opt},
        max_seconds=cfg.max_seconds,
        progress=cfg.progress,
    )
    batches = batch_stream(
        (images.to(device), labels.to(device)), cfg.batch_size, cfg.seed, 0, False
    )
    net = loop.wrap(model)
    for _ in loop.steps(on_step):
        x, y = next(batches)
        x = random_shift(x, cfg.max_shift, shift_rng)
        loop.record(classifier_step(net, opt, loop.shard(x), loop.shard(y)))
    model.eval()
    return ClassifierResult(model, loop.history["loss"], loop.seconds, loop.stopped_by)


@torch.no_grad()
def classifier_accuracy(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000
) -> float:
    r"""Share of images whose most probable class is the label: :math:`\frac1N\sum_n [\arg\max_k \ell_k(x_n) = y_n]`.

    Runs ``model`` in eval mode (restoring its previous mode) on its own device.

    Parameters
    ----------
    model : nn.Module
    images : tensor (N, C, H, W), float in [0, 1]
    labels : tensor (N,), int64
    batch_size : int

    Returns
    -------
    float in [0, 1]
    """
    _check_data(images, labels, _num_classes(model))
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    try:
        for start in range(0, images.shape[0], batch_size):
            xb = images[start : start + batch_size].to(device)
            correct += int(
                (model(xb).argmax(1).cpu() == labels[start : start + batch_size]).sum()
            )
    finally:
        model.train(was_training)
    return correct / images.shape[0]
