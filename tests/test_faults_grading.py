r"""Faults and bad input for the grader and the student-copy tool (review round 2, section 10).

Every case of the review's section 10 runs here through the table in ``tools/fault_report.py``
(so the report counts exactly what is tested): each must be a clear error or a documented,
safe outcome, never silent credit, a crash or lost work. The cases that need a killed process
(kill -9 while writing a student copy, a grader killed mid-run) run in subprocesses below. No
Jupyter kernel is started here: ``tests/test_grade.py`` grades real notebooks once.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from aigc_course import _check, grade

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


report = _load("fault_report")
make = _load("make_student_copies")
CASES = report._grading_cases()
SECRET = bytes(range(32))


def test_the_table_covers_the_reviews_cases():
    names = " | ".join(c.name for c in CASES)
    for needle in [
        "--timeout nan",
        "--out is an existing directory",
        "--out lies under a regular file",
        "--out in a folder the grader cannot write",
        "--out is one of the submissions",
        "a string that is not JSON",
        "lacks 'passed'",
        "lacks 'message'",
        "'passed' is the string 'no'",
        "a forged PASSED",
        "--out is the book folder",
        "--out '' (an unset variable)",
        "--out is an existing regular file",
        "--out holds a folder named like a copy",
        "--book holds a damaged .ipynb",
        "the first {solution-end} is missing",
    ]:
        assert needle in names, needle


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_is_a_clear_error(case, tmp_path):
    result = case.run(tmp_path)
    assert result is not None
    verdict, detail = result
    assert verdict == "clear", detail


# --- the validation functions ---------------------------------------------------------------


def test_check_output_file_accepts_a_new_or_existing_csv(tmp_path):
    assert _check.check_output_file(str(tmp_path / "g.csv"), "--out") == tmp_path / "g.csv"
    (tmp_path / "g.csv").write_text("old")
    assert _check.check_output_file(tmp_path / "g.csv", "--out") == tmp_path / "g.csv"
    assert (tmp_path / "g.csv").read_text() == "old", "checking must not touch the file"
    assert [p.name for p in tmp_path.iterdir()] == ["g.csv"], "the write probe is removed"


@pytest.mark.parametrize(
    ("make_out", "match"),
    [
        (lambda t: "", "must be the path"),
        (lambda t: None, "must be the path"),
        (lambda t: t, "is a folder"),
        (lambda t: t / "sub.ipynb" / "g.csv", "lies inside the input"),
        (lambda t: t / "sub.ipynb", "is one of the inputs"),
        (lambda t: t / "link.csv", "is one of the inputs"),
        (lambda t: t / "file.txt" / "g.csv", "which is a file, not a folder"),
        (lambda t: t / "missing" / "g.csv", "does not exist; create it first"),
        (lambda t: t / "other.ipynb", "ends in .ipynb"),
    ],
)
def test_check_output_file_refuses(tmp_path, make_out, match):
    (tmp_path / "sub.ipynb").write_text("{}")
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "link.csv").symlink_to(tmp_path / "sub.ipynb")
    with pytest.raises(ValueError, match=match) as info:
        _check.check_output_file(
            make_out(tmp_path), "--out", inputs=[tmp_path / "sub.ipynb"], refuse_suffix=".ipynb"
        )
    assert "--out" in str(info.value)
    assert (tmp_path / "sub.ipynb").read_text() == "{}"


def _refuse_writes(monkeypatch, folder: Path):
    real = _check.tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        if Path(kwargs["dir"]).resolve() == folder.resolve():
            raise PermissionError(13, "Permission denied")
        return real(*args, **kwargs)

    monkeypatch.setattr(_check.tempfile, "mkstemp", mkstemp)


def test_an_unwritable_folder_is_refused_by_a_real_write(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() != 0:
        ro.chmod(0o555)
    else:  # root ignores file modes: refuse the probe's file creation instead
        _refuse_writes(monkeypatch, ro)
    try:
        with pytest.raises(ValueError, match=r"--out: cannot write in the folder .*ro"):
            _check.check_output_file(ro / "g.csv", "--out")
        with pytest.raises(ValueError, match=r"--out: cannot write in the folder .*ro"):
            _check.check_output_folder(ro / "copies", "--out")
    finally:
        ro.chmod(0o755)


@pytest.mark.parametrize(
    ("make_out", "match"),
    [
        (lambda t, b: "", "must name a folder"),
        (lambda t, b: "  ", "must name a folder"),
        (lambda t, b: b, "is .* or a folder inside it"),
        (lambda t, b: b / "student", "is .* or a folder inside it"),
        (lambda t, b: t / "x" / ".." / "book", "is .* or a folder inside it"),
        (lambda t, b: t / "file.txt", "is a file, not a folder"),
        (lambda t, b: t / "file.txt" / "copies", "which is a file, not a folder"),
    ],
)
def test_check_output_folder_refuses(tmp_path, make_out, match):
    book = tmp_path / "book"
    book.mkdir()
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match=match):
        _check.check_output_folder(make_out(tmp_path, book), "--out", protected=[book])


def test_check_output_folder_accepts_a_new_nested_folder(tmp_path):
    out = tmp_path / "a" / "b"
    assert _check.check_output_folder(str(out), "--out", protected=[tmp_path / "book"]) == out
    assert not out.exists(), "checking creates nothing"


# --- feedback records ---------------------------------------------------------------------

RECORD = {"exercise": "check_to_signed", "passed": True, "message": "well done"}


def test_a_record_signed_with_this_runs_secret_is_accepted_whatever_its_key_order():
    raw = {"message": "well done", "passed": True, "exercise": "check_to_signed"}
    raw["tag"] = grade.record_tag(SECRET, RECORD)
    assert grade.parse_record(raw, SECRET) == grade.Record("check_to_signed", True, "well done")
    assert grade.parse_record(json.dumps(raw, indent=2), SECRET).passed is True


def test_the_tag_is_hmac_sha256_of_the_sorted_compact_json():
    import hashlib
    import hmac

    body = b'{"exercise":"check_to_signed","message":"well done","passed":true}'
    assert grade.canonical_record(RECORD) == body
    assert grade.record_tag(SECRET, RECORD) == hmac.new(SECRET, body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("{'exercise': 1}", "not JSON"),
        ([1, 2], "not a JSON object"),
        ({"passed": True, "message": "m"}, "no exercise id"),
        ({"exercise": 3, "passed": True, "message": "m"}, "no exercise id"),
        ({"exercise": "check_a", "message": "m"}, "lacks 'passed'"),
        ({"exercise": "check_a", "passed": True}, "lacks 'message'"),
        ({"exercise": "check_a", "passed": "True", "message": "m"}, "'passed' is the str"),
        ({"exercise": "check_a", "passed": 1, "message": "m"}, "'passed' is the int"),
        ({"exercise": "check_a", "passed": True, "message": None}, "'message' is a NoneType"),
        ({"exercise": "check_a", "passed": True, "message": "m", "x": 1}, "unexpected keys"),
        ({"exercise": "check_a", "passed": True, "message": "m"}, "not signed by a checker"),
        ({"exercise": "check_a", "passed": True, "message": "m", "tag": 5}, "not signed"),
        ({"exercise": "check_a", "passed": True, "message": "m", "tag": "ab"}, "does not match"),
    ],
)
def test_a_malformed_or_unsigned_record_is_refused_with_the_reason(raw, problem):
    record = grade.parse_record(raw, SECRET)
    assert record.passed is False
    assert problem in record.problem
    assert record.message.startswith("refused feedback record: ")


def test_an_altered_record_fails_its_tag():
    signed = {**RECORD, "passed": False, "message": "not yet"}
    tag = grade.record_tag(SECRET, signed)
    assert grade.parse_record({**signed, "tag": tag}, SECRET).problem == ""
    forged = {**RECORD, "tag": tag}  # the NOT YET's tag on a PASSED
    assert "does not match" in grade.parse_record(forged, SECRET).problem
    assert "does not match" in grade.parse_record({**signed, "tag": tag}, bytes(32)).problem


def _executed(records: list[object], metadata: object = None) -> dict:
    outputs = [{"output_type": "display_data", "data": {grade.FEEDBACK_MIME: r}} for r in records]
    nb = {"cells": [{"cell_type": "code", "source": "", "outputs": [o]} for o in outputs]}
    nb["metadata"] = (
        {"aigc_course": {"exercises": ["check_to_signed"]}} if metadata is None else metadata
    )
    return nb


def test_a_valid_verdict_wins_over_a_refused_record_and_a_refused_one_alone_fails():
    valid = {**RECORD, "passed": False, "message": "not yet"}
    valid["tag"] = grade.record_tag(SECRET, valid)
    forged = dict(RECORD)
    rows = grade.verdicts_from("s", _executed([valid, forged]), (True, "ran"), secret=SECRET)
    row = next(r for r in rows if r.exercise == "check_to_signed")
    assert row.passed is False and row.message.startswith("not yet")
    assert "refused record" in row.message

    rows = grade.verdicts_from("s", _executed([forged]), (True, "ran"), secret=SECRET)
    row = next(r for r in rows if r.exercise == "check_to_signed")
    assert row.passed is False and "not signed by a checker" in row.message
    assert "(cell 0)" in row.message


def test_a_record_without_an_exercise_id_is_noted_in_the_run_row():
    rows = grade.verdicts_from("s", _executed(["{nope", [1]]), (True, "ran"), secret=SECRET)
    run = rows[0]
    assert run.exercise == grade.RUN and run.passed is True
    assert "ignored 2 unreadable feedback record(s), cell 0: not JSON" in run.message
    assert rows[1] == grade.Verdict(
        "s", "check_to_signed", False, "missing: no checker output (cell deleted?)"
    )


@pytest.mark.parametrize(
    "metadata",
    [
        {"aigc_course": "oops"},
        {"aigc_course": {"exercises": "check_to_signed"}},
        {"aigc_course": {"exercises": [1, 2]}},
        "not a dict",
    ],
)
def test_damaged_metadata_falls_back_to_the_checker_calls(metadata):
    nb = _executed([], metadata)
    nb["cells"].append({"cell_type": "code", "source": ["x = check_bits_per_dim(f)\n"]})
    rows = grade.verdicts_from("s", nb, (True, "ran"), secret=SECRET)
    assert [r.exercise for r in rows] == [grade.RUN, "check_bits_per_dim"]


def test_garbage_notebooks_never_raise():
    for nb in [None, [], {"cells": 3}, {"cells": [3, None, {"outputs": 4, "cell_type": "code"}]}]:
        rows = grade.verdicts_from("s", nb, (False, "unreadable"), secret=SECRET)
        assert rows == [grade.Verdict("s", grade.RUN, False, "unreadable")]


# --- the grades are never lost ------------------------------------------------------------


def test_when_no_file_can_be_written_the_grades_are_printed_as_csv(tmp_path, monkeypatch, capsys):
    def fail(rows, out):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(grade, "write_csv", fail)
    rows = [grade.Verdict("a.ipynb", grade.RUN, True, "ran, with a comma")]
    status, note = grade.save_grades(rows, tmp_path / "g.csv", [tmp_path / "a.ipynb"])
    assert status == 1 and "printed above as CSV" in note and "No space left" in note
    text = capsys.readouterr().out
    body = text.split("----- grades (CSV) -----\n")[1].split("----- end of grades -----")[0]
    assert list(csv.reader(body.splitlines()))[1] == [
        "a.ipynb",
        "(run)",
        "True",
        "ran, with a comma",
    ]


_KILLED_GRADER = """
import os, signal, sys
from aigc_course import grade
def fake(path, **kw):
    if path.name == "c.ipynb":
        os.kill(os.getpid(), signal.SIGKILL)
    return [grade.Verdict(str(path), grade.RUN, True, "ran to the end")]
