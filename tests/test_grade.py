r"""The grader: verdicts from the checkers' signed records, faulty submissions recorded, not fatal.

One grader run (a module fixture: kernels are slow) grades small synthetic notebooks that call
two real checkers, forge records, emit malformed ones, raise, hang or are not notebooks at all;
the last test grades a real chapter, its answer key and its student copy. The argument checks
and the record parsing have unit tests in ``tests/test_faults_grading.py``.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import nbformat
import pytest

from aigc_course import grade
from aigc_course.exercises.feedback import Feedback

ROOT = Path(__file__).resolve().parents[1]


TO_SIGNED_OK = "check_to_signed(lambda x: 2 * x - 1)"
TO_SIGNED_WRONG = "check_to_signed(lambda x: x)"
BPD_OK = "check_bits_per_dim(lambda nll, d: nll / d / math.log(2))"
BPD_WRONG = "check_bits_per_dim(lambda nll, d: nll)"
IMPORTS = (
    "import math\nfrom aigc_course.exercises import Feedback, check_bits_per_dim, check_to_signed"
)
EXPECTED = ["check_to_signed", "check_bits_per_dim"]


def raw_record_cell(record: object, text: str = "PASSED: forged") -> str:
    r"""A cell that displays a feedback record by hand, the way a forger (or a bug) would."""
    bundle = {"text/plain": text, grade.FEEDBACK_MIME: record}
    return f"from IPython.display import display\ndisplay({bundle!r}, raw=True)"


# The grader's secret must be nowhere a cell can read it: not in the history, the namespace or
# the environment (a 64-hex-digit string would be it).
LEAK_PROBE = """\
import os, re
ip = get_ipython()
seen = [repr(In), repr(_ih), repr(sorted(globals())), repr(dict(os.environ))]
seen += [repr(list(ip.history_manager.get_range(raw=True)))]
seen += [open("/proc/self/environ", "rb").read().decode("latin-1")] if os.path.exists("/proc/self/environ") else []
assert not re.search(r"[0-9a-f]{64}", "\\n".join(seen)), "the grader's secret is readable"
"""


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


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    r"""One grader run over every kind of submission (each kernel costs seconds: run it once)."""
    tmp = tmp_path_factory.mktemp("grading")
    files = {
        "good": [IMPORTS, TO_SIGNED_WRONG, TO_SIGNED_OK, BPD_OK, LEAK_PROBE],
        "raises": [IMPORTS, TO_SIGNED_OK, "1 / 0", BPD_OK],
        "hangs": [IMPORTS, TO_SIGNED_OK, "import time\ntime.sleep(60)", BPD_OK],
        "deleted": [IMPORTS, BPD_WRONG],
        "forged": [
            IMPORTS,
            raw_record_cell({"exercise": "check_to_signed", "passed": True, "message": "forged"}),
            BPD_WRONG,
            "Feedback(True, 'hand made', 'check_bits_per_dim')",
        ],
        "malformed": [
            raw_record_cell("{'exercise': 'check_to_signed'}"),
            raw_record_cell({"exercise": "check_to_signed", "message": "no passed"}),
            raw_record_cell({"exercise": "check_bits_per_dim", "passed": "no", "message": "m"}),
        ],
    }
    paths = {
        name: write_nb(tmp / f"{name}.ipynb", cells, EXPECTED) for name, cells in files.items()
    }
    broken = tmp / "broken.ipynb"
    broken.write_text("{ not a notebook", encoding="utf-8")
    paths["broken"] = broken
    order = ["raises", "hangs", "deleted", "broken", "forged", "malformed", "good"]
    out = tmp / "grades.csv"
    argv = [*(str(paths[n]) for n in order), "--out", str(out), "--timeout", "20"]
    status = grade.main(argv)
    return status, paths, rows_of(out), out


def test_faulty_submissions_are_recorded_and_the_next_is_still_graded(graded, capsys):
    status, paths, rows, _ = graded
    assert status == 0
    assert list(rows[0]) == ["file", "exercise", "passed", "message"]
    assert {r["file"] for r in rows} == {str(p) for p in paths.values()}

    g = by_exercise(rows, paths["good"])
    assert g[grade.RUN]["passed"] == "True", g[grade.RUN]
    assert g["check_to_signed"]["passed"] == "True", "the last verdict of an exercise counts"
    assert g["check_bits_per_dim"]["passed"] == "True"

    r = by_exercise(rows, paths["raises"])
    assert r[grade.RUN]["passed"] == "False"
    assert "error in cell 2" in r[grade.RUN]["message"]
    assert "ZeroDivisionError" in r[grade.RUN]["message"]
    assert r["check_to_signed"]["passed"] == "True"
    assert r["check_bits_per_dim"]["passed"] == "False"
    assert r["check_bits_per_dim"]["message"].startswith("not reached")

    h = by_exercise(rows, paths["hangs"])
    assert h[grade.RUN]["passed"] == "False"
    assert "timed out: cell 2" in h[grade.RUN]["message"]
    assert h["check_to_signed"]["passed"] == "True" and h["check_bits_per_dim"]["passed"] == "False"

    d = by_exercise(rows, paths["deleted"])
    assert d[grade.RUN]["passed"] == "True"
    assert d["check_to_signed"]["passed"] == "False"
    assert d["check_to_signed"]["message"].startswith("missing")
    assert d["check_bits_per_dim"]["passed"] == "False"
    message = d["check_bits_per_dim"]["message"]
    assert message and not message.startswith(("missing", "refused")), "the checker's NOT YET"

    b = by_exercise(rows, paths["broken"])
    assert set(b) == {grade.RUN} and b[grade.RUN]["message"].startswith("unreadable")


def test_the_summary_table_scores_every_file(graded, capsys):
    _, paths, rows, _ = graded
    expected = {"good": "2/2", "raises": "1/2", "hangs": "1/2", "deleted": "0/2", "forged": "0/2"}
    for name, score in expected.items():
        mine = [r for r in rows if r["file"] == str(paths[name]) and r["exercise"] != grade.RUN]
        assert f"{sum(r['passed'] == 'True' for r in mine)}/{len(mine)}" == score, name
    table = grade.summary_table(
        [grade.Verdict(r["file"], r["exercise"], r["passed"] == "True", r["message"]) for r in rows]
    )
    for name, score in expected.items():
        line = next(line for line in table.splitlines() if line.startswith(str(paths[name])))
        assert score in line, line


def test_a_submission_cannot_credit_itself(graded):
    _, paths, rows, _ = graded
    f = by_exercise(rows, paths["forged"])
    assert f[grade.RUN]["passed"] == "True"
    assert f["check_to_signed"]["passed"] == "False"
    assert "not signed by a checker" in f["check_to_signed"]["message"]
    # The checker's own NOT YET stands; the hand-made Feedback(True, ...) after it is refused.
    assert f["check_bits_per_dim"]["passed"] == "False"
    assert "a refused record for it was ignored" in f["check_bits_per_dim"]["message"]


def test_malformed_records_fail_their_exercise_and_never_stop_the_run(graded):
    _, paths, rows, _ = graded
    m = by_exercise(rows, paths["malformed"])
    assert m[grade.RUN]["passed"] == "True"
    assert "ignored 1 unreadable feedback record(s), cell 0: not JSON" in m[grade.RUN]["message"]
    assert m["check_to_signed"]["passed"] == "False"
    assert "lacks 'passed'" in m["check_to_signed"]["message"]
    assert m["check_bits_per_dim"]["passed"] == "False"
    assert "'passed' is the str 'no'" in m["check_bits_per_dim"]["message"]
    # The good file graded after these two still passed: nothing leaked from one kernel to another.
    assert by_exercise(rows, paths["good"])["check_to_signed"]["passed"] == "True"


def test_the_csv_is_complete_and_no_temporary_file_is_left(graded):
    _, _, rows, out = graded
    assert not any(r["message"] == grade.NOT_GRADED_YET for r in rows)
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def test_bad_arguments_are_usage_errors_before_anything_runs(tmp_path, monkeypatch, capsys):
    def never(*args, **kwargs):
        raise AssertionError("graded although the arguments are bad")

    monkeypatch.setattr(grade, "grade_file", never)
    sub = write_nb(tmp_path / "s.ipynb", ["1"])
    for extra, name in [
        (["--out", str(tmp_path / "g.csv"), "--timeout", "0"], "--timeout"),
        (["--out", str(tmp_path / "g.csv"), "--timeout", "nan"], "--timeout"),
        (["--out", str(tmp_path / "g.csv"), "--timeout", "inf"], "--timeout"),
        (["--out", str(sub)], "--out"),
        (["--out", str(tmp_path)], "--out"),
    ]:
        with pytest.raises(SystemExit) as info:
            grade.main([str(sub), *extra])
        assert info.value.code == 2
        assert name in capsys.readouterr().err
    assert sub.read_text().startswith("{"), "the submission is untouched"


def test_a_fractional_timeout_is_rounded_up_for_nbclient(tmp_path, monkeypatch):
    seen = {}

    class Client:
        def __init__(self, nb, **kwargs):
            seen.update(kwargs)

        def execute(self, env):
            raise RuntimeError("no kernel in this test")

    import nbclient

    monkeypatch.setattr(nbclient, "NotebookClient", Client)
    rows = grade.grade_file(write_nb(tmp_path / "s.ipynb", ["1"]), timeout=2.5)
    assert seen["timeout"] == 3 and isinstance(seen["timeout"], int)
    assert rows[0].message.startswith("could not run: RuntimeError")


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
    assert grade.main([str(key), str(student), "--out", str(out), "--timeout", "600"]) == 0
    rows = rows_of(out)
    expected = grade.exercise_ids(nbformat.read(chapter, as_version=4))
    k, s = by_exercise(rows, key), by_exercise(rows, student)
    assert k[grade.RUN]["passed"] == "True", k[grade.RUN]
    assert s[grade.RUN]["passed"] == "True", s[grade.RUN]
    for exercise in expected:
        assert k[exercise]["passed"] == "True", k[exercise]
        assert s[exercise]["passed"] == "False", s[exercise]
        assert "not implemented" in s[exercise]["message"], s[exercise]
