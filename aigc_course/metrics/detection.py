r"""Real-vs-generated detection: can a classifier tell a model's images from real ones?

"Is this image generated?" is a two-class problem: real images get label 0, generated ones label
1, a detector is trained on one part and measured on images it has not seen. Here live the parts
that are the same for every detector: the labelled sets (both halves rounded to 8 bits first, as
any image file is, so the number of grey levels gives nothing away), a one-number baseline (the
best threshold on the share of grey pixels) and the experiment that trains a detector against each
generator and tests it against each (:func:`cross_detection`). Training the detector is the
caller's ``fit`` (a chapter uses :func:`aigc_course.train.classifier.train_classifier`): metrics
never import training code.

References
----------
Wang, S.-Y. et al. (2020). CNN-generated images are surprisingly easy to spot... for now. *CVPR*.
Ojha, U., Li, Y. and Lee, Y. J. (2023). Towards universal fake image detectors that generalize
across generative models. *CVPR*.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import torch

from aigc_course._check import (
    check_count,
    check_range,
    check_real,
    check_tensor,
    check_unit_images,
)
from aigc_course.data.quantize import quantize_8bit

__all__ = [
    "CrossDetection",
    "cross_detection",
    "detection_set",
    "grey_share",
    "threshold_detector",
]


def grey_share(images: torch.Tensor, *, low: float = 0.1, high: float = 0.9) -> torch.Tensor:
    r"""Share of each image's pixels that are grey: neither near-black nor near-white.

    .. math:: g(x) = \frac{1}{HW} \sum_{i} [\, \text{low} < x_i < \text{high} \,]

    Real MNIST digits are almost binary; blur shows up as grey, so this is a plain measure of
    sharpness and, as a threshold, a one-number real-vs-generated detector.

    Parameters
    ----------
    images : torch.Tensor
        Float, shape ``(N, C, H, W)``, values in [0, 1].
    low, high : float
        The open grey interval (default ``(0.1, 0.9)``).

    Returns
    -------
    torch.Tensor
        ``float32``, shape ``(N,)``, values in [0, 1]; ``.mean()`` is the share over all pixels.
    """
    images = check_unit_images(images, "images", ndim=4, shape_hint="(N, C, H, W)")
    low = check_real(low, "low", low=0.0, high=1.0)
    high = check_real(high, "high", low=low, high=1.0)
    return ((images > low) & (images < high)).float().mean(dim=(1, 2, 3))


def detection_set(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""A labelled detection set: real images (label 0), then generated ones (label 1), in 8 bits.

    Both parts pass through :func:`~aigc_course.data.quantize.quantize_8bit` (a no-op on images
    loaded from ``uint8`` files), so a detector cannot separate them by their grey levels.

    Parameters
    ----------
    real : torch.Tensor
        Float, shape ``(N_real, 1, H, W)``, values in [0, 1].
    fake : torch.Tensor
        Float, shape ``(N_fake, 1, H, W)``, nominally in [0, 1]; values in [-3, 3] are clipped
        (samples overshoot), as :func:`~aigc_course.data.to_uint8` does.

    Returns
    -------
    images : torch.Tensor
        ``float32``, shape ``(N_real + N_fake, 1, H, W)``.
    labels : torch.Tensor
        ``int64``, shape ``(N_real + N_fake,)``: ``N_real`` zeros, then ``N_fake`` ones.
    """
    real = check_unit_images(real, "real", shape_hint="(N, 1, H, W)")
    # A model's samples may overshoot [0, 1]; writing them to a file clips them, and so does this.
    fake = check_tensor(fake, "fake", ndim=4, floating=True, shape_hint="(N, 1, H, W)")
    check_range(fake, "fake (nominally in [0, 1], overshoot to [-3, 3] is clipped)", -3.0, 3.0)
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(
            f"real and fake images must have the same shape per image, got "
            f"{tuple(real.shape[1:])} and {tuple(fake.shape[1:])}"
        )
    images = torch.cat([quantize_8bit(real), quantize_8bit(fake)])
    labels = torch.cat(
        [torch.zeros(len(real), dtype=torch.long), torch.ones(len(fake), dtype=torch.long)]
    )
    return images, labels


def _correct(feature: torch.Tensor, labels: torch.Tensor, rules: torch.Tensor) -> torch.Tensor:
    """Correct answers of each rule ``(t, sign)``: say "generated" where ``sign * (f - t) > 0``."""
    out = []
    for chunk in rules.split(1024):
        generated = chunk[:, 1:] * (feature[None, :] - chunk[:, :1]) > 0
        out.append((generated.long() == labels[None, :]).sum(1))
    return torch.cat(out)


