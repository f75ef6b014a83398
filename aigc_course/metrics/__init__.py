r"""Evaluation metrics that need no downloaded network: likelihoods, nearest neighbours, and sample quality.

Sample quality is measured in the feature space of a small MNIST classifier that the package trains
itself (offline, cached), in place of the Inception network of the papers. The stable API::

    from aigc_course.data import from_signed, load_mnist, to_unit
    from aigc_course.metrics import evaluate_samples, make_reference
    from aigc_course.train import trained_classifier

    train = load_mnist("train")
    clf = trained_classifier(train)          # LeNetClassifier, eval mode; trains once, then loads
                                             # from the cache; prints its test accuracy
    ref = make_reference(to_unit(train.images), clf)
    row = evaluate_samples(images01, ref, clf)   # images01: float (N, 1, 28, 28) in [0, 1]
    row.fid, row.kid, row.classifier_score, row.coverage_kl, row.classes_covered,
    row.precision, row.recall, row.nn_distance  # a frozen SampleMetrics
    print(metrics_table({"DCGAN": row, ...}))

The classifier: ``clf.features(x)`` (B, 128) penultimate features, ``clf.probs(x)`` (B, 10),
``clf(x)`` logits; ``classifier_features(clf, x)`` does it in batches, float64.

The single metrics, each on feature matrices (N, F) or probabilities (N, K):
``frechet_distance``, ``gaussian_frechet_distance``, ``kid`` (-> ``KID(mean, std, ...)``),
``mmd2_unbiased``, ``classifier_score``, ``label_coverage`` (-> ``LabelCoverage``),
``precision_recall`` (-> ``PrecisionRecall``), ``nearest_neighbours`` (pixel or feature space),
``mean_pairwise_distance`` (sample variety).

Likelihoods: ``bits_per_dim``, ``discrete_nll_from_density``, ``dequantized_bits_per_dim``,
``evaluate_normalizing_flow`` (-> ``NormalizingFlowEvaluation``), ``evaluate_vae`` (-> ``VAEEvaluation``),
``evaluate_autoregressive`` (-> ``AutoregressiveEvaluation``, exact NLL of MADE, PixelCNN, a transformer).
Classifiers: ``classifier_accuracy``. Toy data: ``count_modes`` (-> ``ModeCoverage``).

Real-vs-generated detection: ``detection_set``, ``grey_share``, ``threshold_detector``,
``cross_detection`` (-> ``CrossDetection``). Comparing settings over seeds: ``compare_seeds``.
"""

from aigc_course.metrics.classifier import (
    ClassifierOutputs,
    classifier_accuracy,
    classifier_features,
)
from aigc_course.metrics.detection import (
    CrossDetection,
    cross_detection,
    detection_set,
    grey_share,
    threshold_detector,
)
from aigc_course.metrics.evaluate import (
    EvalConfig,
    Reference,
    SampleMetrics,
    evaluate_samples,
    make_reference,
    metrics_table,
)
from aigc_course.metrics.frechet import (
    feature_statistics,
    frechet_distance,
    gaussian_frechet_distance,
)
from aigc_course.metrics.kid import KID, kid, mmd2_unbiased, polynomial_kernel
from aigc_course.metrics.labels import LabelCoverage, classifier_score, label_coverage
from aigc_course.metrics.likelihood import (
    AutoregressiveEvaluation,
    NormalizingFlowEvaluation,
    VAEEvaluation,
    bits_per_dim,
    dequantized_bits_per_dim,
    discrete_nll_from_density,
    evaluate_autoregressive,
    evaluate_normalizing_flow,
    evaluate_vae,
)
from aigc_course.metrics.modes import ModeCoverage, count_modes
from aigc_course.metrics.neighbours import mean_pairwise_distance, nearest_neighbours
from aigc_course.metrics.precision_recall import PrecisionRecall, knn_radii, precision_recall
from aigc_course.metrics.seeds import SeedComparison, compare_seeds

__all__ = [
    "AutoregressiveEvaluation",
    "evaluate_autoregressive",
    "ClassifierOutputs",
    "CrossDetection",
    "EvalConfig",
    "KID",
    "LabelCoverage",
    "ModeCoverage",
    "PrecisionRecall",
    "Reference",
    "SeedComparison",
    "SampleMetrics",
    "VAEEvaluation",
    "bits_per_dim",
    "classifier_accuracy",
    "classifier_features",
    "classifier_score",
    "compare_seeds",
    "count_modes",
    "cross_detection",
    "detection_set",
    "dequantized_bits_per_dim",
    "discrete_nll_from_density",
    "evaluate_normalizing_flow",
    "NormalizingFlowEvaluation",
    "evaluate_samples",
    "evaluate_vae",
    "feature_statistics",
    "frechet_distance",
    "gaussian_frechet_distance",
    "grey_share",
    "kid",
    "knn_radii",
    "label_coverage",
    "make_reference",
    "metrics_table",
    "mmd2_unbiased",
    "mean_pairwise_distance",
    "nearest_neighbours",
    "polynomial_kernel",
    "precision_recall",
    "threshold_detector",
]
