r"""A classifier's view of images: penultimate features and class probabilities, and accuracy.

The classifier itself is trained and cached by :func:`aigc_course.train.judge.trained_classifier`
(training code stays in :mod:`aigc_course.train`; this module never imports it).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from aigc_course._check import (
    check_count,
    check_module,
    check_range,
    check_tensor,
    check_unit_images,
)

__all__ = [
    "ClassifierOutputs",
    "check_labelled_images",
    "classifier_accuracy",
    "classifier_features",
]


@dataclasses.dataclass(frozen=True, eq=False)
class ClassifierOutputs:
    r"""What the classifier says about a set of images.

    Attributes
    ----------
    features : tensor (N, F), float64
        Penultimate-layer features.
    probs : tensor (N, K), float64
        Class probabilities.
    """

    features: torch.Tensor
    probs: torch.Tensor


@torch.no_grad()
def classifier_features(
    classifier: nn.Module, images: torch.Tensor, batch_size: int = 500
) -> ClassifierOutputs:
    r"""Penultimate-layer features and class probabilities of ``images``, in batches, in eval mode.

    Parameters
    ----------
    classifier : LeNetClassifier
        Any module with ``features(x)`` and ``head`` (the last linear layer).
    images : tensor (N, 1, 28, 28), float in [0, 1]
    batch_size : int

    Returns
    -------
    ClassifierOutputs
    """
    check_module(classifier, "classifier", "features")
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[0] == 0:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a non-empty tensor (N, 1, 28, 28) in [0, 1], got {shape}")
    check_unit_images(images, "images", shape_hint="(N, 1, 28, 28)")
    batch_size = check_count(batch_size, "batch_size")
    was_training = classifier.training
    classifier.eval()
    device = next(classifier.parameters()).device
    feats, probs = [], []
    try:
        for start in range(0, images.shape[0], batch_size):
            h = classifier.features(images[start : start + batch_size].to(device, torch.float32))
            feats.append(h.double().cpu())
            probs.append(classifier.head(h).softmax(1).double().cpu())
    finally:
        classifier.train(was_training)
    return ClassifierOutputs(features=torch.cat(feats), probs=torch.cat(probs))


def _num_classes(model: nn.Module) -> int | None:
    return getattr(getattr(model, "cfg", None), "num_classes", None)


def check_labelled_images(images: object, labels: object, num_classes: int | None = None) -> None:
    r"""Check images (N, C, H, W) float in [0, 1] and their (N,) int64 labels in [0, K).

    Reads every value (a host sync): call it once at an entry point, never per step.
    """
    check_tensor(images, "images", ndim=4, floating=True, shape_hint="(N, C, H, W) in [0, 1]")
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
    check_range(images, "images", 0.0, 1.0)
    if num_classes is not None:
        low, high = (int(v) for v in torch.aminmax(labels))
        if low < 0 or high >= num_classes:
            raise ValueError(
                f"labels must be in 0..{num_classes - 1}, got values from {low} to {high}"
            )


@torch.no_grad()
def classifier_accuracy(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000
) -> float:
    r"""Share of images whose most probable class is the label.

    .. math:: \text{acc} = \frac1N\sum_n \bigl[\arg\max_k \ell_k(x_n) = y_n\bigr]

    Runs ``model`` in eval mode (restoring its previous mode) on its own device.

    Parameters
    ----------
    model : nn.Module
        Maps images (B, C, H, W) to logits (B, K).
    images : tensor (N, C, H, W), float in [0, 1]
    labels : tensor (N,), int64
    batch_size : int
        Images per forward pass.

    Returns
    -------
    float in [0, 1]
    """
    check_module(model, "model")
    check_labelled_images(images, labels, _num_classes(model))
    batch_size = check_count(batch_size, "batch_size")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    try:
        for start in range(0, images.shape[0], batch_size):
            xb = images[start : start + batch_size].to(device)
            correct += int((model(xb).argmax(1).cpu() == labels[start : start + batch_size]).sum())
    finally:
        model.train(was_training)
    return correct / images.shape[0]