grade.grade_file = fake
grade.main(sys.argv[1:])
"""


def test_a_grader_killed_mid_run_leaves_the_grades_so_far(tmp_path):
    subs = []
    for name in ("a", "b", "c", "d"):
        (tmp_path / f"{name}.ipynb").write_text("{}")
        subs.append(str(tmp_path / f"{name}.ipynb"))
    out = tmp_path / "g.csv"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_GRADER, *subs, "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["file"], r["passed"]) for r in rows] == [
        (subs[0], "True"),
        (subs[1], "True"),
        (subs[2], "False"),
        (subs[3], "False"),
    ]
    assert rows[2]["message"] == rows[3]["message"] == grade.NOT_GRADED_YET
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --- student copies -----------------------------------------------------------------------

_KILLED_COPY = """
import importlib.util, os, signal, sys
spec = importlib.util.spec_from_file_location("m", sys.argv[1])
make = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make)
real_write = make.nbformat.write
def half_then_die(nb, fp, **kw):
    text = make.nbformat.writes(nb)
    with open(fp, "w", encoding="utf-8") as f:
        f.write(text[: len(text) // 2])
        f.flush()
        os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)
make.nbformat.write = half_then_die
make.main(["--book", sys.argv[2], "--out", sys.argv[3]])
"""


def test_kill_9_while_writing_a_copy_leaves_no_half_written_notebook(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    (book / "concepts.ipynb").write_bytes((ROOT / "book" / "concepts.ipynb").read_bytes())
    out = tmp_path / "copies"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = [sys.executable, "-c", _KILLED_COPY, str(ROOT / "tools" / "make_student_copies.py")]
    proc = subprocess.run(
        [*script, str(book), str(out)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not (out / "concepts.ipynb").exists(), "a half-written copy under the real name"
    orphans = [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert len(orphans) == 1, "the experiment must have written something"

    # A normal run afterwards writes the copy and clears the dead run's temporary file.
    assert make.main(["--book", str(book), "--out", str(out)]) == 0
    assert [p.name for p in out.iterdir()] == ["concepts.ipynb"]
    nbformat.validate(nbformat.read(out / "concepts.ipynb", as_version=4))


def test_a_rerun_replaces_its_own_copies(tmp_path, capsys):
    book = tmp_path / "book"
    book.mkdir()
    (book / "concepts.ipynb").write_bytes((ROOT / "book" / "concepts.ipynb").read_bytes())
    out = tmp_path / "copies"
    assert make.main(["--book", str(book), "--out", str(out)]) == 0
    first = (out / "concepts.ipynb").read_bytes()
    assert make.main(["--book", str(book), "--out", str(out)]) == 0
    assert (out / "concepts.ipynb").read_bytes() == first


def test_one_bad_chapter_writes_no_copy_at_all(tmp_path, capsys):
    book = tmp_path / "book"
    book.mkdir()
    for name in ("concepts.ipynb", "loss_math.ipynb"):
        (book / name).write_bytes((ROOT / "book" / name).read_bytes())
    nb = nbformat.read(book / "loss_math.ipynb", as_version=4)
    end = next(i for i, c in enumerate(nb.cells) if "{solution-end}" in c.source)
    start = max(i for i in range(end) if "{solution-start}" in nb.cells[i].source)
    nb.cells[end] = nbformat.v4.new_markdown_cell("prose")
    nbformat.write(nb, book / "loss_math.ipynb")
    with pytest.raises(SystemExit) as info:
        make.main(["--book", str(book), "--out", str(tmp_path / "copies")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "chapter loss_math: the solution block" in err and f"opened in cell {start}" in err
    assert not (tmp_path / "copies").exists()


@pytest.mark.parametrize(
    ("cells", "match"),
    [
        (["S", "code", "S", "E"], "opened in cell 0 is not closed before the next"),
        (["S", "code", "X", "E"], "is not closed before the {exercise-start} in cell 2"),
        (["E"], "cell 0 has a {solution-end} with no {solution-start}"),
        (["S", "code"], "opened in cell 0 is never closed"),
        (["S", "`````{solution-end}"], "the {solution-end} in cell 1 lacks its closing line"),
    ],
)
def test_unpaired_solution_markers_name_the_cell(cells, match):
    sources = {
        "S": "`````{solution-start} ex-label\n:class: dropdown\n`````",
        "E": "`````{solution-end}\n`````",
        "X": "`````{exercise-start}\n:label: ex-2\n`````",
    }
    nb_cells = [
        nbformat.v4.new_code_cell("x = 1")
        if c == "code"
        else nbformat.v4.new_markdown_cell(sources.get(c, c))
        for c in cells
    ]
    with pytest.raises(ValueError, match=match):
        make.remove_solutions(nb_cells)


def test_the_label_of_an_unclosed_block_is_named():
    cells = [nbformat.v4.new_markdown_cell("`````{solution-start} ex-concepts-signed\n`````")]
    with pytest.raises(ValueError, match="'ex-concepts-signed' opened in cell 0"):
        make.remove_solutions(cells)


def test_the_feedback_record_outside_the_grader_is_unchanged():
    # What the book's stored outputs hold: exactly these three keys, no tag.
    from aigc_course.exercises import feedback

    assert feedback._signer is None, "the test process must never be armed"
    bundle = feedback.Feedback(True, "well done", "check_x")._repr_mimebundle_()
    assert bundle == {
        "text/plain": "PASSED: well done",
        feedback.MIME_TYPE: {"exercise": "check_x", "passed": True, "message": "well done"},
    }


_ARMED = """
import json, math, secrets
from aigc_course import grade
from aigc_course.exercises import feedback
secret = secrets.token_bytes(32)
feedback._arm_grading(secret.hex())
import aigc_course.exercises as ex
from aigc_course.exercises.concepts import check_to_signed as direct
def record(fb):
    return fb._repr_mimebundle_()[feedback.MIME_TYPE]
out = {}
good = ex.check_to_signed(lambda x: 2 * x - 1)
out["good"] = grade.parse_record(record(good), secret).problem
out["wrong"] = grade.parse_record(record(ex.check_to_signed(lambda x: x)), secret).problem
out["direct_import_wrapped"] = direct is ex.check_to_signed
out["hand_made"] = grade.parse_record(record(ex.Feedback(True, "x", "check_bits_per_dim")), secret).problem
out["hand_made_copy_of_issued"] = grade.parse_record(record(ex.Feedback(True, good.message, "check_to_signed")), secret).problem
flipped = ex.check_bits_per_dim(lambda n, d: n)
object.__setattr__(flipped, "passed", True)
out["flipped"] = grade.parse_record(record(flipped), secret).problem
unwrapped = ex.check_bits_per_dim.__wrapped__(lambda n, d: n / d / math.log(2))
out["unwrapped_passed"] = unwrapped.passed
out["unwrapped_checker"] = grade.parse_record(record(unwrapped), secret).problem
out["text"] = good._repr_mimebundle_()["text/plain"]
out["keys"] = sorted(record(good))
try:
    feedback._arm_grading(secrets.token_hex(32))
    out["rearm"] = "accepted"
except RuntimeError as exc:
    out["rearm"] = str(exc)
print(json.dumps(out))
"""


def test_an_armed_kernel_signs_only_the_verdicts_its_checkers_returned():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_ARMED)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["good"] == "" and out["wrong"] == ""
    assert out["direct_import_wrapped"] is True
    assert "not signed" in out["hand_made"]
    assert out["hand_made_copy_of_issued"] == "", "an equal verdict is the same verdict"
    assert "not signed" in out["flipped"]
    assert out["unwrapped_passed"] is True
    assert "not signed" in out["unwrapped_checker"], "only the wrapped public checkers issue"
    assert out["text"].startswith("PASSED: ")
    assert out["keys"] == ["exercise", "message", "passed", "tag"]
    assert "already armed" in out["rearm"]


class _FakeChannel:
    def __init__(self, replies):
        self.replies = list(replies)

    def get_msg(self, timeout):
        from queue import Empty

        if not self.replies:
            raise Empty
        return self.replies.pop(0)


class _FakeKernelClient:
    def __init__(self, replies, alive=True, fail=None):
        self.shell_channel = _FakeChannel(replies)
        self.alive, self.fail, self.sent = alive, fail, []

    def execute(self, code, **kwargs):
        if self.fail is not None:
            raise self.fail
        self.sent.append((code, kwargs))
        return "arm-1"

    def is_alive(self):
        return self.alive


def _arm_with(kc):
    import asyncio
    import types

    failure: dict[str, str] = {}
    arm, before_cell = grade._arming_hooks(types.SimpleNamespace(kc=kc), SECRET, failure)
    asyncio.run(arm(notebook=None))
    return before_cell


def test_arming_sends_one_silent_historyless_request_with_the_secret():
    other = {"parent_header": {"msg_id": "someone-else"}, "content": {"status": "ok"}}
    ok = {"parent_header": {"msg_id": "arm-1"}, "content": {"status": "ok"}}
    kc = _FakeKernelClient([other, ok])
    _arm_with(kc)()  # no error before the first cell
    ((code, kwargs),) = kc.sent
    assert SECRET.hex() in code and "_arm_grading" in code
    assert kwargs == {"silent": True, "store_history": False, "allow_stdin": False}


@pytest.mark.parametrize(
    ("kc", "match"),
    [
        (
            _FakeKernelClient(
                [
                    {
                        "parent_header": {"msg_id": "arm-1"},
                        "content": {"status": "error", "ename": "ModuleNotFoundError"},
                    }
                ]
            ),
            "could not load aigc_course.exercises.feedback .ModuleNotFoundError",
        ),
        (_FakeKernelClient([], alive=False), "the kernel died while loading"),
        (_FakeKernelClient([], fail=OSError("socket closed")), "could not prepare the kernel"),
    ],
)
def test_a_kernel_that_cannot_be_armed_stops_before_the_first_cell(kc, match):
    before_cell = _arm_with(kc)  # the hook itself never raises (nbclient would leak the kernel)
    with pytest.raises(grade._ArmError, match=match):
        before_cell()
