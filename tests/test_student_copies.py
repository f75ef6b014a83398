r"""Student copies (tools/make_student_copies.py): no solution survives, the stubs do, and they run."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import nbformat
import pytest

from aigc_course.grade import exercise_ids

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "make_student_copies", ROOT / "tools" / "make_student_copies.py"
)
make = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make)

CHAPTERS = make.chapters(ROOT / "book")


def toc_notebooks() -> list[Path]:
    r"""The book's notebooks in _toc.yml order (entries ``- file: book/<name>`` with a .ipynb)."""
    text = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    entries = re.findall(r"^\s*-\s*file:\s*(\S+)\s*$", text, re.MULTILINE)
    return [ROOT / f"{e}.ipynb" for e in entries if (ROOT / f"{e}.ipynb").is_file()]


def solution_blocks(nb) -> tuple[list[str], list[str]]:
    r"""(code lines inside solution blocks, code lines elsewhere) of an answer key."""
    inside, outside = [], []
    in_solution = False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            if make.SOLUTION_START.search(cell.source):
                in_solution = True
            if make.SOLUTION_END.search(cell.source):
                in_solution = False
            continue
        lines = [line.strip() for line in cell.source.splitlines() if line.strip()]
        (inside if in_solution else outside).extend(lines)
    return inside, outside


def test_every_chapter_with_exercises_is_copied():
    notebooks = toc_notebooks()
    assert len(notebooks) >= 7, "the _toc.yml parse found too few chapters"
    with_exercises = [p for p in notebooks if exercise_ids(nbformat.read(p, as_version=4))]
    assert sorted(p.stem for p in with_exercises) == [p.stem for p in CHAPTERS]
    assert {"concepts", "gan", "vae", "diffusion"} <= {p.stem for p in CHAPTERS}
    listed = {p.name for p in notebooks}
    assert not [p.name for p in CHAPTERS if p.name not in listed], "a chapter missing from the toc"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_no_solution_survives_and_the_stubs_do(chapter):
    key = nbformat.read(chapter, as_version=4)
    copy = make.student_copy(key, chapter.stem)
    nbformat.validate(copy)
    text = "\n".join(c.source for c in copy.cells)
    assert "{solution-start}" not in text and "{solution-end}" not in text
    inside, outside = solution_blocks(key)
    solution_only = set(inside) - set(outside)
    assert solution_only, "the answer key has no solution code: the test would prove nothing"
    copy_lines = {
        line.strip() for c in copy.cells if c.cell_type == "code" for line in c.source.splitlines()
    }
    leaked = solution_only & copy_lines
    assert not leaked, f"solution code in the student copy: {sorted(leaked)[:5]}"

    expected = exercise_ids(key)
    assert copy.metadata["aigc_course"] == {"chapter": chapter.stem, "exercises": expected}
    stubs = [c for c in copy.cells if "exercise" in c.metadata.get("tags", [])]
    assert [make.CHECKER_CALL.search(c.source).group(1) for c in stubs] == expected
    assert all(c.outputs == [] and c.execution_count is None for c in stubs)

    # Every other output is kept: students read results without retraining.
    key_outputs = sum(1 for c in key.cells if c.cell_type == "code" and c.outputs)
    copy_outputs = sum(1 for c in copy.cells if c.cell_type == "code" and c.outputs)
    solution_outputs = key_outputs - copy_outputs
    assert 0 < solution_outputs <= 3 * len(expected)

    intro = copy.cells[0]
    assert intro.cell_type == "markdown" and "python -m aigc_course.grade" in intro.source
    assert copy.cells[1].source == key.cells[0].source, "the Colab install cell comes first"


def test_prose_after_a_solution_block_is_kept():
    key = nbformat.read(ROOT / "book" / "loss_math.ipynb", as_version=4)
    text = "\n".join(c.source for c in make.student_copy(key, "loss_math").cells)
    assert "## 2. What the generator minimises" in text
    assert "## 7. MSE versus SSIM" in text


