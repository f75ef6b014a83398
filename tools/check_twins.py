r"""Fail if a book notebook and its jupytext text twin (.py, percent format) disagree on any cell source."""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext


def cell_sources(path: Path) -> list[tuple[str, str]]:
    nb = jupytext.read(path)
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def main(folder: str) -> int:
    bad = 0
    notebooks = sorted(Path(folder).glob("*.ipynb"))
    for ipynb in notebooks:
        twin = ipynb.with_suffix(".py")
        if not twin.exists():
            print(
                f"{ipynb}: missing jupytext twin {twin.name}; run `jupytext --set-formats ipynb,py:percent {ipynb}`"
            )
            bad += 1
        elif cell_sources(ipynb) != cell_sources(twin):
            print(
                f"{ipynb} and {twin.name} differ; run `jupytext --sync {twin}` and re-execute the notebook"
            )
            bad += 1
    print(f"{len(notebooks)} notebook(s) checked, {bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "book"))
