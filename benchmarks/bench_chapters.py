r"""Print the wall time of executing each chapter notebook, in quick mode by default.

Usage::

    python benchmarks/bench_chapters.py            # quick mode (AIGC_QUICK=1), every chapter in book/
    python benchmarks/bench_chapters.py --full     # the chapters' full settings
    python benchmarks/bench_chapters.py book/concepts.ipynb

The notebooks are executed in memory (nothing is written back). This is a benchmark that prints
figures, not a test: it never fails on time.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient


def run(path: Path, quick: bool, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    env_before = os.environ.get("AIGC_QUICK")
    os.environ["AIGC_QUICK"] = "1" if quick else "0"  # inherited by the kernel process
    try:
        start = time.perf_counter()
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        return time.perf_counter() - start
    finally:
        if env_before is None:
            os.environ.pop("AIGC_QUICK", None)
        else:
            os.environ["AIGC_QUICK"] = env_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--full", action="store_true", help="run with the chapters' full settings")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    args = parser.parse_args()
    notebooks = args.notebooks or sorted(
        Path(__file__).resolve().parents[1].joinpath("book").glob("*.ipynb")
    )
    mode = "full" if args.full else "quick (AIGC_QUICK=1)"
    print(
        f"mode: {mode}; torch {torch.__version__}; {os.cpu_count()} CPU cores; "
        f"CUDA: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}; {platform.platform()}"
    )
    total = 0.0
    for path in notebooks:
        seconds = run(path, quick=not args.full, timeout=args.timeout)
        total += seconds
        print(f"{path.name:30s} {seconds:8.1f} s")
    print(f"{'total':30s} {total:8.1f} s")


if __name__ == "__main__":
    main()