def test_an_unclosed_or_one_cell_solution_block_is_an_error():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    with pytest.raises(ValueError, match="never closed"):
        make.remove_solutions([md("`````{solution-start} ex\n`````"), code("x = 1")])
    with pytest.raises(ValueError, match="opens and closes"):
        make.remove_solutions([md("`````{solution-start} ex\n`````\n`````{solution-end}\n`````")])


def test_cli_writes_one_copy_per_chapter(tmp_path, capsys):
    assert make.main(["--out", str(tmp_path), "--book", str(ROOT / "book")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in CHAPTERS)
    assert "exercise(s)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        make.main(["--out", str(tmp_path), "--book", str(tmp_path / "empty")])


def test_a_student_copy_runs_top_to_bottom_and_every_checker_says_not_yet(tmp_path):
    from nbclient import NotebookClient

    key = nbformat.read(ROOT / "book" / "concepts.ipynb", as_version=4)
    copy = make.student_copy(key, "concepts")
    env = {**os.environ, "AIGC_QUICK": "1", "MPLBACKEND": "Agg"}
    NotebookClient(copy, timeout=900, resources={"metadata": {"path": str(tmp_path)}}).execute(
        env=env
    )
    stubs = [c for c in copy.cells if "exercise" in c.metadata.get("tags", [])]
    verdicts = [o["data"]["text/plain"] for c in stubs for o in c.outputs if "data" in o]
    assert len(verdicts) == len(exercise_ids(key)) == 3
    assert all(v.startswith("NOT YET") for v in verdicts), verdicts


def _nbgrader_tool():
    spec = importlib.util.spec_from_file_location(
        "nbgrader_metadata", ROOT / "tools" / "nbgrader_metadata.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("chapter", ["concepts", "gan"])
def test_nbgrader_source_has_solution_regions_and_tests_and_is_idempotent(chapter):
    tool = _nbgrader_tool()
    key = nbformat.read(ROOT / "book" / f"{chapter}.ipynb", as_version=4)
    source = tool.nbgrader_source(key)
    nbformat.validate(source)
    graded = [c for c in source.cells if "nbgrader" in c.metadata]
    answers = [c for c in graded if c.metadata.nbgrader["solution"]]
    tests = [c for c in graded if c.metadata.nbgrader["grade"]]
    expected = exercise_ids(key)
    assert len(answers) == len(tests) == len(expected)
    ids = [c.metadata.nbgrader["grade_id"] for c in graded]
    assert len(set(ids)) == len(ids)
    for answer, test in zip(answers, tests, strict=True):
        assert source.cells.index(test) == source.cells.index(answer) + 1
        assert tool.BEGIN in answer.source and tool.END in answer.source
        assert "raise NotImplementedError" not in answer.source
        assert test.metadata.nbgrader["locked"] and test.metadata.nbgrader["points"] == 1
    assert "{solution-start}" not in "\n".join(c.source for c in source.cells)
    again = tool.nbgrader_source(source)
    assert [(c.source, c.metadata.get("nbgrader")) for c in again.cells] == [
        (c.source, c.metadata.get("nbgrader")) for c in source.cells
    ]


def test_nbgrader_tool_refuses_to_write_over_the_chapters_and_redoes_its_own_output(
    tmp_path, capsys
):
    tool = _nbgrader_tool()
    book = tmp_path / "book"
    book.mkdir()
    chapter = book / "concepts.ipynb"
    chapter.write_bytes((ROOT / "book" / "concepts.ipynb").read_bytes())
    before = chapter.read_bytes()
    for out in (book, book / "sub"):
        with pytest.raises(SystemExit) as info:
            tool.main(["--out", str(out), str(chapter)])
        assert info.value.code == 2 and "--out" in capsys.readouterr().err
    assert chapter.read_bytes() == before and not (book / "sub").exists()
    course = tmp_path / "course"
    assert tool.main(["--out", str(course), str(chapter)]) == 0
    assert tool.main(["--out", str(course), str(course / "concepts.ipynb")]) == 0
