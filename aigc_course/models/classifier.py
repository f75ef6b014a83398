r"""A small LeNet-style convolutional classifier for 28x28 images, the feature extractor of the metrics.

The sample-quality metrics of :mod:`aigc_course.metrics` (Fréchet distance, KID, classifier score,
precision and recall) need a network that maps an image to features and class probabilities.
Papers use an Inception network trained on ImageNet; for MNIST a small classifier trained on MNIST
itself does the same job offline and in seconds (the "classifier FID" of many GAN papers).

References
----------
LeCun, Bottou, Bengio & Haffner (1998), "Gradient-based learning applied to document recognition",
Proc. IEEE 86(11) (LeNet-5).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from aigc_course import _check

__all__ = ["ClassifierConfig", "LeNetClassifier"]


@dataclass(frozen=True)
class ClassifierConfig:
    r"""Sizes of :class:`LeNetClassifier`.

    Attributes
    ----------
    channels : tuple of two int
        Output channels of the two 5x5 convolutions.
    feature_dim : int
        Width of the penultimate (feature) layer, the features the metrics compare.
    num_classes : int
        10 for MNIST.
    image_channels : int
        1 for MNIST.
    """

    channels: tuple[int, int] = (16, 32)
    feature_dim: int = 128
    num_classes: int = 10
    image_channels: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        if len(self.channels) != 2:
            raise ValueError(
                f"ClassifierConfig.channels must be two ints, e.g. (16, 32), got {self.channels!r}"
            )
        for c in self.channels:
            _check.check_count(c, "ClassifierConfig.channels[i]")
        _check.check_count(self.feature_dim, "ClassifierConfig.feature_dim")
        _check.check_count(self.num_classes, "ClassifierConfig.num_classes")
        _check.check_count(self.image_channels, "ClassifierConfig.image_channels")
        if self.num_classes < 2:
            raise ValueError(
                f"ClassifierConfig.num_classes must be at least 2, got {self.num_classes}"
            )


class LeNetClassifier(nn.Module):
    r"""LeNet-style classifier: two conv/pool stages, a feature layer, a linear read-out.

    .. math::

        (c, 28, 28) \xrightarrow{\text{conv } 5\times5,\ \text{pad } 2,\ \text{ReLU, max-pool } 2} (C_1, 14, 14)
        \xrightarrow{\text{conv } 5\times5,\ \text{ReLU, max-pool } 2} (C_2, 5, 5)
        \xrightarrow{\text{linear, ReLU}} h \in \mathbb{R}^{F}
        \xrightarrow{\text{linear}} \ell \in \mathbb{R}^{K}

    :meth:`features` returns :math:`h` (the penultimate layer, after its ReLU), :meth:`forward`
    the logits :math:`\ell`, :meth:`probs` :math:`p(y \mid x) = \operatorname{softmax}(\ell)`.

    Parameters
    ----------
    cfg : ClassifierConfig

    Shapes
    ------
    x : (B, image_channels, 28, 28), float, values in [0, 1] (``aigc_course.data.to_unit``; map GAN
        output in [-1, 1] with ``aigc_course.data.from_signed`` first).
    features : (B, feature_dim), >= 0.
    forward : (B, num_classes) logits.
    probs : (B, num_classes), rows sum to 1.

    References
    ----------
    LeCun et al. (1998), LeNet-5.
    """

    def __init__(self, cfg: ClassifierConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.input_shape = (cfg.image_channels, 28, 28)
        c1, c2 = cfg.channels
        self.body = nn.Sequential(
            nn.Conv2d(cfg.image_channels, c1, kernel_size=5, padding=2),  # 28 -> 28
            nn.ReLU(),
            nn.MaxPool2d(2),  # 28 -> 14
            nn.Conv2d(c1, c2, kernel_size=5),  # 14 -> 10
            nn.ReLU(),
            nn.MaxPool2d(2),  # 10 -> 5
            nn.Flatten(),
            nn.Linear(c2 * 5 * 5, cfg.feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Linear(cfg.feature_dim, cfg.num_classes)

    def _check_images(self, x: torch.Tensor, validate: bool) -> None:
        expected = "(B, " + ", ".join(str(s) for s in self.input_shape) + ")"
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            what = type(x).__name__ if not isinstance(x, torch.Tensor) else f"a {x.dtype} tensor"
            raise TypeError(
                f"expected float images of shape {expected} in [0, 1], got {what}: "
                "convert uint8 images with aigc_course.data.to_unit"
            )
        if tuple(x.shape[1:]) != self.input_shape or x.ndim != 4:
            hint = (
                "add the channel axis with x.unsqueeze(1)"
                if x.ndim == 3
                else "reshape to (B, 1, 28, 28)"
            )
            raise ValueError(f"expected images of shape {expected}, got {tuple(x.shape)}: {hint}")
        if validate and x.numel():
            lo, hi = (float(v) for v in torch.aminmax(x.detach()))  # one pass, one sync
            if lo < -0.01:  # NaN passes: training reports it as TrainingDiverged
                raise ValueError(
                    f"images have values down to {lo:.3f}, but the classifier expects [0, 1]: "
                    "map [-1, 1] images (GAN output) with aigc_course.data.from_signed first"
                )
            if hi > 1.01:
                raise ValueError(
                    f"images have values up to {hi:.3g}, but the classifier expects [0, 1]: "
                    "divide 0..255 pixels by 255 (aigc_course.data.to_unit does it for uint8)"
                )

    def features(self, x: torch.Tensor, *, validate: bool = True) -> torch.Tensor:
        r"""Penultimate-layer features :math:`h(x)`, shape (B, feature_dim).

        ``validate=True`` also checks that the pixels lie in [0, 1] (one reduction, a host sync
        on an accelerator); a training loop checks its data once and passes ``validate=False``.
        Type and shape are always checked (free).
        """
        self._check_images(x, validate)
        return self.body(x)

    def forward(self, x: torch.Tensor, *, validate: bool = True) -> torch.Tensor:
        return self.head(self.features(x, validate=validate))

    def probs(self, x: torch.Tensor) -> torch.Tensor:
        r"""Class probabilities :math:`p(y \mid x)`, shape (B, num_classes)."""
        return self.forward(x).softmax(dim=1)
