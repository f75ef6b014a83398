r"""The grader: verdicts from the checkers' records, and faulty submissions recorded, not fatal.

Most tests grade small synthetic notebooks whose cells emit feedback records the way the
checkers do (``IPython.display.display(bundle, raw=True)``); the last one grades a real chapter,
its answer key and its student copy.
"""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

from aigc_course import grade
from aigc_course.exercises.feedback import Feedback

ROOT = Path(__file__).resolve().parents[1]


def record_cell(exercise: str, passed: bool) -> str:
    message = "well done" if passed else "try again"
    bundle = {
        "text/plain": ("PASSED: " if passed else "NOT YET: ") + message,
        grade.FEEDBACK_MIME: {"exercise": exercise, "passed": passed, "message": message},
    }
    return f"from IPython.display import display\ndisplay({bundle!r}, raw=True)"


def write_nb(path: Path, sources: list[str], expected: list[str] | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if expected is not None:
        nb.metadata["aigc_course"] = {"chapter": "synthetic", "exercises": expected}
    nbformat.write(nb, path)
    return path


def rows_of(csv_path: Path) -> list[dict[str, str]]:
    with csv_path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def by_exercise(rows, file: Path) -> dict[str, dict[str, str]]:
    return {r["exercise"]: r for r in rows if r["file"] == str(file)}


def test_exercise_ids_from_checker_calls_and_from_metadata():
    key = nbformat.read(ROOT / "book" / "concepts.ipynb", as_version=4)
    assert grade.exercise_ids(key) == [
        "check_to_signed",
        "check_bernoulli_log_likelihood",
        "check_bits_per_dim",
    ]
    key.metadata["aigc_course"] = {"exercises": ["check_x"]}
    assert grade.exercise_ids(key) == ["check_x"]


def test_records_stored_as_json_text_are_read():
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "outputs": [
                    {
                        "output_type": "display_data",
                        "data": {
                            grade.FEEDBACK_MIME: json.dumps({"exercise": "a", "passed": True})
                        },
                    }
                ],
            }
        ]
    }
    assert grade.feedback_records(nb) == [{"exercise": "a", "passed": True}]


def test_faulty_submissions_are_recorded_and_the_next_is_still_graded(tmp_path, capsys):
    good = write_nb(
        tmp_path / "good.ipynb",
        [record_cell("check_a", False), record_cell("check_a", True), record_cell("check_b", True)],
        ["check_a", "check_b"],
    )
    raises = write_nb(
        tmp_path / "raises.ipynb",
        [record_cell("check_a", True), "1 / 0", record_cell("check_b", True)],
        ["check_a", "check_b"],
    )
    hangs = write_nb(
        tmp_path / "hangs.ipynb",
        [record_cell("check_a", True), "import time\ntime.sleep(60)", record_cell("check_b", True)],
        ["check_a", "check_b"],
    )
    deleted = write_nb(
        tmp_path / "deleted.ipynb", [record_cell("check_b", False)], ["check_a", "check_b"]
    )
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not a notebook", encoding="utf-8")
    out = tmp_path / "grades.csv"
    files = [raises, hangs, deleted, broken, good]
    assert grade.main([*map(str, files), "--out", str(out), "--timeout", "5"]) == 0
    rows = rows_of(out)
    assert list(rows[0]) == ["file", "exercise", "passed", "message"]

    g = by_exercise(rows, good)
    assert g[grade.RUN]["passed"] == "True"
    assert g["check_a"]["passed"] == "True", "the last verdict of an exercise counts"
    assert g["check_b"]["passed"] == "True"

    r = by_exercise(rows, raises)
    assert r[grade.RUN]["passed"] == "False"
    assert "error in cell 1" in r[grade.RUN]["message"]
    assert "ZeroDivisionError" in r[grade.RUN]["message"]
    assert r["check_a"]["passed"] == "True"
    assert r["check_b"]["passed"] == "False" and r["check_b"]["message"].startswith("not reached")

    h = by_exercise(rows, hangs)
    assert h[grade.RUN]["passed"] == "False"
    assert "timed out: cell 1" in h[grade.RUN]["message"]
    assert h["check_a"]["passed"] == "True" and h["check_b"]["passed"] == "False"

    d = by_exercise(rows, deleted)
    assert d[grade.RUN]["passed"] == "True"
    assert d["check_a"]["passed"] == "False" and d["check_a"]["message"].startswith("missing")
    assert d["check_b"]["passed"] == "False" and d["check_b"]["message"] == "try again"

    b = by_exercise(rows, broken)
    assert set(b) == {grade.RUN} and b[grade.RUN]["message"].startswith("unreadable")

    table = capsys.readouterr().out
    for file, score in [(good, "2/2"), (raises, "1/2"), (hangs, "1/2"), (deleted, "0/2")]:
        line = next(line for line in table.splitlines() if line.startswith(str(file)))
        assert score in line, line


def test_timeout_must_be_positive(tmp_path):
    with pytest.raises(SystemExit):
        grade.main([str(tmp_path / "x.ipynb"), "--out", str(tmp_path / "g.csv"), "--timeout", "0"])


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    not hasattr(Feedback, "_repr_mimebundle_"),
    reason="the checkers do not emit the feedback MIME record yet (Feedback._repr_mimebundle_)",
)
def test_answer_key_passes_and_a_fresh_student_copy_does_not(tmp_path):
    chapter = ROOT / "book" / "concepts.ipynb"
    make = _load_tool("make_student_copies")
    student = tmp_path / "student" / "concepts.ipynb"
    student.parent.mkdir()
    nbformat.write(make.student_copy(nbformat.read(chapter, as_version=4), "concepts"), student)
    key = tmp_path / "key" / "concepts.ipynb"  # graded in a copy: nothing is written into book/
    key.parent.mkdir()
    key.write_bytes(chapter.read_bytes())
    out = tmp_path / "grades.csv"
    grade.main([str(key), str(student), "--out", str(out), "--timeout", "600"])
    rows = rows_of(out)
    expected = grade.exercise_ids(nbformat.read(chapter, as_version=4))
    k, s = by_exercise(rows, key), by_exercise(rows, student)
    assert k[grade.RUN]["passed"] == "True", k[grade.RUN]
    assert s[grade.RUN]["passed"] == "True", s[grade.RUN]
    for exercise in expected:
        assert k[exercise]["passed"] == "True", k[exercise]
        assert s[exercise]["passed"] == "False", s[exercise]
        assert "not implemented" in s[exercise]["message"], s[exercise]
