r"""Write one student copy per chapter: every solution block removed, the exercise stubs kept.

Usage::

    python tools/make_student_copies.py --out DIR [--book book]

For each chapter ``book/<name>.ipynb`` this writes ``DIR/<name>.ipynb`` in which

* every sphinx-exercise solution block (the markdown cell that opens ``{solution-start}``, the
  cells after it, and the cell that closes ``{solution-end}``) is removed; prose that shares a
  cell with a marker but lies outside the block (a heading after ``{solution-end}``, say) is kept;
* the exercise stubs and their checker calls are kept, with their stored outputs cleared (the
  stored ones came from the answer key);
* every other cell keeps its stored outputs, so a student reads the results without retraining;
* a first markdown cell says how to check and hand in answers;
* the notebook's metadata records the chapter and the exercise ids (the checkers' names) that
  ``python -m aigc_course.grade`` expects, so a submission with deleted cells is recognised.

The copies are generated from the chapters and never edited by hand: regenerate them after any
change to a chapter.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from aigc_course.grade import CHECKER_CALL, exercise_ids

SOLUTION_START = re.compile(r"^`{3,}\{solution-start\}", re.MULTILINE)
# The closing fence of the solution-end directive: its opening line, then a line of backticks.
SOLUTION_END = re.compile(r"^`{3,}\{solution-end\}[^\n]*\n`{3,}[ \t]*$", re.MULTILINE)
EXERCISE_START = re.compile(r"^`{3,}\{exercise-start\}", re.MULTILINE)

INTRO = """\
**Student copy of "{title}".** The solutions are removed; everything else, outputs included, is
as in the book, so you can read the results without retraining.

Each exercise ends with a code cell that calls a checker, for example
`check_to_signed(my_to_signed)`. Replace the `raise NotImplementedError` (or the placeholder
answer) with your code and run the cell: the checker answers **PASSED** or **NOT YET** with a hint.
Keep the exercise cells and their checker calls: they are how your work is graded, with

```
python -m aigc_course.grade {name}.ipynb --out grades.csv
```

which runs the notebook from top to bottom in quick mode (`AIGC_QUICK=1`). Run the setup cells
above an exercise before it (or *Run all*); in Colab the first code cell installs the course
package.
"""


def _title(nb: nbformat.NotebookNode, default: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return default


def _marker_cell(cell, in_solution: bool, index: int):
    r"""Handle one markdown cell: return ``(cell to keep or None, in_solution after it)``."""
    source = cell.source
    if in_solution:
        end = SOLUTION_END.search(source)
        if end is None:
            return None, True  # prose inside the solution block
        source = source[end.end() :].lstrip("\n")
    else:
        start = SOLUTION_START.search(source)
        if start is not None:
            if SOLUTION_END.search(source, start.end()):
                raise ValueError(f"cell {index}: a solution block opens and closes in one cell")
            before = source[: start.start()].rstrip()
            return (_with_source(cell, before) if before else None), True
    if not source.strip():
        return None, False
    return (cell if source == cell.source else _with_source(cell, source)), False


def remove_solutions(cells: list) -> tuple[list, set[int]]:
    r"""Drop every solution block; return the kept cells and the indices (in the result) of stubs.

    A stub is a code cell with a checker call (``check_*(``) between an exercise's opening
    markdown cell and the next markdown cell. Raises ``ValueError`` when a block is not closed.
    """
    kept: list = []
    stubs: set[int] = set()
    in_solution = False
    in_exercise = False
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            was_solution = in_solution
            keep, in_solution = _marker_cell(cell, in_solution, index)
            if keep is not None:
                kept.append(keep)
            in_exercise = (
                keep is not None
                and not in_solution
                and EXERCISE_START.search(keep.source) is not None
            ) or (in_exercise and was_solution and in_solution)
            continue
        if in_solution:
            continue
        if in_exercise and CHECKER_CALL.search(cell.source):
            stubs.add(len(kept))
        kept.append(cell)
    if in_solution:
        raise ValueError("a {solution-start} block is never closed by {solution-end}")
    return kept, stubs


def _with_source(cell: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    copy = nbformat.from_dict(dict(cell))
    copy.source = source
    return copy


def student_copy(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    r"""The student copy of the chapter notebook ``nb`` (named ``name``, without ``.ipynb``)."""
    expected = exercise_ids(nb)
    cells, stubs = remove_solutions(list(nb.cells))
    for index in stubs:
        cell = cells[index]
        cell.outputs = []
        cell.execution_count = None
        tags = cell.metadata.setdefault("tags", [])
        if "exercise" not in tags:
            tags.append("exercise")
    intro = nbformat.v4.new_markdown_cell(INTRO.format(title=_title(nb, name), name=name))
    intro.metadata["tags"] = ["student-copy-intro"]
    out = nbformat.from_dict(dict(nb))
    out.cells = [intro, *cells]
    out.metadata = nbformat.from_dict(dict(nb.metadata))
    out.metadata.pop("jupytext", None)  # a copy has no text twin
    out.metadata["aigc_course"] = {"chapter": name, "exercises": expected}
    return out


def chapters(book: Path) -> list[Path]:
    r"""The chapter notebooks of the book: every ``*.ipynb`` in ``book`` that has an exercise."""
    found = []
    for path in sorted(book.glob("*.ipynb")):
        if exercise_ids(nbformat.read(path, as_version=4)):
            found.append(path)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for the student copies")
    parser.add_argument("--book", default=Path("book"), type=Path, help="the chapters' folder")
    args = parser.parse_args(argv)
    paths = chapters(args.book)
    if not paths:
        parser.error(f"no chapter with an exercise in {args.book}; pass --book FOLDER")
    args.out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        copy = student_copy(nb, path.stem)
        target = args.out / path.name
        nbformat.write(copy, target)
        n = len(copy.metadata["aigc_course"]["exercises"])
        print(f"{target}: {n} exercise(s), {len(nb.cells)} -> {len(copy.cells)} cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
