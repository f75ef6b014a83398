"""Real-vs-generated detection (aigc_course.metrics.detection).

The applications and diffusion chapters each wrote the detector experiment themselves; the old
code is copied here as the reference, and the package must reproduce it exactly (same numbers,
same random draws in the same order). Independent oracles: NumPy for the grey share, a brute-force
NumPy search for the threshold rule, an exactly separable case, and scikit-learn's
LogisticRegression as a detector whose held-out score is recomputed by hand.
"""

import numpy as np
import pytest
import torch

from aigc_course.data import to_uint8, to_unit
from aigc_course.metrics import (
    CrossDetection,
    cross_detection,
    detection_set,
    grey_share,
    threshold_detector,
)


def old_as_8bit(images):
    return to_unit(to_uint8(images))


def old_grey_share_applications(images):
    return ((images > 0.1) & (images < 0.9)).float().mean(dim=(1, 2, 3))


def old_grey_share_case_study(images):
    return float(((images > 0.1) & (images < 0.9)).float().mean())


def old_threshold_detector(x_fit, y_fit, x_held, y_held):  # book/applications.py
    """Held-out accuracy of the best grey-share threshold on the fit images."""
    f_fit, f_held = old_grey_share_applications(x_fit), old_grey_share_applications(x_held)

    def accuracy(f, y, t, sign):
        return float(((sign * (f - t) > 0).long() == y).double().mean())

    t, sign = max(
        ((t, sign) for t in f_fit.unique() for sign in (1, -1)),
        key=lambda ts: accuracy(f_fit, y_fit, *ts),
    )
    return accuracy(f_held, y_held, t, sign)


def old_applications_experiment(x_test, fake_sets, n, seeds, fit, score):
    """The applications chapter's loop, with its training and scoring passed in."""

    def detector_data(fakes, start):
        real = x_test[start : start + n]
        return torch.cat([real, old_as_8bit(fakes[:n])]), torch.cat(
            [torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.long)]
        )

    detection = {pair: [] for pair in ((a, b) for a in fake_sets for b in fake_sets)}
    baseline = {}
    for trained_on in fake_sets:
        x_det, y_det = detector_data(fake_sets[trained_on], start=0)
        for seed in seeds:
            detector = fit(x_det, y_det, seed)
            for tested_on in fake_sets:
                fakes = fake_sets[tested_on][n:]
                x_held, y_held = detector_data(fakes, start=n)
                detection[trained_on, tested_on].append(score(detector, x_held, y_held))
                if seed == seeds[0]:
                    baseline[trained_on, tested_on] = old_threshold_detector(
                        x_det, y_det, x_held, y_held
                    )
    return detection, baseline


def old_diffusion_experiment(real_det, fakes, half, seeds, fit, score):
    """The diffusion chapter's loop (section 9)."""

    def det_set(fake, part):
        sl = slice(0, half) if part == 0 else slice(half, 2 * half)
        x = torch.cat([real_det[sl], old_as_8bit(fake[sl])])
        return x, torch.cat(
            [torch.zeros(half, dtype=torch.long), torch.ones(half, dtype=torch.long)]
        )

    detection = {}
    for trained_on in fakes:
        x_fit, y_fit = det_set(fakes[trained_on], 0)
        for seed in seeds:
            det = fit(x_fit, y_fit, seed)
            for tested_on in fakes:
                acc = score(det, *det_set(fakes[tested_on], 1))
                detection.setdefault((trained_on, tested_on), []).append(acc)
    return detection


