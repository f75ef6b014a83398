r"""Tests of evaluate_samples (one table row) and metrics_table: each entry equals its metric computed alone."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from aigc_course.metrics import (
    EvalConfig,
    SampleMetrics,
    classifier_features,
    classifier_score,
    evaluate_samples,
    frechet_distance,
    kid,
    label_coverage,
    make_reference,
    metrics_table,
    nearest_neighbours,
    precision_recall,
)
from aigc_course.models.classifier import ClassifierConfig, LeNetClassifier

CFG = EvalConfig(k=3, kid_subsets=3, kid_subset_size=20, seed=1)


def _blobs(n, seed, shift=0.0):
    r"""Images made of a bright square at a random place, in [0, 1]."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 28, 28, generator=gen) * 0.1
    pos = torch.randint(4, 20, (n, 2), generator=gen)
    for i, (r, c) in enumerate(pos.tolist()):
        x[i, 0, r : r + 5, c : c + 5] = 1.0 - shift
    return x


@pytest.fixture(scope="module")
def clf():
    torch.manual_seed(0)
    return LeNetClassifier(ClassifierConfig(channels=(4, 8), feature_dim=16)).eval()


def test_evaluate_samples_equals_each_metric_alone(clf):
    ref_images, images = _blobs(40, 0), _blobs(30, 1)
    ref = make_reference(ref_images, clf)
    assert len(ref) == 40 and ref.features.shape == (40, 16) and ref.probs.shape == (40, 10)
    row = evaluate_samples(images, ref, clf, CFG)
    out = classifier_features(clf, images)
    k = kid(out.features, ref.features, subsets=3, subset_size=20, seed=1)
    subset = torch.randperm(40, generator=torch.Generator().manual_seed(1))[
        :30
    ]  # equal sizes, seeded
    pr = precision_recall(ref.features[subset], out.features, k=3)
    cov = label_coverage(out.probs)
    assert row == SampleMetrics(
        n=30,
        fid=frechet_distance(out.features, ref.features),
        kid=k.mean,
        kid_std=k.std,
        classifier_score=classifier_score(out.probs),
        coverage_kl=cov.kl_to_uniform,
        classes_covered=cov.n_covered,
        precision=pr.precision,
        recall=pr.recall,
        nn_distance=float(nearest_neighbours(images, ref_images)[0].median()),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.fid = 0.0


def test_real_data_scores_better_than_noise_and_copies_are_flagged(clf):
    ref = make_reference(_blobs(60, 0), clf)
    real = evaluate_samples(_blobs(60, 2), ref, clf, CFG)
    noise = evaluate_samples(
        torch.rand(60, 1, 28, 28, generator=torch.Generator().manual_seed(3)), ref, clf, CFG
    )
    copies = evaluate_samples(ref.images[:30].clone(), ref, clf, CFG)
    assert real.fid < noise.fid and real.kid < noise.kid
    assert real.precision > noise.precision and real.recall > noise.recall
    assert copies.nn_distance < 1e-3 < real.nn_distance


def test_metrics_table_layout(clf):
    ref = make_reference(_blobs(20, 0), clf)
    row = evaluate_samples(_blobs(20, 4), ref, clf, CFG)
    text = metrics_table(
        {"real": row, "model A": row}, extra={"model A": {"time (s)": "12.0", "params": "1,000"}}
    )
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[0].split() == [
        "model",
        "FID",
        "KID",
        "score",
        "KL(cls)",
        "classes",
        "prec",
        "recall",
        "NN",
        "dist",
        "time",
        "(s)",
        "params",
    ]
    assert lines[1].startswith("real ") and lines[1].rstrip().endswith("-")
    assert f"{row.fid:.2f}" in lines[2] and lines[2].rstrip().endswith("1,000")
    assert len({len(line) for line in lines}) == 1  # aligned columns
    nan_row = dataclasses.replace(row, kid_std=float("nan"), fid=float("nan"))
    assert "nan" in metrics_table({"x": nan_row})


def test_evaluate_errors(clf):
    ref = make_reference(_blobs(10, 0), clf)
    good = _blobs(10, 1)
    with pytest.raises(
        ValueError,
        match="look like \\[-1, 1\\] GAN images: map them with aigc_course.data.from_signed",
    ):
        evaluate_samples(good * 2 - 1, ref, clf, CFG)
    with pytest.raises(ValueError, match="must lie in \\[0, 1\\], got values from"):
        evaluate_samples(good * 3, ref, clf, CFG)
    with pytest.raises(TypeError, match="must be float images"):
        evaluate_samples((good * 255).to(torch.uint8), ref, clf, CFG)
    with pytest.raises(ValueError, match=r"must have shape \(N, 1, 28, 28\)"):
        evaluate_samples(good[:, 0], ref, clf, CFG)
    with pytest.raises(ValueError, match="has 3 images; the metrics need at least 4"):
        evaluate_samples(good[:3], ref, clf, CFG)
    with pytest.raises(ValueError, match="NaN or infinite pixels"):
        evaluate_samples(good * float("nan"), ref, clf, CFG)
    with pytest.raises(TypeError, match="reference must be a Reference"):
        evaluate_samples(good, good, clf, CFG)
    with pytest.raises(TypeError, match="cfg must be an EvalConfig"):
        evaluate_samples(good, ref, clf, {"k": 3})
    with pytest.raises(ValueError, match="metrics_table needs at least one row"):
        metrics_table({})
    row = evaluate_samples(good, ref, clf, CFG)
    with pytest.raises(ValueError, match="extra has rows that are not in rows"):
        metrics_table({"a": row}, extra={"b": {"t": "1"}})
    with pytest.raises(TypeError, match="row 'a' is a dict, not SampleMetrics"):
        metrics_table({"a": {}})
