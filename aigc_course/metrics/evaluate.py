r"""One row of the evaluation table: every sample-quality metric of a set of images against a reference set.

Typical use::

    clf = trained_classifier()                              # cached LeNet, trained on the train split
    ref = make_reference(to_unit(test.images[:5000]), clf)  # real images neither clf nor G has seen
    row = evaluate_samples(from_signed(G(z)), ref, clf)     # n generated images in [0, 1]
    real = evaluate_samples(to_unit(test.images[5000:5000 + n]), ref, clf)  # real vs real, same n

The real-vs-real row is the reference point for every other row: FID is biased upwards for finite
sets, so it is above 0 there; KID is unbiased, so it scatters around 0. It is not a bound (a
generator can beat it on some metrics by chance). Use a reference the classifier was not trained on:
its features of its own training images are not distributed like its features of new images, so a
reference made of them shifts every row, and a generator that copies them would beat real data.
(MNIST's test split is ordered by writer group: split it at random, not in halves.)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from aigc_course.metrics.classifier import classifier_features
from aigc_course.metrics.frechet import frechet_distance
from aigc_course.metrics.kid import kid
from aigc_course.metrics.labels import classifier_score, label_coverage
from aigc_course.metrics.neighbours import nearest_neighbours
from aigc_course.metrics.precision_recall import precision_recall

__all__ = [
    "EvalConfig",
    "Reference",
    "SampleMetrics",
    "evaluate_samples",
    "make_reference",
    "metrics_table",
]


def _check_images(images: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        what = (
            f"a {images.dtype} tensor"
            if isinstance(images, torch.Tensor)
            else type(images).__name__
        )
        raise TypeError(
            f"{name} must be float images (N, 1, 28, 28) in [0, 1], got {what}: use aigc_course.data.to_unit"
        )
    if images.ndim != 4:
        raise ValueError(f"{name} must have shape (N, 1, 28, 28), got {tuple(images.shape)}")
    if images.shape[0] < 4:
        raise ValueError(
            f"{name} has {images.shape[0]} images; the metrics need at least 4 (thousands for stable values)"
        )
    if not torch.isfinite(images).all():
        raise ValueError(
            f"{name} contains NaN or infinite pixels: the model that made them has diverged"
        )
    lo, hi = float(images.min()), float(images.max())
    if lo < -1e-3 or hi > 1 + 1e-3:
        hint = (
            " (these look like [-1, 1] GAN images: map them with aigc_course.data.from_signed)"
            if lo < -1e-3
            else ""
        )
        raise ValueError(f"{name} must lie in [0, 1], got values from {lo:.3f} to {hi:.3f}{hint}")
    return images.detach().cpu().float()


@dataclass(frozen=True, eq=False)
class Reference:
    r"""A real image set prepared for comparisons: its pixels, classifier features and class probabilities.

    Attributes
    ----------
    images : tensor (N, 1, 28, 28), float32 in [0, 1]
    features : tensor (N, F), float64
    probs : tensor (N, K), float64
    """

    images: torch.Tensor
    features: torch.Tensor
    probs: torch.Tensor

    def __len__(self) -> int:
        return int(self.images.shape[0])


def make_reference(images: torch.Tensor, classifier: nn.Module) -> Reference:
    r"""Run ``classifier`` once over a real image set and keep what :func:`evaluate_samples` compares with.

    Parameters
    ----------
    images : tensor (N, 1, 28, 28), float in [0, 1]
        Real images that neither the classifier nor the generative models were trained on (for
        example a random half of the test split), so that a real-vs-real row is a fair reference.
    classifier : LeNetClassifier
        From :func:`aigc_course.train.trained_classifier`.

    Returns
    -------
    Reference
    """
    images = _check_images(images, "reference images")
    out = classifier_features(classifier, images)
    return Reference(images=images, features=out.features, probs=out.probs)


@dataclass(frozen=True)
class EvalConfig:
    r"""Settings of :func:`evaluate_samples`.

    Attributes
    ----------
    k : int
        Neighbourhood size of precision and recall (3 in Kynkäänniemi et al.).
    kid_subsets, kid_subset_size : int
        Random subsets of the KID estimate (Bińkowski et al. use 100 subsets of 1000).
    seed : int
        Seeds the KID subsets and the reference subset of precision and recall.
    """

    k: int = 3
    kid_subsets: int = 20
    kid_subset_size: int = 1000
    seed: int = 0


@dataclass(frozen=True)
class SampleMetrics:
    r"""One row of the evaluation table.

    Attributes
    ----------
    n : int
        Number of images evaluated.
    fid : float
        Fréchet distance of classifier features to the reference (lower is better; 0 = same Gaussian).
    kid, kid_std : float
        KID (unbiased squared MMD, cubic kernel) to the reference, and its spread over subsets (lower is
        better; unbiased, so about 0, possibly negative, for two samples of one distribution).
    classifier_score : float
        Inception-score analogue, in [1, K] (higher = confident and varied predictions).
    coverage_kl : float
        KL divergence (nats) of the predicted-class shares from uniform (0 = balanced).
    classes_covered : int
        Classes with at least a fifth of their fair share of the images.
    precision, recall : float
        Kynkäänniemi et al.'s improved precision (quality) and recall (diversity), in [0, 1].
    nn_distance : float
        Median Euclidean pixel distance (images in [0, 1], 784 pixels) from each image to its nearest
        reference image. Against the training images, much smaller than for real held-out images
        means copies (memorisation); against a held-out reference it is only a distance.
    """

    n: int
    fid: float
    kid: float
    kid_std: float
    classifier_score: float
    coverage_kl: float
    classes_covered: int
    precision: float
    recall: float
    nn_distance: float


def evaluate_samples(
    images: torch.Tensor,
    reference: Reference,
    classifier: nn.Module,
    cfg: EvalConfig = EvalConfig(),
) -> SampleMetrics:
    r"""Every metric of the evaluation table for one set of images, against ``reference``.

    Classifier features and probabilities of ``images`` are computed once; then FID
    (:func:`~aigc_course.metrics.frechet_distance`), KID (:func:`~aigc_course.metrics.kid`), the
    classifier score and label coverage (:mod:`aigc_course.metrics.labels`), precision and recall
    (:func:`~aigc_course.metrics.precision_recall`, against a seeded random subset of the reference of the
    same size as ``images`` when the reference is larger) and the pixel distance to the nearest reference image
    (:func:`~aigc_course.metrics.nearest_neighbours`). Passing as many *other* real images, independent of
    the reference, gives the real-vs-real row: what a perfect generator would score with this many images
    (FID is biased upwards, so above 0; KID is unbiased, so about 0 within ``kid_std``).

    Parameters
    ----------
    images : tensor (N, 1, 28, 28), float in [0, 1]
        Generated images (map [-1, 1] GAN output with ``aigc_course.data.from_signed``). Use the same N
        for every row you compare: FID is biased upwards for small N.
    reference : Reference
        From :func:`make_reference`, with the same classifier.
    classifier : LeNetClassifier
    cfg : EvalConfig

    Returns
    -------
    SampleMetrics

    References
    ----------
    Heusel et al. (2017) FID; Bińkowski et al. (2018) KID; Salimans et al. (2016) Inception score;
    Kynkäänniemi et al. (2019) precision and recall.
    """
    images = _check_images(images, "images")
    if not isinstance(reference, Reference):
        raise TypeError(
            f"reference must be a Reference from make_reference, got {type(reference).__name__}"
        )
    if not isinstance(cfg, EvalConfig):
        raise TypeError(f"cfg must be an EvalConfig, got {type(cfg).__name__}")
    if tuple(images.shape[1:]) != tuple(reference.images.shape[1:]):
        raise ValueError(
            f"images have shape {tuple(images.shape[1:])} but the reference images {tuple(reference.images.shape[1:])}"
        )
    out = classifier_features(classifier, images)
    k = kid(
        out.features,
        reference.features,
        subsets=cfg.kid_subsets,
        subset_size=cfg.kid_subset_size,
        seed=cfg.seed,
    )
    # Precision and recall compare sets of equal size (Kynkäänniemi et al.): a seeded subset of the reference.
    n = images.shape[0]
    ref_pr = reference.features
    if ref_pr.shape[0] > n:
        ref_pr = ref_pr[
            torch.randperm(ref_pr.shape[0], generator=torch.Generator().manual_seed(cfg.seed))[:n]
        ]
    pr = precision_recall(ref_pr, out.features, k=cfg.k)
    cov = label_coverage(out.probs)
    nn_dist, _ = nearest_neighbours(images, reference.images)
    return SampleMetrics(
        n=int(images.shape[0]),
        fid=frechet_distance(out.features, reference.features),
        kid=k.mean,
        kid_std=k.std,
        classifier_score=classifier_score(out.probs),
        coverage_kl=cov.kl_to_uniform,
        classes_covered=cov.n_covered,
        precision=pr.precision,
        recall=pr.recall,
        nn_distance=float(nn_dist.median()),
    )


_COLUMNS = (
    ("fid", "FID", "{:.2f}"),
    ("kid", "KID", "{:.2f}"),
    ("classifier_score", "score", "{:.2f}"),
    ("coverage_kl", "KL(cls)", "{:.3f}"),
    ("classes_covered", "classes", "{:d}"),
    ("precision", "prec", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("nn_distance", "NN dist", "{:.2f}"),
)


def metrics_table(
    rows: Mapping[str, SampleMetrics], extra: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    r"""Format rows of :class:`SampleMetrics` as a plain-text table, one line per row.

    Parameters
    ----------
    rows : mapping of name to SampleMetrics
    extra : mapping of name to {column: text}, optional
        More columns per row (e.g. training time, parameters); rows without an entry show "-".

    Returns
    -------
    str
    """
    if not isinstance(rows, Mapping):
        raise TypeError(
            f"rows must be a mapping of name to SampleMetrics, e.g. {{'DCGAN': row}}, got "
            f"{type(rows).__name__}"
        )
    if not rows:
        raise ValueError("metrics_table needs at least one row")
    extra = dict(extra or {})
    unknown = set(extra) - set(rows)
    if unknown:
        raise ValueError(f"extra has rows that are not in rows: {sorted(unknown)}")
    extra_cols: list[str] = []
    for cols in extra.values():
        extra_cols += [c for c in cols if c not in extra_cols]
    header = ["model", *(title for _, title, _ in _COLUMNS), *extra_cols]
    lines = []
    for name, m in rows.items():
        if not isinstance(m, SampleMetrics):
            raise TypeError(f"row {name!r} is a {type(m).__name__}, not SampleMetrics")
        values = dataclasses.asdict(m)
        cells = [
            name,
            *(
                fmt.format(values[key])
                if not (isinstance(values[key], float) and math.isnan(values[key]))
                else "nan"
                for key, _, fmt in _COLUMNS
            ),
        ]
        cells += [str(extra.get(name, {}).get(c, "-")) for c in extra_cols]
        lines.append(cells)
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(len(header))]

    def fmt_row(r: list[str]) -> str:
        cells = enumerate(zip(r, widths, strict=False))
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in cells)

    return "\n".join([fmt_row(header), *(fmt_row(r) for r in lines)])
