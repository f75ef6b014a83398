r"""Run-time switches shared by every chapter: seeding, device choice, quick mode, atomic writes.

Nothing here keeps state between calls; each function reads its inputs (or the environment) anew.
"""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

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
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**64:
        raise ValueError(f"seed must be a non-negative int below 2**64, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def get_device(prefer: str | None = None) -> torch.device:
    r"""Pick the best available device: CUDA, then Apple MPS, then CPU.

    Parameters
    ----------
    prefer : str, optional
        Force a device (``"cpu"``, ``"cuda"``, ``"mps"``); an unavailable one is an error.
    """
    if prefer is not None:
        dev = torch.device(prefer)
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


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    r"""Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    A reader never sees a half-written file: on any exception the temporary file is removed
    and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates the file 0600; give the finished file the usual permissions (0666 minus umask).
    umask = os.umask(0)
    os.umask(umask)
    tmp_path.chmod(0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
