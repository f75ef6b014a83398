r"""Read and write IDX files, the binary format of MNIST [1]_ and Fashion-MNIST.

An IDX file is a 4-byte magic number, one big-endian ``uint32`` per dimension, then the
raw values in C order. The magic number is two zero bytes, a type byte (``0x08`` for
unsigned bytes, the only type used here) and the number of dimensions: ``0x00000803`` for
an ``(N, 28, 28)`` image file and ``0x00000801`` for an ``(N,)`` label file. The files are
usually distributed gzip-compressed; both forms are read.

References
----------
.. [1] Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to
   document recognition", Proc. IEEE 86(11), 1998. Format described at
   http://yann.lecun.com/exdb/mnist/.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from aigc_course.data.errors import DataError
from aigc_course.runtime import atomic_write

__all__ = [
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "IMAGE_SHAPE",
    "read_idx_bytes",
    "parse_idx",
    "read_idx_images",
    "read_idx_labels",
    "write_idx",
]

IMAGES_MAGIC = 0x00000803
r"""Magic number of an unsigned-byte, 3-D IDX file (images, ``(N, H, W)``)."""
LABELS_MAGIC = 0x00000801
r"""Magic number of an unsigned-byte, 1-D IDX file (labels, ``(N,)``)."""
IMAGE_SHAPE = (28, 28)
r"""Height and width of an MNIST / Fashion-MNIST image."""

_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"
_FIX = (
    "The file is damaged or is not the file it is named after: delete it (a downloaded copy "
    "is fetched again on the next call) or replace it with an intact original."
)


def _fail(path: str | os.PathLike, problem: str) -> DataError:
    return DataError(f"{path}: {problem}. {_FIX}")


def _as_path(path: object, name: str = "path") -> Path:
    if isinstance(path, str) and not path.strip():
        raise ValueError(f"{name} is an empty string; give the path of a file")
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"{name} must be a str or os.PathLike path, got {type(path).__name__}")
    return Path(path)


def _declared_size(head: bytes) -> int | None:
    r"""Total file size that a complete IDX header declares, or ``None`` if ``head`` is too short."""
    if len(head) < 4:
        return None
    ndim = head[3]
    header_len = 4 + 4 * ndim
    if len(head) < header_len:
        return None
    dims = struct.unpack(f">{ndim}I", head[4:header_len])
    return header_len + int(np.prod(dims, dtype=object))


def _read_gzip_bounded(path: Path, raw_file, max_bytes: int | None) -> bytes:
    r"""Inflate at most what the IDX header declares (and ``max_bytes``), plus one probe byte."""
    with gzip.GzipFile(fileobj=raw_file) as stream:
        head = stream.read(4)
        if len(head) == 4:
            head += stream.read(4 * head[3])
        declared = _declared_size(head)
        limit = declared if declared is not None else len(head)
        if max_bytes is not None:
            limit = min(limit, max_bytes)
        body = stream.read(max(limit - len(head), 0))
        data = head + body
        if len(data) == limit and stream.read(1):
            raise _fail(
                path,
                f"the gzip data inflates to more than {limit:,} bytes, the most that "
                + (
                    "its IDX header and the expected split allow"
                    if max_bytes is not None
                    else "its IDX header declares"
                ),
            )
    return data


def read_idx_bytes(path: str | os.PathLike, *, max_bytes: int | None = None) -> bytes:
    r"""Return the uncompressed bytes of an IDX file, gunzipping it if it is gzip data.

    Compression is detected from the content (the gzip magic ``1f 8b``), not the file name.
    Reads are bounded: a gzip stream is inflated only up to the size its IDX header declares
    (and ``max_bytes``), so a small damaged or hostile file cannot fill the memory.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.gz`` or uncompressed file.
    max_bytes : int, optional
        Largest uncompressed size accepted, e.g. ``16 + 60000 * 784`` for MNIST's
        training images; larger content is an error before it is read.

    Raises
    ------
    DataError
        If the file cannot be read, its gzip stream is truncated or corrupt, or it holds
        more than the header (or ``max_bytes``) allows.
    """
    path = _as_path(path)
    try:
        with path.open("rb") as raw_file:
            magic = raw_file.read(2)
            raw_file.seek(0)
            if magic != _GZIP_MAGIC:
                size = os.fstat(raw_file.fileno()).st_size
                if max_bytes is not None and size > max_bytes:
                    raise _fail(
                        path,
                        f"{size:,} bytes, more than the {max_bytes:,} that the expected split "
                        "allows",
                    )
                return raw_file.read()
            try:
                return _read_gzip_bounded(path, raw_file, max_bytes)
            except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
                raise _fail(
                    path, f"the gzip data is truncated or corrupt ({type(exc).__name__}: {exc})"
                ) from exc
    except OSError as exc:
        raise DataError(
            f"{path}: cannot be read ({exc}). Check that it exists, is a file and is readable."
        ) from exc


def parse_idx(
    data: bytes,
    *,
    ndim: int,
    source: str | os.PathLike = "<bytes>",
    expected_count: int | None = None,
    item_shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    r"""Parse the uncompressed bytes of an unsigned-byte IDX file into a NumPy array.

    Parameters
    ----------
    data : bytes
        The whole uncompressed file.
    ndim : int
        Expected number of dimensions: 3 for images, 1 for labels.
    source : str or os.PathLike, optional
        Where the bytes came from; only used in error messages.
    expected_count : int, optional
        Required number of items (first dimension), e.g. 10,000 for the MNIST test split.
    item_shape : tuple of int, optional
        Required shape of one item, e.g. ``(28, 28)``; its length must be ``ndim - 1``.

    Returns
    -------
    numpy.ndarray
        A writable ``uint8`` array of shape ``(N, *item_shape)``.

    Raises
    ------
    DataError
        On a wrong magic number, wrong dimensions or item count, or a short or long payload.
    """
    if item_shape is not None and len(item_shape) != ndim - 1:
        raise ValueError(f"item_shape {item_shape} does not fit ndim={ndim}")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise _fail(
            source, f"only {len(data)} bytes, too short for an IDX header of {header_len} bytes"
        )
    (magic,) = struct.unpack(">I", data[:4])
    expected_magic = (_UBYTE << 8) | ndim
    if magic != expected_magic:
        kind = {IMAGES_MAGIC: "an image file", LABELS_MAGIC: "a label file"}.get(
            magic, "not an unsigned-byte IDX file"
        )
        raise _fail(
            source,
            f"wrong magic number 0x{magic:08x} (that is {kind}); expected 0x{expected_magic:08x} "
            f"(zero bytes, type byte 0x{_UBYTE:02x} = unsigned byte, {ndim} dimension(s))",
        )
    dims = struct.unpack(f">{ndim}I", data[4:header_len])
    if item_shape is not None and tuple(dims[1:]) != tuple(item_shape):
        raise _fail(source, f"items have shape {tuple(dims[1:])}, expected {tuple(item_shape)}")
    count = dims[0]
    if expected_count is not None and count != expected_count:
        raise _fail(source, f"the header says {count:,} items, expected {expected_count:,}")
    payload = len(data) - header_len
    needed = int(np.prod(dims, dtype=np.int64))
    if payload != needed:
        what = "truncated" if payload < needed else "has trailing bytes"
        raise _fail(
            source,
            f"payload {what}: {payload:,} bytes for a header of shape {dims} ({needed:,} bytes)",
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(dims).copy()


def read_idx_images(
    path: str | os.PathLike,
    *,
    expected_count: int | None = None,
    image_shape: tuple[int, int] = IMAGE_SHAPE,
) -> np.ndarray:
    r"""Read an IDX image file (``0x00000803``), gzip or raw, into a ``uint8`` array.

    Returns
    -------
    numpy.ndarray
        Shape ``(N, 28, 28)`` (or ``(N, *image_shape)``), dtype ``uint8``, values 0..255.

    Raises
    ------
    DataError
        If the file is unreadable, truncated, or has the wrong magic, shape or count.
    """
    path = _as_path(path)
    max_bytes = None
    if expected_count is not None:
        max_bytes = 16 + int(expected_count) * int(np.prod(image_shape))
    return parse_idx(
        read_idx_bytes(path, max_bytes=max_bytes),
        ndim=3,
        source=path,
        expected_count=expected_count,
        item_shape=image_shape,
    )


def read_idx_labels(path: str | os.PathLike, *, expected_count: int | None = None) -> np.ndarray:
    r"""Read an IDX label file (``0x00000801``), gzip or raw, into a ``uint8`` array.

    Returns
    -------
    numpy.ndarray
        Shape ``(N,)``, dtype ``uint8``.

    Raises
    ------
    DataError
        If the file is unreadable, truncated, or has the wrong magic or count.
    """
    path = _as_path(path)
    max_bytes = None if expected_count is None else 8 + int(expected_count)
    return parse_idx(
        read_idx_bytes(path, max_bytes=max_bytes),
        ndim=1,
        source=path,
        expected_count=expected_count,
        item_shape=(),
    )


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    r"""Write a ``uint8`` array as an IDX file, gzip-compressed when ``path`` ends in ``.gz``.

    Mostly for tests and for saving small derived data sets in the MNIST format. The write
    is atomic (see :func:`aigc_course.runtime.atomic_write`) and the gzip header carries no
    time stamp, so the same array always gives the same bytes.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    array : numpy.ndarray or torch.Tensor
        ``uint8`` values of any shape with at least one dimension, e.g. ``(N, 28, 28)`` or ``(N,)``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = _as_path(path)
    if array is None:
        raise TypeError("array must be a uint8 numpy.ndarray or torch.Tensor, got None")
    arr = np.asarray(array)
    if arr.dtype != np.uint8:
        raise TypeError(f"write_idx needs a uint8 array, got dtype {arr.dtype}")
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"write_idx needs at least one dimension, got shape {arr.shape}")
    header = struct.pack(">I", (_UBYTE << 8) | arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    data = header + np.ascontiguousarray(arr).tobytes()
    path = Path(path)
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)
    return path
