r"""Student copies and the grader on a generated Chinese notebook (tests/fixtures/zh_book).

The solution markers survive translation (tools/zh.py check keeps them), so
tools/make_student_copies.py removes the Chinese solution and keeps the Chinese exercise text;
the grader runs the copy (one kernel for the answer key and the copy: kernels are slow).
"""

from __future__ import annotations

import csv
import importlib.util
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from aigc_course import grade
from aigc_course.exercises.feedback import Feedback

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "zh_book"


def _load(name: str):
    sys.path.insert(0, str(ROOT / "tools"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def zh_book(tmp_path: Path) -> Path:
    r"""The fixture book's generated zh project; returns its book/ folder."""
    root = tmp_path / "root"
    shutil.copytree(FIXTURE, root)
    _load("zh").build_project(root, root / "zh", tmp_path / "zh-src")
    return tmp_path / "zh-src" / "book"


def test_a_chinese_student_copy_keeps_the_chinese_exercise_and_drops_the_solution(
    zh_book, tmp_path
):
    make = _load("make_student_copies")
    out = tmp_path / "student"
    assert make.main(["--out", str(out), "--book", str(zh_book)]) == 0
    copy = nbformat.read(out / "mini.ipynb", as_version=4)
    text = "\n".join(c.source for c in copy.cells)
    assert "编写 `my_to_signed(x)`" in text  # the Chinese exercise
    assert "solution-start" not in text and "return 2 * x - 1" not in text
    assert copy.metadata["aigc_course"] == {"chapter": "mini", "exercises": ["check_to_signed"]}
    assert "jupytext" not in copy.metadata


@pytest.mark.skipif(
    not hasattr(Feedback, "_repr_mimebundle_"),
    reason="the checkers do not emit the feedback MIME record yet (Feedback._repr_mimebundle_)",
)
def test_the_grader_grades_the_chinese_answer_key_and_student_copy(zh_book, tmp_path):
    make = _load("make_student_copies")
    key = zh_book / "mini.ipynb"
    student = tmp_path / "student" / "mini.ipynb"
    student.parent.mkdir()
    nb = nbformat.read(key, as_version=4)
    nbformat.write(make.student_copy(nb, "mini"), student)
    out = tmp_path / "grades.csv"
    assert grade.main([str(key), str(student), "--out", str(out), "--timeout", "120"]) == 0
    with out.open(newline="", encoding="utf-8") as f:
        rows = {(r["file"], r["exercise"]): r for r in csv.DictReader(f)}
    assert rows[(str(key), grade.RUN)]["passed"] == "True", rows
    assert rows[(str(student), grade.RUN)]["passed"] == "True", rows
    assert rows[(str(key), "check_to_signed")]["passed"] == "True"
    assert rows[(str(student), "check_to_signed")]["passed"] == "False"
    assert "not implemented" in rows[(str(student), "check_to_signed")]["message"]
