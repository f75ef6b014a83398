r"""Tests of the LeNet classifier, its training loop and the cached trained_classifier."""

from __future__ import annotations

import pytest
import torch

import aigc_course.train.judge as judge_module
from aigc_course.data import DataError, ImageData, to_unit
from aigc_course.metrics import classifier_features
from aigc_course.models.classifier import ClassifierConfig, LeNetClassifier
from aigc_course.train import TrainingDiverged, classifier_cache_key, trained_classifier
from aigc_course.train.classifier import (
    ClassifierTrainConfig,
    classifier_accuracy,
    train_classifier,
)

TINY = ClassifierConfig(channels=(2, 4), feature_dim=8)
FAST = ClassifierTrainConfig(epochs=4, batch_size=16, lr=1e-2, max_shift=1, progress=False)


def _toy_digits(n=96, seed=0):
    r"""Three easy classes of 28x28 uint8 images: a horizontal bar, a vertical bar, a square, with noise."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    images = torch.randint(0, 30, (n, 28, 28), generator=gen)
    images[labels == 0, 12:16, 4:24] = 255
    images[labels == 1, 4:24, 12:16] = 255
    images[labels == 2, 8:20, 8:20] = 255
    return ImageData(
        images=images.to(torch.uint8), labels=labels, source="test", name="MNIST", split="train"
    )


# ------------------------------------------------------------------ model


def test_lenet_shapes_and_probabilities():
    torch.manual_seed(0)
    model = LeNetClassifier(ClassifierConfig())
    x = torch.rand(5, 1, 28, 28)
    assert model(x).shape == (5, 10)
    h = model.features(x)
    assert h.shape == (5, 128) and (h >= 0).all()
    p = model.probs(x)
    torch.testing.assert_close(p.sum(1), torch.ones(5))
    torch.testing.assert_close(p, model.head(h).softmax(1))
    # LeNet-sized: (16*25 + 16) + (32*16*25 + 32) + (800*128 + 128) + (128*10 + 10) parameters.
    assert sum(p.numel() for p in model.parameters()) == 416 + 12832 + 102528 + 1290


def test_lenet_input_errors():
    model = LeNetClassifier(TINY)
    with pytest.raises(ValueError, match=r"add the channel axis with x.unsqueeze\(1\)"):
        model(torch.rand(2, 28, 28))
    with pytest.raises(
        ValueError, match=r"expected images of shape \(B, 1, 28, 28\), got \(2, 1, 32, 32\)"
    ):
        model(torch.rand(2, 1, 32, 32))
    with pytest.raises(TypeError, match="convert uint8 images with aigc_course.data.to_unit"):
        model(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(
        ValueError,
        match="map \\[-1, 1\\] images \\(GAN output\\) with aigc_course.data.from_signed",
    ):
        model(torch.rand(2, 1, 28, 28) * 2 - 1)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"channels": (16,)}, "must be two ints"),
        ({"channels": (16, 0)}, "channels\\[i\\] must be an int >= 1"),
        ({"feature_dim": 0}, "feature_dim must be an int >= 1"),
        ({"num_classes": 1}, "num_classes must be at least 2"),
    ],
)
def test_classifier_config_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClassifierConfig(**kwargs)


# ------------------------------------------------------------------ training


def test_train_classifier_learns_and_is_bit_reproducible():
    data = _toy_digits()
    x, y = to_unit(data.images), data.labels
    weights = []
    for _ in range(2):
        torch.manual_seed(0)
        model = LeNetClassifier(ClassifierConfig(channels=(2, 4), feature_dim=8, num_classes=3))
        result = train_classifier(model, x, y, FAST)
        assert result.model is model and not model.training
        assert len(result.losses) == 4 * 6
        weights.append([p.detach().clone() for p in model.parameters()])
    for a, b in zip(*weights, strict=False):
        assert torch.equal(a, b)
    assert result.losses[-1] < result.losses[0]
    assert classifier_accuracy(model, x, y, batch_size=10) > 0.9


def test_train_classifier_errors_and_divergence():
    data = _toy_digits(32)
    x, y = to_unit(data.images), data.labels
    model = LeNetClassifier(TINY)
    with pytest.raises(TypeError, match="cfg must be a ClassifierTrainConfig"):
        train_classifier(model, x, y, {"epochs": 1})
    with pytest.raises(ValueError, match="images must be a float tensor"):
        train_classifier(model, data.images, y, FAST)
    with pytest.raises(ValueError, match=r"labels must be an int64 tensor of shape \(32,\)"):
        train_classifier(model, x, y.int(), FAST)
    with pytest.raises(ValueError, match="labels must be in 0..9"):
        classifier_accuracy(model, x, y + 9)
    with pytest.raises(TrainingDiverged, match="cross-entropy became nan at step 1"):
        train_classifier(model, x * float("nan"), y, FAST)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"epochs": 0}, "epochs must be an int >= 1"),
        ({"lr": -1.0}, "lr must be a positive finite number"),
        ({"weight_decay": -0.1}, "weight_decay must be a finite number >= 0"),
        ({"max_shift": 20}, "would shift digits out"),
    ],
)
def test_classifier_train_config_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClassifierTrainConfig(**kwargs)


# ------------------------------------------------------------------ trained_classifier (cache)


def test_trained_classifier_trains_once_then_loads_from_cache(tmp_path, capsys):
    train, test = _toy_digits(64, seed=1), _toy_digits(30, seed=2)
    kw = dict(model_cfg=TINY, train_cfg=FAST, folder=tmp_path)
    first = trained_classifier(train, test, **kw)
    out = capsys.readouterr().out
    assert "classifier: trained on 64 MNIST train images from test" in out
    assert "classifier: test accuracy" in out and "on 30 MNIST test images" in out
    files = list((tmp_path / "classifiers").glob("lenet-n64-*.pt"))
    assert len(files) == 1 and not list((tmp_path / "classifiers").glob(".*tmp"))
    second = trained_classifier(train, test, **kw)
    assert "weights loaded from the cache" in capsys.readouterr().out
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=False):
        assert torch.equal(a, b)
    assert not second.training


def test_cache_key_separates_data_sources_and_settings(tmp_path):
    a, b = _toy_digits(64, seed=1), _toy_digits(64, seed=3)
    key = classifier_cache_key(a.images, a.labels, TINY, FAST)
    assert len(key) == 64
    assert key == classifier_cache_key(a.images.clone(), a.labels.clone(), TINY, FAST)
    assert key != classifier_cache_key(b.images, b.labels, TINY, FAST)  # other images, same size
    assert key != classifier_cache_key(a.images[:60], a.labels[:60], TINY, FAST)  # a subset
    assert key != classifier_cache_key(
        a.images, a.labels, TINY, ClassifierTrainConfig(epochs=3, progress=False)
    )
    assert key != classifier_cache_key(
        a.images, a.labels, ClassifierConfig(channels=(2, 5), feature_dim=8), FAST
    )
    # Progress bars and the device do not change the weights' identity.
    assert key == classifier_cache_key(
        a.images,
        a.labels,
        TINY,
        ClassifierTrainConfig(
            epochs=4, batch_size=16, lr=1e-2, max_shift=1, progress=True, device="cpu"
        ),
    )
    trained_classifier(a, a, model_cfg=TINY, train_cfg=FAST, folder=tmp_path, verbose=False)
    trained_classifier(b, b, model_cfg=TINY, train_cfg=FAST, folder=tmp_path, verbose=False)
    assert len(list((tmp_path / "classifiers").glob("*.pt"))) == 2


def test_damaged_cache_file_is_replaced(tmp_path, capsys):
    train = _toy_digits(48, seed=4)
    model = trained_classifier(
        train, train, model_cfg=TINY, train_cfg=FAST, folder=tmp_path, verbose=False
    )
    (path,) = (tmp_path / "classifiers").glob("*.pt")
    path.write_bytes(b"not a checkpoint")
    again = trained_classifier(train, train, model_cfg=TINY, train_cfg=FAST, folder=tmp_path)
    assert "ignoring the cache file" in capsys.readouterr().out
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=False):
        assert torch.equal(a, b)  # retrained from the same seed: the same weights
    assert (
        trained_classifier(
            train, train, model_cfg=TINY, train_cfg=FAST, folder=tmp_path, verbose=False
        )
        is not None
    )


def test_trained_classifier_default_splits_and_no_cache(tmp_path, monkeypatch, capsys):
    train = _toy_digits(48, seed=5)

    def fake_load(split, verbose=True):
        if split == "train":
            return train
        raise DataError("no test split here")

    monkeypatch.setattr(judge_module, "load_mnist", fake_load)
    model = trained_classifier(model_cfg=TINY, train_cfg=FAST, cache=False, folder=tmp_path)
    out = capsys.readouterr().out
    assert "no test split found, so its accuracy is not measured" in out
    assert "cached" not in out and not (tmp_path / "classifiers").exists()
    assert isinstance(model, LeNetClassifier)
    with pytest.raises(TypeError, match="train must be an ImageData"):
        trained_classifier(torch.zeros(3, 28, 28), model_cfg=TINY, train_cfg=FAST, folder=tmp_path)
    with pytest.raises(TypeError, match="model_cfg must be a ClassifierConfig"):
        trained_classifier(train, train, model_cfg=TINY, train_cfg={"epochs": 1}, folder=tmp_path)


def test_classifier_features_batches_and_restores_mode():
    torch.manual_seed(0)
    model = LeNetClassifier(TINY).train()
    x = torch.rand(23, 1, 28, 28)
    out = classifier_features(model, x, batch_size=5)
    assert model.training
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(out.features, model.features(x).double())
        torch.testing.assert_close(out.probs, model.probs(x).double())
    assert out.features.dtype == torch.float64 and out.probs.shape == (23, 10)
    with pytest.raises(ValueError, match="images must be a non-empty tensor"):
        classifier_features(model, torch.zeros(0, 1, 28, 28))