def images(n, seed, kind):
    """Real-like 8-bit images, blurry (grey) fakes, or speckled fakes that overshoot [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    if kind == "real":
        return to_unit(
            torch.randint(0, 256, (n, 12, 12), generator=g, dtype=torch.uint8) // 200 * 255
        )
    if kind == "blur":
        return torch.rand(n, 1, 12, 12, generator=g) * 0.8 + 0.1 * torch.rand(
            n, 1, 1, 1, generator=g
        )
    return (torch.rand(n, 1, 12, 12, generator=g) * 1.3 - 0.15).clamp(-0.2, 1.2)


# ------------------------------------------------------------------ grey share


def test_grey_share_matches_numpy_and_both_old_chapter_versions():
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        x = torch.rand(int(torch.randint(1, 60, (1,), generator=g)), 1, 28, 28, generator=g)
        x = old_as_8bit(x) if bool(torch.rand(1, generator=g) < 0.5) else x
        share = grey_share(x)
        assert share.dtype == torch.float32 and share.shape == (len(x),)
        arr = x.numpy()
        expected = ((arr > 0.1) & (arr < 0.9)).mean(axis=(1, 2, 3))
        np.testing.assert_allclose(share.numpy(), expected, rtol=1e-6)
        assert torch.equal(share, old_grey_share_applications(x))
        # the case study printed 100 * the share over all pixels with one decimal
        scalar = float(share.mean())
        assert scalar == pytest.approx(old_grey_share_case_study(x), rel=1e-6, abs=1e-9)
        assert f"{100 * scalar:.1f}" == f"{100 * old_grey_share_case_study(x):.1f}"
    x = torch.tensor([0.0, 0.1, 0.1001, 0.5, 0.8999, 0.9, 1.0, 0.3]).reshape(1, 1, 2, 4)
    assert float(grey_share(x)) == 4 / 8  # the interval is open
    assert float(grey_share(x, low=0.0, high=1.0)) == 6 / 8


@pytest.mark.parametrize(
    ("x", "kw", "exc", "match"),
    [
        (torch.rand(3, 28, 28), {}, ValueError, "dimensions"),
        (torch.randint(0, 255, (3, 1, 4, 4), dtype=torch.uint8), {}, TypeError, "to_unit"),
        (torch.rand(3, 1, 4, 4) * 255, {}, ValueError, r"\[0, 1\]"),
        (torch.rand(3, 1, 4, 4), {"low": 0.9, "high": 0.1}, ValueError, "high"),
    ],
)
def test_grey_share_rejects_bad_input(x, kw, exc, match):
    with pytest.raises(exc, match=match):
        grey_share(x, **kw)


# ------------------------------------------------------------------ labelled sets


def test_detection_set_labels_and_rounds_like_an_image_file():
    real, fake = images(7, 0, "real"), images(5, 1, "speckle")  # overshoots: clipped
    x, y = detection_set(real, fake)
    assert x.shape == (12, 1, 12, 12) and y.dtype == torch.long
    assert y.tolist() == [0] * 7 + [1] * 5
    assert torch.equal(x[:7], real)  # 8-bit real images pass unchanged
    assert torch.equal(x[7:], old_as_8bit(fake))
    assert torch.equal((x * 255).round() / 255, x)
    with pytest.raises(ValueError, match="fake"):
        detection_set(real, fake * 255)  # 0..255 pixels, not a model's overshoot
    with pytest.raises(ValueError, match="same shape"):
        detection_set(real, torch.rand(3, 1, 10, 10))
    with pytest.raises(TypeError, match="floating-point"):
        detection_set((real * 255).to(torch.uint8), fake)


# ------------------------------------------------------------------ the one-number rule


def brute_force(f_fit, y_fit, f_held, y_held):
    """Every threshold and side, in plain NumPy; ties broken as the docstring says."""
    best, rule = -1, None
    for t in np.unique(f_fit):
        for s in (1.0, -1.0):
            correct = int(((s * (f_fit - t) > 0).astype(int) == y_fit).sum())
            if correct > best:
                best, rule = correct, (t, s)
    t, s = rule
    return float(((s * (f_held - t) > 0).astype(int) == y_held).mean())


@pytest.mark.parametrize("seed", range(12))
def test_threshold_detector_matches_the_old_chapter_code_and_numpy(seed):
    g = torch.Generator().manual_seed(seed)
    n = int(torch.randint(5, 80, (1,), generator=g))
    kinds = ("blur", "speckle")
    x_fit, y_fit = detection_set(
        images(n, seed, "real"), images(n, seed + 50, kinds[seed % 2]).clamp(0, 1)
    )
    x_held, y_held = detection_set(
        images(n, seed + 100, "real"), images(n, seed + 150, kinds[(seed // 2) % 2]).clamp(0, 1)
    )
    acc = threshold_detector(x_fit, y_fit, x_held, y_held)
    assert acc == old_threshold_detector(x_fit, y_fit, x_held, y_held)
    f = [grey_share(v).double().numpy() for v in (x_fit, x_held)]
    assert acc == pytest.approx(brute_force(f[0], y_fit.numpy(), f[1], y_held.numpy()))
    # a random feature with many ties, through the feature= hook
    feat = lambda x: (x.mean(dim=(1, 2, 3)) * 4).round()  # noqa: E731
    acc = threshold_detector(x_fit, y_fit, x_held, y_held, feature=feat)
    f = [feat(v).double().numpy() for v in (x_fit, x_held)]
    assert acc == pytest.approx(brute_force(f[0], y_fit.numpy(), f[1], y_held.numpy()))


def test_threshold_detector_is_perfect_on_separable_sets_and_finds_the_side():
    real = torch.zeros(10, 1, 4, 4)  # no grey pixel
    grey = torch.full((10, 1, 4, 4), 0.5)  # all grey
    x, y = detection_set(real, grey)
    assert threshold_detector(x, y, x, y) == 1.0
    x2, y2 = detection_set(grey, real)  # the "real" set is the grey one: the rule flips side
    assert threshold_detector(x2, y2, x2, y2) == 1.0
    assert threshold_detector(x, y, x2, y2) == 0.0  # a rule learnt on one, used on the swapped


def test_threshold_detector_needs_one_label_per_image():
    x, y = detection_set(torch.zeros(4, 1, 4, 4), torch.ones(4, 1, 4, 4))
    with pytest.raises(ValueError, match="one label per image"):
        threshold_detector(x, y[:-1], x, y)


# ------------------------------------------------------------------ the experiment


class RandomLinear:
    """A detector whose 'training' draws from the global RNG, so the order of draws matters."""

    def __init__(self, x, y, seed):
        torch.manual_seed(seed)  # as the diffusion chapter does
        w = torch.randn(x[0].numel())
        self.w = w + 0.1 * torch.randn(1)  # one more draw from the global stream
        self.b = float(-(x.flatten(1) @ self.w).median())
        self.fit_labels = y.clone()
        self.fit_images = x.clone()


def score_linear(det, x, y):
    return float((((x.flatten(1) @ det.w + det.b) > 0).long() == y).double().mean())


def test_cross_detection_reproduces_both_chapters_loops_and_their_random_draws():
    n, seeds = 30, (0, 1, 2)
    real = images(2 * n + 5, 0, "real")
    fakes = {"VAE": images(2 * n, 1, "blur"), "GAN": images(2 * n + 3, 2, "speckle")}
    torch.manual_seed(123)
    out = cross_detection(RandomLinear, score_linear, real, fakes, n=n, seeds=seeds)
    after_new = torch.randn(3)
    torch.manual_seed(123)
    old, baseline = old_applications_experiment(real, fakes, n, seeds, RandomLinear, score_linear)
    after_old = torch.randn(3)
    assert torch.equal(after_new, after_old)  # the same draws, in the same order
    assert isinstance(out, CrossDetection)
    assert list(out.accuracy) == list(old) == [(a, b) for a in fakes for b in fakes]
    assert out.accuracy == {k: tuple(v) for k, v in old.items()}
    assert out.threshold == baseline
    diffusion = old_diffusion_experiment(real[: 2 * n], fakes, n, seeds, RandomLinear, score_linear)
    assert out.accuracy == {k: tuple(v) for k, v in diffusion.items()}
    assert len(set(out.accuracy.values())) > 1  # not a constant: the test can fail


def test_cross_detection_with_logistic_regression_never_tests_on_fit_images():
    sklearn = pytest.importorskip("sklearn.linear_model")
    n = 40
    real = images(2 * n, 3, "real")
    fakes = {"blur": images(2 * n, 4, "blur"), "speckle": images(2 * n, 5, "speckle")}
    fitted = []

    def fit(x, y, seed):
        clf = sklearn.LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
        clf.fit(x.flatten(1).numpy(), y.numpy())
        fitted.append(x)
        return clf

    def score(clf, x, y):
        return clf.score(x.flatten(1).numpy(), y.numpy())

    out = cross_detection(fit, score, real, fakes, n=n, seeds=(0, 1))
    assert len(fitted) == 4
    for name, fake in fakes.items():
        x_held, y_held = detection_set(real[n:], fake[n:])
        for a in fakes:
            x_fit, y_fit = detection_set(real[:n], fakes[a][:n])
            clf = sklearn.LogisticRegression(C=1.0, max_iter=2000, random_state=0)
            clf.fit(x_fit.flatten(1).numpy(), y_fit.numpy())
            by_hand = float((clf.predict(x_held.flatten(1).numpy()) == y_held.numpy()).mean())
            assert out.accuracy[a, name][0] == pytest.approx(by_hand)
            held_rows = {tuple(r) for r in x_held.flatten(1).tolist()}
            assert not held_rows & {tuple(r) for r in x_fit.flatten(1).tolist()}
    assert all(0.0 <= v <= 1.0 for accs in out.accuracy.values() for v in accs)
    assert out.threshold["blur", "blur"] > 0.9  # blur is what grey share sees


@pytest.mark.parametrize(
    ("kw", "exc", "match"),
    [
        ({"n": 0}, ValueError, "n must be"),
        ({"n": 11}, ValueError, "2 \\* n"),
        ({"seeds": ()}, ValueError, "seeds"),
        ({"seeds": (0.5,)}, TypeError, "seeds"),
        ({"fakes": {}}, TypeError, "fakes"),
        ({"fakes": {"x": torch.rand(20, 28, 28)}}, ValueError, "dimensions"),
        ({"fit": None}, TypeError, "callables"),
    ],
)
def test_cross_detection_rejects_bad_arguments(kw, exc, match):
    args = {
        "fit": RandomLinear,
        "score": score_linear,
        "real": images(20, 0, "real"),
        "fakes": {"a": images(20, 1, "blur")},
        "n": 10,
        "seeds": (0,),
    } | kw
    fit, score, real = args.pop("fit"), args.pop("score"), args.pop("real")
    fakes = args.pop("fakes")
    with pytest.raises(exc, match=match):
        cross_detection(fit, score, real, fakes, **args)


def test_cross_detection_reproduces_the_applications_chapter_with_a_trained_lenet():
    """End to end, as the chapter runs it: a two-class LeNet trained by train_classifier."""
    from dataclasses import replace

    from aigc_course.models import ClassifierConfig, LeNetClassifier
    from aigc_course.train.classifier import (
        ClassifierTrainConfig,
        classifier_accuracy,
        train_classifier,
    )

    train_cfg = ClassifierTrainConfig(epochs=1, batch_size=16, max_shift=1, progress=False)

    def fit_detector(images, labels, seed):  # the chapter's, verbatim
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            detector = LeNetClassifier(ClassifierConfig(num_classes=2))
        run = replace(train_cfg, seed=seed, device="cpu")
        train_classifier(detector, images, labels, run)
        return detector.cpu()

    def real28(n, seed):
        g = torch.Generator().manual_seed(seed)
        return to_unit(
            torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8) // 200 * 255
        )

    n, seeds = 24, (0, 1)
    real = real28(2 * n, 0)
    g = torch.Generator().manual_seed(1)
    fakes = {
        "blur": torch.rand(2 * n, 1, 28, 28, generator=g) * 0.7 + 0.15,
        "speckle": torch.rand(2 * n, 1, 28, 28, generator=g) * 1.2 - 0.1,
    }
    torch.manual_seed(7)
    new = cross_detection(fit_detector, classifier_accuracy, real, fakes, n=n, seeds=seeds)
    after_new = torch.rand(2)
    torch.manual_seed(7)
    old, baseline = old_applications_experiment(
        real, fakes, n, seeds, fit_detector, classifier_accuracy
    )
    assert torch.equal(after_new, torch.rand(2))
    assert new.accuracy == {k: tuple(v) for k, v in old.items()}
    assert new.threshold == baseline
