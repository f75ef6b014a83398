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

Safety: ``--out`` is checked before anything is written (not empty, not the book folder or a
folder inside it, not a regular file or under one, writable); every chapter is read and turned
into a copy in memory first, so a damaged notebook or solution markers that do not pair up (a
``{solution-start}`` never closed, one opened inside another block, a stray ``{solution-end}``)
stop the run with an error naming the chapter and the cell, and nothing is written; an existing
file in ``--out`` is replaced only when it is a student copy (never an answer key); each copy is
written atomically (temporary file, fsync, rename), so a killed run leaves no half-written
notebook under a chapter's name.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import nbformat

from aigc_course._check import check_output_folder
from aigc_course.grade import CHECKER_CALL, exercise_ids
from aigc_course.runtime import atomic_write

SOLUTION_START = re.compile(r"^`{3,}\{solution-start\}", re.MULTILINE)
# Any line that opens a solution-end directive, closed or not (to find stray or broken ones).
SOLUTION_END_MARK = re.compile(r"^`{3,}\{solution-end\}", re.MULTILINE)
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


def _label(source: str, start: re.Match[str]) -> str:
    rest = source[start.end() :].split("\n", 1)[0].strip()
    return f"{rest!r} " if rest else ""


def _check_markers(cells: list) -> None:
    r"""Raise ValueError unless the solution markers pair up: start, end, start, end, ...

    Checked before anything is removed, so that a missing ``{solution-end}`` cannot make the
    block run into the next exercise and silently take its stub with it.
    """
    open_at: tuple[int, str] | None = None
    for index, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        source = cell.source
        marks = sorted(
            [(m.start(), "start", m) for m in SOLUTION_START.finditer(source)]
            + [(m.start(), "end", m) for m in SOLUTION_END_MARK.finditer(source)]
            + [(m.start(), "exercise", m) for m in EXERCISE_START.finditer(source)],
            key=lambda item: item[0],
        )
        for _, kind, match in marks:
            if kind == "start" and open_at is not None:
                raise ValueError(
                    f"the solution block {open_at[1]}opened in cell {open_at[0]} is not closed "
                    f"before the next {{solution-start}} in cell {index}: add its {{solution-end}}"
                )
            if kind == "exercise" and open_at is not None:
                raise ValueError(
                    f"the solution block {open_at[1]}opened in cell {open_at[0]} is not closed "
                    f"before the {{exercise-start}} in cell {index}: add its {{solution-end}}"
                )
            if kind == "end" and open_at is None:
                raise ValueError(
                    f"cell {index} has a {{solution-end}} with no {{solution-start}} before it"
                )
            if kind == "end" and not SOLUTION_END.match(source, match.start()):
                raise ValueError(
                    f"the {{solution-end}} in cell {index} lacks its closing line of backticks"
                )
            if kind == "start":
                open_at = (index, _label(source, match))
            elif kind == "end":
                open_at = None
    if open_at is not None:
        raise ValueError(
            f"the solution block {open_at[1]}opened in cell {open_at[0]} is never closed by "
            "{solution-end}"
        )


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
    markdown cell and the next markdown cell. Raises ``ValueError`` naming the cell when the
    solution markers do not pair up (see :func:`_check_markers`).
    """
    _check_markers(cells)
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
    return kept, stubs


def _with_source(cell: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    copy = nbformat.from_dict(dict(cell))
    copy.source = source
    return copy


def student_copy(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    r"""The student copy of the chapter notebook ``nb`` (named ``name``, without ``.ipynb``).

    Raises ``ValueError`` naming the chapter and the cell when its solution markers do not pair
    up, or when an exercise's checker call would not survive in the copy.
    """
    expected = exercise_ids(nb)
    try:
        cells, stubs = remove_solutions(list(nb.cells))
    except ValueError as exc:
        raise ValueError(f"chapter {name}: {exc}") from None
    for index in stubs:
        cell = cells[index]
        cell.outputs = []
        cell.execution_count = None
        tags = cell.metadata.setdefault("tags", [])
        if "exercise" not in tags:
            tags.append("exercise")
    kept = {CHECKER_CALL.search(cells[i].source).group(1) for i in stubs}
    lost = [e for e in expected if e not in kept]
    if lost:
        raise ValueError(
            f"chapter {name}: the copy would have no checker call for {lost} (each exercise "
            "needs a code cell calling its checker after its {exercise-start}, outside the "
            "solution block)"
        )
    intro = nbformat.v4.new_markdown_cell(INTRO.format(title=_title(nb, name), name=name))
    intro.metadata["tags"] = ["student-copy-intro"]
    intro.id = "student-copy-intro"  # a fixed id: regenerating a copy gives the same bytes
    out = nbformat.from_dict(dict(nb))
    out.cells = [intro, *cells]
    out.metadata = nbformat.from_dict(dict(nb.metadata))
    out.metadata.pop("jupytext", None)  # a copy has no text twin
    out.metadata["aigc_course"] = {"chapter": name, "exercises": expected}
    return out


def read_notebook(path: Path) -> nbformat.NotebookNode:
    r"""Read a notebook; a damaged one is a ValueError naming the file and what is wrong."""
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # NotJSONError, UnicodeDecodeError, ValidationError, OSError ...
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
        raise ValueError(
            f"{path} is not a readable notebook ({type(exc).__name__}: {reason}); restore it "
            "(git checkout) or move it out of the book folder"
        ) from None


def chapters(book: Path) -> list[Path]:
    r"""The chapter notebooks of the book: every ``*.ipynb`` in ``book`` that has an exercise.

    Raises ``ValueError`` naming a notebook that cannot be read.
    """
    return [p for p in sorted(book.glob("*.ipynb")) if exercise_ids(read_notebook(p))]


def _replaceable(target: Path) -> None:
    r"""Raise ValueError unless ``target`` is absent or a student copy this tool wrote earlier."""
    if not os.path.lexists(target):
        return
    if not target.is_file():
        raise ValueError(f"{target} is in the way: it is not a file (a folder?); move it away")
    try:
        old = nbformat.read(target, as_version=4)
        is_copy = "chapter" in old.metadata.get("aigc_course", {})
        has_solution = any(
            c.cell_type == "markdown" and SOLUTION_START.search(c.source) for c in old.cells
        )
    except Exception:  # a damaged or foreign file: not ours to replace
        is_copy, has_solution = False, False
    if not is_copy or has_solution:
        raise ValueError(
            f"{target} exists and is not a student copy (an answer key?): refusing to replace "
            "it; choose an empty --out folder, or delete the file if it is an old copy"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the student copies")
    parser.add_argument("--book", default="book", help="the chapters' folder")
    args = parser.parse_args(argv)
    book = Path(args.book)
    try:
        out = check_output_folder(
            args.out, "--out", protected=[book], why="the book folder, the answer keys"
        )
        paths = chapters(book)
        if not paths:
            parser.error(f"no chapter with an exercise in {book}; pass --book FOLDER")
        copies = []  # every copy is made before anything is written
        for path in paths:
            nb = read_notebook(path)
            copies.append((path, nb, student_copy(nb, path.stem)))
        for path, _, _ in copies:
            _replaceable(out / path.name)
    except ValueError as exc:
        parser.error(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    for path, nb, copy in copies:
        target = out / path.name
        with atomic_write(target) as tmp:
            nbformat.write(copy, tmp)
        n = len(copy.metadata["aigc_course"]["exercises"])
        print(f"{target}: {n} exercise(s), {len(nb.cells)} -> {len(copy.cells)} cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