def threshold_detector(
    x_fit: torch.Tensor,
    y_fit: torch.Tensor,
    x_held: torch.Tensor,
    y_held: torch.Tensor,
    *,
    feature: Callable[[torch.Tensor], torch.Tensor] = grey_share,
) -> float:
    r"""Held-out accuracy of the best one-number rule: a threshold on a per-image feature.

    The rule says "generated" where :math:`s\,(f(x) - t) > 0`; the threshold :math:`t` (one of
    the fit images' feature values) and the side :math:`s = \pm 1` are those with the most correct
    answers on the fit images (the first in order of ascending ``t``, ``s = +1`` before ``-1``,
    among ties), and the rule is then scored on the held-out images.

    Parameters
    ----------
    x_fit, x_held : torch.Tensor
        Images, shape ``(N, ...)``, as ``feature`` takes them.
    y_fit, y_held : torch.Tensor
        ``int64``, shape ``(N,)``, 0 = real, 1 = generated (as :func:`detection_set` makes them).
    feature : callable
        Images ``(N, ...)`` -> tensor ``(N,)``; default :func:`grey_share`.

    Returns
    -------
    float
        Share of held-out images the rule classifies correctly, in [0, 1] (0.5 = guessing on a
        balanced set).
    """
    f_fit, f_held = feature(x_fit), feature(x_held)
    for f, y, name in ((f_fit, y_fit, "y_fit"), (f_held, y_held, "y_held")):
        check_tensor(y, name, ndim=1)
        if f.shape != y.shape:
            raise ValueError(f"{name} needs one label per image: {tuple(y.shape)} vs {len(f)}")
    t = f_fit.unique()
    rules = torch.stack(
        [t.repeat_interleave(2), torch.tensor([1.0, -1.0], dtype=t.dtype).repeat(len(t))], 1
    )
    fit_correct = _correct(f_fit, y_fit, rules)
    best = rules[int((fit_correct == fit_correct.max()).nonzero()[0])]
    return int(_correct(f_held, y_held, best[None])[0]) / len(y_held)


@dataclasses.dataclass(frozen=True, kw_only=True)
class CrossDetection:
    r"""Detectors trained against each generator, each tested against each generator.

    Attributes
    ----------
    accuracy : dict[(str, str), tuple of float]
        ``accuracy[trained_on, tested_on]``: held-out accuracy, one per seed, in [0, 1].
    threshold : dict[(str, str), float]
        The same cells for :func:`threshold_detector` on the grey share (no seed: it is
        deterministic), a baseline that shows how much of the separation is blur.
    """

    accuracy: dict[tuple[str, str], tuple[float, ...]]
    threshold: dict[tuple[str, str], float]


def cross_detection(
    fit: Callable[[torch.Tensor, torch.Tensor, int], object],
    score: Callable[[object, torch.Tensor, torch.Tensor], float],
    real: torch.Tensor,
    fakes: Mapping[str, torch.Tensor],
    *,
    n: int,
    seeds: Sequence[int],
) -> CrossDetection:
    r"""Train a detector against each generator's images and test it on every generator's.

    The first ``n`` real images and the first ``n`` images of a generator form its fit set; images
    ``n`` to ``2n`` of each form the held-out sets (:func:`detection_set`), so no detector sees a
    test image. For each generator ``a`` (in the order of ``fakes``) and each seed, in that order,
    ``detector = fit(images, labels, seed)``; then ``score(detector, images, labels)`` on the
    held-out set of every generator ``b``. Off-diagonal cells ask whether a detector catches a
    generator it has never seen.

    Parameters
    ----------
    fit : callable
        ``fit(images, labels, seed) -> detector``; images ``(2n, 1, H, W)`` in [0, 1], labels 0/1.
    score : callable
        ``score(detector, images, labels) -> float``, e.g. ``classifier_accuracy``.
    real : torch.Tensor
        Float, shape ``(N, 1, H, W)``, values in [0, 1], ``N >= 2n``; images no generator has seen.
    fakes : mapping of str to torch.Tensor
        Generated images of each generator, each ``(M, 1, H, W)`` nominally in [0, 1] (clipped
        as in :func:`detection_set`), ``M >= 2n``.
    n : int
        Images per class in each fit set and each held-out set.
    seeds : sequence of int
        One detector per seed and generator.

    Returns
    -------
    CrossDetection

    References
    ----------
    Wang et al. (2020), *CVPR*; Ojha et al. (2023), *CVPR*.
    """
    n = check_count(n, "n")
    if not callable(fit) or not callable(score):
        raise TypeError("fit and score must be callables: fit(images, labels, seed) -> detector")
    if not isinstance(fakes, Mapping) or not fakes:
        raise TypeError(
            f"fakes must be a non-empty dict name -> images, got {type(fakes).__name__}"
        )
    seeds = tuple(check_count(s, "seeds[i]", minimum=0) for s in seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    for name, images in {"real": real, **{f"fakes[{k!r}]": v for k, v in fakes.items()}}.items():
        check_tensor(images, name, ndim=4, floating=True, shape_hint="(N, 1, H, W)")
        if len(images) < 2 * n:
            raise ValueError(f"{name} has {len(images)} images; 2 * n = {2 * n} are needed")
    sets = {
        name: (
            detection_set(real[:n], images[:n]),
            detection_set(real[n : 2 * n], images[n : 2 * n]),
        )
        for name, images in fakes.items()
    }
    accuracy: dict[tuple[str, str], list[float]] = {(a, b): [] for a in sets for b in sets}
    for a in sets:
        for seed in seeds:
            detector = fit(*sets[a][0], seed)
            for b in sets:
                accuracy[a, b].append(float(score(detector, *sets[b][1])))
    threshold = {(a, b): threshold_detector(*sets[a][0], *sets[b][1]) for a in sets for b in sets}
    return CrossDetection(accuracy={k: tuple(v) for k, v in accuracy.items()}, threshold=threshold)
