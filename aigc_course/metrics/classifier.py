r"""Classifier features for the sample-quality metrics: penultimate features and class probabilities.

The classifier itself is trained and cached by :func:`aigc_course.train.judge.trained_classifier`
(training code stays in :mod:`aigc_course.train`; this module never imports it).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

__all__ = ["ClassifierOutputs", "classifier_features"]


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
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[0] == 0:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a non-empty tensor (N, 1, 28, 28) in [0, 1], got {shape}")
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
