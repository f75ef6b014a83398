r"""Run-time switches shared by every chapter: seeding, device choice, quick mode, atomic writes.

Nothing here keeps state between calls; each function reads its inputs (or the environment) anew.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import random
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from aigc_course._check import check_count

QUICK_ENV = "AIGC_QUICK"
r"""Name of the environment variable that turns on quick mode (``AIGC_QUICK=1``)."""


def seed_everything(seed: int) -> torch.Generator:
    r"""Seed Python, NumPy and PyTorch (CPU and CUDA) and return a fresh ``torch.Generator``.

    Parameters
    ----------
    seed : int
        Non-negative integer seed.

    Returns
    -------
    torch.Generator
        A CPU generator seeded with ``seed``, for code that prefers an explicit generator.
    """
    seed = check_count(seed, "seed", minimum=0)
    if seed >= 2**64:
        raise ValueError(f"seed must be a non-negative int below 2**64, got {seed}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


@contextlib.contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    r"""Put ``module`` in evaluation mode for a block, then restore its previous mode.

    Sampling from a network must not use dropout or update batch-norm statistics, and must
    not leave a network that was training in evaluation mode (or the reverse).

    Parameters
    ----------
    module : torch.nn.Module

    Yields
    ------
    torch.nn.Module
        ``module`` itself, in evaluation mode.
    """
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def get_device(prefer: str | None = None) -> torch.device:
    r"""Pick the best available device: CUDA, then Apple MPS, then CPU.

    Parameters
    ----------
    prefer : str, optional
        Force a device (``"cpu"``, ``"cuda"``, ``"mps"``); an unavailable one is an error.
    """
    if prefer is not None:
        if not isinstance(prefer, str | torch.device):
            raise TypeError(
                f"prefer must be a device name such as 'cpu', 'cuda' or 'mps', got {prefer!r}"
            )
        try:
            dev = torch.device(prefer)
        except RuntimeError as exc:
            raise ValueError(
                f"prefer={prefer!r} is not a device name; use 'cpu', 'cuda', 'cuda:1' or 'mps'"
            ) from exc
        available = {
            "cpu": True,
            "cuda": torch.cuda.is_available(),
            "mps": torch.backends.mps.is_available(),
        }
        if not available.get(dev.type, False):
            raise RuntimeError(
                f"device {prefer!r} was requested but is not available here; "
                "call get_device() without arguments to pick the best available one"
            )
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def quick_mode() -> bool:
    r"""Whether quick mode is on: ``AIGC_QUICK`` set to ``1``, ``true`` or ``yes``.

    Quick mode shrinks training budgets so that every chapter executes in minutes on a
    2-core CPU (the course's CI runs this way). Chapters read it once, at the top, and
    shrink their config with :func:`dataclasses.replace`.
    """
    value = os.environ.get(QUICK_ENV, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{QUICK_ENV}={value!r} is not understood; use {QUICK_ENV}=1 or {QUICK_ENV}=0")


TEMP_SUFFIX = ".tmp"
r"""Suffix of :func:`atomic_write`'s temporary files, named ``.NAME.aigc-HOST-PID.XXXXXXXX.tmp``."""
STALE_TEMP_SECONDS = 15 * 60
r"""A temporary file of :func:`atomic_write` untouched this long is taken as orphaned (seconds)."""

_TEMP_TOKEN = r"[a-z0-9_]{8}"  # what tempfile.mkstemp puts between prefix and suffix


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists but belongs to someone else
        return True
    return True


def _is_orphan(tmp: Path, match: re.Match[str], now: float) -> bool:
    r"""Whether ``tmp`` (a name of this package's pattern) was left by a process that is gone."""
    try:
        age = now - tmp.stat().st_mtime
    except OSError:
        return False
    if age > STALE_TEMP_SECONDS:
        return True  # nobody writes a temp file in silence this long, live or not
    host, pid = match.group("host"), match.group("pid")
    if host is None or host != _host_tag():
        return False  # an older name without a pid, or another machine's: age decides alone
    pid_int = int(pid)
    return pid_int != os.getpid() and not _pid_alive(pid_int)


def remove_orphaned_temps(path: str | os.PathLike) -> list[Path]:
    r"""Delete temporary files that a killed :func:`atomic_write` left beside ``path``.

    Only names of this package's own pattern for this very target are considered,
    ``.NAME.aigc-HOST-PID.XXXXXXXX.tmp`` (and the older ``.NAME.XXXXXXXX.tmp``), and only
    those whose writer is gone: a process of this machine that no longer runs, or a file
    untouched for :data:`STALE_TEMP_SECONDS`. A file that cannot be removed is left alone.

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    path = Path(path)
    pattern = re.compile(
        rf"^\.{re.escape(path.name)}\.(?:aigc-(?P<host>[0-9a-f]{{6}})-(?P<pid>\d+)\.)?"
        rf"{_TEMP_TOKEN}{re.escape(TEMP_SUFFIX)}$"
    )
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        candidate = Path(entry.path)
        if _is_orphan(candidate, match, now):
            with contextlib.suppress(OSError):
                candidate.unlink()
                removed.append(candidate)
    return removed


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    r"""Make a rename in ``folder`` durable; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename itself has happened
    finally:
        os.close(fd)


def _unusable(path: Path, exc: OSError) -> OSError:
    r"""The same kind of OSError, with a message naming the target and the fix."""
    reason = exc.strerror or str(exc)
    return type(exc)(
        exc.errno,
        f"cannot write {path}: {reason} ({exc.filename or path.parent}). Choose a folder you "
        "can write to, or fix its permissions (a file where a folder should be must be moved)",
    )


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    r"""Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    A reader never sees a half-written file: on any exception the temporary file is removed
    and ``path`` is left as it was. On success the temporary file is flushed to disk
    (``fsync``) before the rename and the folder after it, so a power loss leaves either
    the old or the new file, never an empty one. Temporary files that a killed process
    left beside ``path`` are removed first (:func:`~aigc_course.runtime.remove_orphaned_temps`).

    Raises
    ------
    IsADirectoryError
        If ``path`` is an existing folder (checked before the block runs).
    OSError
        If the folder cannot be created or written; the message names it and the fix.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise IsADirectoryError(
                errno.EISDIR, f"cannot write {path}: it is a folder; give the path of a file in it"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_orphaned_temps(path)
        fd, tmp = tempfile.mkstemp(
            dir=path.parent,
            prefix=f".{path.name}.aigc-{_host_tag()}-{os.getpid()}.",
            suffix=TEMP_SUFFIX,
        )
    except IsADirectoryError:
        raise
    except OSError as exc:
        raise _unusable(path, exc) from exc
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates the file 0600; give the finished file the usual permissions (0666 minus umask).
    umask = os.umask(0)
    os.umask(umask)
    tmp_path.chmod(0o666 & ~umask)
    try:
        yield tmp_path
        _fsync_file(tmp_path)
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
