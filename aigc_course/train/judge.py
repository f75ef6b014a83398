r"""The metrics' judge: a LeNet-style MNIST classifier, trained once per training set and cached.

``trained_classifier()`` trains :class:`~aigc_course.models.classifier.LeNetClassifier` on the MNIST
training split with a fixed seed, or loads the weights it cached on an earlier call, and prints its
test accuracy. The cache entry is keyed by a SHA-256 hash of the training images and labels and of both
configs, so the 5,000-image offline subset and the full 60,000 images never share an entry.

It lives in :mod:`aigc_course.train` because it downloads, trains and caches; the metrics that use
its features (:mod:`aigc_course.metrics`) stay pure math and never import training code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path

import torch

from aigc_course._check import check_tensor
from aigc_course.data.errors import DataError
from aigc_course.data.mnist import ImageData, load_mnist
from aigc_course.data.sources import cache_dir
from aigc_course.data.transforms import to_unit
from aigc_course.models.classifier import ClassifierConfig, LeNetClassifier
from aigc_course.train.checkpoint import load_checkpoint, save_checkpoint
from aigc_course.train.classifier import (
    ClassifierTrainConfig,
    classifier_accuracy,
    train_classifier,
)

__all__ = ["classifier_cache_key", "trained_classifier"]

_FORMAT = 1
# Settings that do not change the trained weights (on one device) stay out of the cache key.
# Run settings that do not change the trained weights (the cache keys of earlier versions hold).
_NOT_IN_KEY = ("progress", "device", "checkpoint_path", "checkpoint_every", "log_every")
_MODEL_CFG = ClassifierConfig()
_TRAIN_CFG = ClassifierTrainConfig(progress=False)


def _train_settings(cfg: ClassifierTrainConfig) -> dict:
    settings = {
        k: v for k, v in dataclasses.asdict(cfg).items() if k not in _NOT_IN_KEY
    }
    if (
        settings.get("max_seconds") is None
    ):  # keeps the keys of caches written before it existed
        settings.pop("max_seconds", None)
    return settings


def classifier_cache_key(
    images: torch.Tensor,
    labels: torch.Tensor,
    model_cfg: ClassifierConfig,
    train_cfg: ClassifierTrainConfig,
) -> str:
    r"""SHA-256 (hex) of the training data and of every setting that changes the trained weights.

    Parameters
    ----------
    images : tensor (N, 28, 28) uint8
    labels : tensor (N,) int64
    model_cfg : ClassifierConfig
    train_cfg : ClassifierTrainConfig
        ``progress`` and ``device`` are left out of the key.

    Returns
    -------
    str, 64 hex digits
    """
    check_tensor(images, "images", nonempty=False, shape_hint="(N, 28, 28) uint8")
    check_tensor(labels, "labels", nonempty=False, shape_hint="(N,) int64")
    if not isinstance(model_cfg, ClassifierConfig):
        raise TypeError(
            f"model_cfg must be a ClassifierConfig, got {type(model_cfg).__name__}"
        )
    if not isinstance(train_cfg, ClassifierTrainConfig):
        raise TypeError(
            f"train_cfg must be a ClassifierTrainConfig, got {type(train_cfg).__name__}"
        )
    h = hashlib.sha256()
    h.update(f"aigc_course-classifier-v{_FORMAT}".encode())
    for t in (images, labels):
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.numpy().tobytes())
    h.update(repr(dataclasses.asdict(model_cfg)).encode())
    h.update(repr(sorted(_train_settings(train_cfg).items())).encode())
    return h.hexdigest()


def _check_image_data(data: object, name: str) -> ImageData:
    if not isinstance(data, ImageData):
        raise TypeError(
            f"{name} must be an ImageData from aigc_course.data.load_mnist, got {type(data).__name__}"
        )
    if tuple(data.images.shape[1:]) != (28, 28):
        raise ValueError(
            f"{name} images must be 28x28, got {tuple(data.images.shape[1:])}"
        )
    return data


def trained_classifier(
    train: ImageData | None = None,
    test: ImageData | None = None,
    *,
    model_cfg: ClassifierConfig = _MODEL_CFG,
    train_cfg: ClassifierTrainConfig = _TRAIN_CFG,
    cache: bool = True,
    folder: str | Path | None = None,
    verbose: bool = True,
) -> LeNetClassifier:
    r"""Return the LeNet classifier trained on ``train`` (seed ``train_cfg.seed``), from the cache if possible.

    The first call trains the network (about 20 s on one CPU core for the 5,000-image offline subset,
    a few minutes for all 60,000 images) and saves its weights atomically to
    ``folder/classifiers/lenet-n{N}-{key[:16]}.pt`` (``folder`` defaults to
    :func:`aigc_course.data.cache_dir`); later calls with the same data and settings load them. The key
    (:func:`classifier_cache_key`) hashes the training images and labels, so a different training set
    never reuses another's weights. The initial weights come from PyTorch's global RNG seeded with
    ``train_cfg.seed`` inside ``torch.random.fork_rng``, which leaves the caller's RNG state untouched.

    Parameters
    ----------
    train : ImageData, optional
        Training split; default ``load_mnist("train")`` (the 5,000-image subset when offline).
    test : ImageData, optional
        Test split for the printed accuracy; default ``load_mnist("test")`` if it can be found
        (otherwise no accuracy is printed).
    model_cfg : ClassifierConfig
    train_cfg : ClassifierTrainConfig
    cache : bool
        Read and write the cache; ``False`` always trains and writes nothing.
    folder : str or Path, optional
        Cache folder instead of :func:`aigc_course.data.cache_dir`.
    verbose : bool
        Print where the weights came from and the test accuracy (one line each).

    Returns
    -------
    LeNetClassifier
        In eval mode, on the CPU; ``features(x)`` and ``probs(x)`` take images (B, 1, 28, 28) in [0, 1].

    References
    ----------
    LeCun et al. (1998), LeNet-5; Heusel et al. (2017) for using a classifier's features in FID.
    """
    if train is None:
        train = load_mnist("train", verbose=verbose)
    train = _check_image_data(train, "train")
    if not isinstance(train_cfg, ClassifierTrainConfig) or not isinstance(
        model_cfg, ClassifierConfig
    ):
        raise TypeError(
            "model_cfg must be a ClassifierConfig and train_cfg a ClassifierTrainConfig"
        )
    key = classifier_cache_key(train.images, train.labels, model_cfg, train_cfg)
    path = (
        Path(folder if folder is not None else cache_dir())
        / "classifiers"
        / f"lenet-n{len(train)}-{key[:16]}.pt"
    )
    model = _load_cached(path, key, model_cfg, verbose) if cache else None
    if model is not None:
        if verbose:
            print(
                f"classifier: weights loaded from the cache ({path.name}, trained on "
                f"{len(train):,} {train.name} {train.split} images from {train.source})"
            )
    else:
        model = _train_and_cache(
            train, model_cfg, train_cfg, path if cache else None, key, verbose
        )
    model.eval()
    _report_accuracy(model, test, verbose)
    return model


def _load_cached(
    path: Path, key: str, model_cfg: ClassifierConfig, verbose: bool
) -> LeNetClassifier | None:
    r"""The cached classifier, or ``None`` if there is none or it is damaged or foreign."""
    if not path.is_file():
        return None
    model = LeNetClassifier(model_cfg)
    try:
        ckpt = load_checkpoint(path)
        if ckpt.get("key") != key:
            raise ValueError("its key does not match")
        model.load_state_dict(ckpt["model"])
    except Exception as exc:  # a damaged or foreign file: retrain and replace it
        if verbose:
            print(
                f"classifier: ignoring the cache file {path} ({type(exc).__name__}: {exc}); "
                "training again"
            )
        return None
    return model


def _train_and_cache(
    train: ImageData,
    model_cfg: ClassifierConfig,
    train_cfg: ClassifierTrainConfig,
    path: Path | None,
    key: str,
    verbose: bool,
) -> LeNetClassifier:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(train_cfg.seed)
        model = LeNetClassifier(model_cfg)
    start = time.perf_counter()
    train_classifier(model, to_unit(train.images), train.labels, train_cfg)
    seconds = time.perf_counter() - start
    model.cpu()
    if path is not None:
        save_checkpoint(
            path,
            format=_FORMAT,
            key=key,
            model=model.state_dict(),
            n_train=len(train),
            source=train.source,
            model_cfg=dataclasses.asdict(model_cfg),
            train_cfg=_train_settings(train_cfg),
        )
    if verbose:
        where = f"; weights cached as {path.name}" if path is not None else ""
        print(
            f"classifier: trained on {len(train):,} {train.name} {train.split} images from "
            f"{train.source} in {seconds:.1f} s{where}"
        )
    return model


def _report_accuracy(
    model: LeNetClassifier, test: ImageData | None, verbose: bool
) -> None:
    if test is None:
        try:
            test = load_mnist("test", verbose=verbose)
        except DataError:
            if verbose:
                print(
                    "classifier: no test split found, so its accuracy is not measured"
                )
            return
    test = _check_image_data(test, "test")
    acc = classifier_accuracy(model, to_unit(test.images), test.labels)
    if verbose:
        print(
            f"classifier: test accuracy {acc:.2%} on {len(test):,} {test.name} test images"
        )
