r"""Fail if a book notebook and its jupytext twin (.py, percent format) disagree on any cell.

A cell's source decides what the reader runs; its tags decide what nbval compares
(``nbval-ignore-output``) and what the book shows (``hide-input``, ``remove-cell``), so both must
agree. Usage: ``python tools/check_twins.py [folder]`` (default ``book``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext


def cells(path: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    r"""``(cell_type, stripped source, sorted tags)`` of every cell of a notebook or twin."""
    nb = jupytext.read(path)
    return [
        (c.cell_type, c.source.strip(), tuple(sorted(c.metadata.get("tags", [])))) for c in nb.cells
    ]


def first_difference(a: list, b: list) -> str:
    r"""Describe the first cell where two cell lists differ (source, tags or count)."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x[:2] != y[:2]:
            return f"cell {i} ({x[0]}): sources differ"
        if x[2] != y[2]:
            return f"cell {i} ({x[0]}): tags differ, {list(x[2])} vs {list(y[2])}"
    return f"{len(a)} cells vs {len(b)} cells"


def main(folder: str) -> int:
    bad = 0
    notebooks = sorted(Path(folder).glob("*.ipynb"))
    for ipynb in notebooks:
        twin = ipynb.with_suffix(".py")
        if not twin.exists():
            print(f"{ipynb}: missing jupytext twin {twin.name}; run `jupytext --set-formats")
            print(f"  ipynb,py:percent {ipynb}`")
            bad += 1
            continue
        a, b = cells(ipynb), cells(twin)
        if a != b:
            print(f"{ipynb} and {twin.name} differ at {first_difference(a, b)}; run")
            print(f"  `jupytext --sync {twin}` and re-execute the notebook")
            bad += 1
    print(f"{len(notebooks)} notebook(s) checked, {bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "book"))
