r"""Write chapters as nbgrader source notebooks: solution regions and autograder test cells.

Usage::

    python tools/nbgrader_metadata.py --out course/source/ps1 book/concepts.ipynb [...]

For each chapter, the notebook written to ``--out`` is the instructor's version in nbgrader's
format (https://nbgrader.readthedocs.io, cell metadata schema 3):

* the sphinx-exercise solution blocks are removed (as in the student copies);
* each exercise's stub cell (the code cell that calls a checker) becomes an nbgrader
  *solution* cell: where the stub defines ``def my_x(...): raise NotImplementedError`` and the
  solution defines the same function, the solution's body goes between ``### BEGIN SOLUTION``
  and ``### END SOLUTION`` in place of the ``raise``; otherwise (the prediction exercises) the
  whole solution cell's code is the solution region;
* after it comes a locked *autograder test* cell worth one point that asserts the checker's
  verdict: ``nbgrader generate_assignment`` replaces the solution regions with its stub and keeps
  the tests, ``nbgrader autograde`` runs them.

``--out`` may not be a chapters' folder or inside one, a file, or unwritable (checked before
anything is written); each notebook is written atomically.

Running the script on its own output changes nothing (the test cells it added are recognised by
their metadata and rebuilt; a stub that already has solution markers is kept as it is).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import re
import sys
from pathlib import Path

import nbformat

from aigc_course._check import check_output_folder
from aigc_course.grade import CHECKER_CALL
from aigc_course.runtime import atomic_write

_spec = importlib.util.spec_from_file_location(
    "make_student_copies", Path(__file__).with_name("make_student_copies.py")
)
make_student_copies = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_student_copies)

LABEL = re.compile(r"^:label:\s*(\S+)", re.MULTILINE)
SOLUTION_LABEL = re.compile(r"^`{3,}\{solution-start\}\s*(\S+)", re.MULTILINE)
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MARK = "aigc_course_nbgrader_test"


def solutions_by_label(cells: list) -> dict[str, str]:
    r"""The code of each solution block (its code cells joined), keyed by the exercise label."""
    found: dict[str, list[str]] = {}
    label = None
    for cell in cells:
        if cell.cell_type == "markdown":
            start = SOLUTION_LABEL.search(cell.source)
            if start is not None:
                label = start.group(1)
                found[label] = []
            elif label is not None and make_student_copies.SOLUTION_END.search(cell.source):
                label = None
        elif label is not None:
            found[label].append(cell.source)
    return {k: "\n\n".join(v) for k, v in found.items()}


def _function_bodies(source: str) -> dict[str, list[str]]:
    r"""Top-level function name -> its body's source lines, after the solution's own imports.

    A solution cell may import what its function needs (``import math``); those imports go at
    the top of the body, indented like it, so that the solution region is self-contained.
    """
    lines = source.splitlines()
    tree = ast.parse(source)
    imports = [
        line.strip()
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for line in lines[node.lineno - 1 : node.end_lineno]
    ]
    bodies = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            body = lines[node.body[0].lineno - 1 : node.end_lineno]
            indent = body[0][: len(body[0]) - len(body[0].lstrip())]
            bodies[node.name] = [indent + line for line in imports] + body
    return bodies


def solution_cell_source(stub: str, solution: str) -> str:
    r"""The stub with the solution in nbgrader's markers (see the module docstring)."""
    if BEGIN in stub:
        return stub
    bodies = _function_bodies(solution)
    out: list[str] = []
    replaced = False
    for line in stub.splitlines():
        stripped = line.strip()
        name = _enclosing_function(stub, line)
        if stripped.startswith("raise NotImplementedError") and name in bodies:
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + BEGIN, *bodies[name], indent + END]
            replaced = True
        else:
            out.append(line)
    if replaced:
        return "\n".join(out)
    return f"{BEGIN}\n{solution.strip()}\n{END}"


def _enclosing_function(source: str, line: str) -> str | None:
    lines = source.splitlines()
    index = lines.index(line)
    for previous in reversed(lines[:index]):
        match = re.match(r"def (\w+)\(", previous)
        if match:
            return match.group(1)
    return None


def test_cell(label: str, checker: str) -> nbformat.NotebookNode:
    r"""A locked one-point autograder cell asserting the verdict of the cell just above.

    It reads the value that cell displayed (IPython's ``last_execution_result``), so it needs
    neither the student's function name nor ``_`` (which a chapter may have assigned).
    """
    source = (
        f"# Autograder test for {label}: the cell above must end with its checker call,\n"
        f"# {checker}(...), and the checker must say PASSED.\n"
        "feedback = get_ipython().last_execution_result.result  # noqa: F821\n"
        'assert type(feedback).__name__ == "Feedback", "the cell above must end with its checker"\n'
        "assert feedback.passed, repr(feedback)"
    )
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": f"{label}-test",
        "locked": True,
        "points": 1,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    cell.metadata[MARK] = True
    return cell


def nbgrader_source(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    r"""The nbgrader source version of a chapter (or of this function's own output)."""
    cells = [c for c in nb.cells if not c.metadata.get(MARK)]
    solutions = solutions_by_label(cells)
    kept, stubs = make_student_copies.remove_solutions(cells)
    out_cells = []
    label = None
    for index, cell in enumerate(kept):
        if cell.cell_type == "markdown" and make_student_copies.EXERCISE_START.search(cell.source):
            match = LABEL.search(cell.source)
            label = match.group(1) if match else None
        if index not in stubs or label is None:
            out_cells.append(cell)
            continue
        checker = CHECKER_CALL.search(cell.source).group(1)
        cell = nbformat.from_dict(dict(cell))
        cell.source = solution_cell_source(cell.source, solutions.get(label, ""))
        cell.outputs = []
        cell.execution_count = None
        cell.metadata["nbgrader"] = {
            "grade": False,
            "grade_id": label,
            "locked": False,
            "schema_version": 3,
            "solution": True,
            "task": False,
        }
        out_cells += [cell, test_cell(label, checker)]
    out = nbformat.from_dict(dict(nb))
    out.cells = out_cells
    out.metadata = nbformat.from_dict(dict(nb.metadata))
    out.metadata.pop("jupytext", None)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="chapters (book/*.ipynb)")
    parser.add_argument("--out", required=True, help="nbgrader source/<assignment>/")
    args = parser.parse_args(argv)
    try:  # checked, and every notebook converted, before anything is written
        notebooks = [(p, make_student_copies.read_notebook(p)) for p in args.notebooks]
        keys = {  # the folders of answer keys (solution blocks); this tool's output may be redone
            p.parent
            for p, nb in notebooks
            if any(make_student_copies.SOLUTION_START.search(c.source) for c in nb.cells)
        }
        out = check_output_folder(
            args.out, "--out", protected=sorted(keys), why="a chapters' folder, the answer keys"
        )
        results = []
        for path, nb in notebooks:
            try:
                results.append((path, nbgrader_source(nb)))
            except ValueError as exc:
                raise ValueError(f"chapter {path.stem}: {exc}") from None
    except ValueError as exc:
        parser.error(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    for path, result in results:
        target = out / path.name
        if target.is_dir():
            parser.error(f"{target} is in the way: it is a folder; move it away")
        with atomic_write(target) as tmp:
            nbformat.write(result, tmp)
        n = sum(1 for c in result.cells if c.metadata.get(MARK))
        print(f"{target}: {n} graded exercise(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
