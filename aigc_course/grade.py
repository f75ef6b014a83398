r"""Grade exercise submissions: run each notebook, collect every checker's verdict, write a CSV.

Usage::

    python -m aigc_course.grade FILE.ipynb [FILE.ipynb ...] --out grades.csv [--timeout 600]

Each submission is executed from top to bottom in a fresh kernel (nbclient) in quick mode
(``AIGC_QUICK=1`` in the kernel's environment), in the submission's folder, with a time limit per
cell (rounded up to whole seconds). Every checker's
:class:`~aigc_course.exercises.feedback.Feedback` shown in a cell output carries a
machine-readable record (MIME type ``FEEDBACK_MIME``: exercise id, passed, message); the grader
reads those records from the executed notebook, so what a student prints or renames does not
change the verdict.

The CSV has one row per (file, exercise): ``file, exercise, passed, message``. The exercise ids
are the checkers' names (``check_gaussian_kl``). Each file also gets a row with the exercise
``(run)``: whether the notebook ran to the end, raised (which cell, which exception), timed out
or could not be read. The ids a submission must contain come from its metadata (written by
``tools/make_student_copies.py``); an expected exercise with no verdict (its cell was deleted, or
the run stopped before it) gets a row that says so, with ``passed`` false.

What the grader guarantees
--------------------------
* **The arguments are checked before anything runs.** ``--timeout`` must be a finite number of
  seconds > 0. ``--out`` must be a file path (not a folder, not a ``.ipynb``) in an existing
  folder the grader can write (tried by creating a file there), and neither one of the
  submissions nor inside one (paths resolved). A bad argument is a usage error (exit 2).
* **Grades are never lost.** One submission that cannot be read, raises, hangs, kills its
  kernel or emits malformed records is recorded and the next one is graded. The CSV is written
  atomically (temporary file in the same folder, fsync, rename) after *every* submission, with a
  ``not graded yet`` row for those still to come, so a killed grader leaves the grades so far.
  If the CSV cannot be written at the end all the same (the folder vanished, the disk filled),
  the grades go to ``grades-unsaved-<time>-<pid>.csv`` beside the first submission, or to standard
  output as CSV when that fails too, and the exit status is 1 with a message saying where.
* **Only the checkers' own verdicts count.** A record is accepted only when it carries a valid
  HMAC-SHA256 tag under a secret drawn for this submission in this run (see below). A record
  that is not JSON, lacks ``exercise``, ``passed`` or ``message``, has a ``passed`` that is not
  ``true``/``false``, or has no valid tag is refused: that exercise fails with a message saying
  why (a valid verdict for the same exercise still counts); a record with no readable exercise
  id is noted in the ``(run)`` row.

How a record proves that a checker made it in this run
------------------------------------------------------
For each submission the grader draws a 256-bit secret (``secrets.token_bytes``). Right after
the kernel starts, before the first cell, it sends one *silent* request that keeps no history
(``silent=True, store_history=False``: nothing lands in ``In``, ``_ih`` or the history database)
and that imports the real :mod:`aigc_course.exercises.feedback` (the submission's folder is taken
off ``sys.path`` for that import, so a stray ``aigc_course/`` beside the notebooks cannot stand in
for it) and hands it the secret. From then on, in that kernel only:

1. every public checker (``check_*`` in ``aigc_course.exercises.__all__``, in the package and
   in its submodules) is wrapped so that the :class:`Feedback` it *returns* is entered in a set of
   issued verdicts;
2. when a :class:`Feedback` is displayed and its (exercise, passed, message) is an issued
   verdict, its record gets ``tag = HMAC-SHA256(secret, canonical JSON of the record)``
   (:func:`canonical_record`, :func:`record_tag`);
3. the secret and the set live only in closures; arming twice is refused.

So a submission cannot print a "PASSED" of its own: a record displayed by hand
(``display(..., raw=True)``), a ``Feedback(True, ...)`` built by hand, a checker's verdict
changed after the fact (``object.__setattr__``), a record copied from another run or another
submission: none has a valid tag. Why not an environment variable: the kernel's environment is
readable by every cell (``os.environ`` before the module reads it, ``/proc/self/environ``
after), and a variable is inherited by every subprocess.

What it does **not** protect against: code in the same kernel that reaches into the package,
i.e. reads the closures (``__closure__``, the ``gc`` module), calls the private signing function,
replaces an exercise's declaration or the engine before calling a checker, or passes the
package's own reference function to a checker. A sandbox that re-runs the checkers on the
students' functions in a separate process would be needed for that; this grader makes forging
deliberate tampering with the package, not printing a dict. It also trusts the submission's
metadata for the list of expected exercises: compare the CSV's exercises with the chapter's.

Grading runs the students' code: run it in a container or a throw-away account, not as yourself.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import hmac
import io
import json
import math
import os
import re
import secrets
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FEEDBACK_MIME = "application/vnd.aigc-course.feedback+json"
RUN = "(run)"
CHECKER_CALL = re.compile(r"\b(check_[A-Za-z0-9_]+)\s*\(")
RECORD_KEYS = ("exercise", "passed", "message")
TAG = "tag"
NOT_GRADED_YET = "not graded yet: the grader stopped before this file"

# Sent to a fresh kernel before the first cell (silent, no history); %r is the secret in hex.
_ARM_CODE = """\
def _aigc_arm(secret):
    import os, sys
    here = {"", ".", os.getcwd()}
    saved = sys.path[:]
    sys.path[:] = [p for p in saved if p not in here]
    try:
        from aigc_course.exercises import feedback
    finally:
        sys.path[:] = saved
    feedback._arm_grading(secret)
try:
    _aigc_arm(%r)
finally:
    del _aigc_arm
"""


@dataclass(frozen=True)
class Verdict:
    r"""One CSV row: a submission file, an exercise id, whether it passed, and why."""

    file: str
    exercise: str
    passed: bool
    message: str


@dataclass(frozen=True)
class Record:
    r"""A feedback record read from a notebook output.

    ``problem`` is empty for a record accepted as a checker's verdict; otherwise it says why the
    record is refused (and ``passed`` is False). ``exercise`` is None when no exercise id could
    be read from it.
    """

    exercise: str | None
    passed: bool
    message: str
    problem: str = ""


def canonical_record(record: Mapping[str, Any]) -> bytes:
    r"""The bytes a record's tag is computed over: its exercise, passed and message, as sorted JSON.

    ``json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=True)``: one byte
    string per record, whatever order or whitespace a notebook writer stores it with.
    """
    body = {key: record[key] for key in RECORD_KEYS}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode("ascii")


def record_tag(secret: bytes, record: Mapping[str, Any]) -> str:
    r"""The record's tag: HMAC-SHA256 of :func:`canonical_record` under ``secret``, in hex.

    HMAC as in RFC 2104 (Krawczyk, Bellare, Canetti, 1997) with SHA-256 (FIPS 180-4).
    """
    return hmac.new(secret, canonical_record(record), hashlib.sha256).hexdigest()


def _refused(exercise: str | None, problem: str) -> Record:
    return Record(exercise, False, f"refused feedback record: {problem}", problem)


def parse_record(raw: object, secret: bytes) -> Record:
    r"""Read one record (a dict, or JSON text of one) and check it; never raises.

    Accepted only when it is a JSON object with exactly ``exercise`` (a non-empty string),
    ``passed`` (true or false), ``message`` (a string) and ``tag``, and the tag is
    :func:`record_tag` of the record under ``secret``.
    """
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            return _refused(None, f"not JSON ({str(exc)[:80]})")
    if not isinstance(raw, Mapping):
        return _refused(None, f"not a JSON object but a {type(raw).__name__}")
    exercise = raw.get("exercise")
    if not isinstance(exercise, str) or not exercise:
        return _refused(None, f"no exercise id (exercise={exercise!r:.40})")
    for key in ("passed", "message"):
        if key not in raw:
            return _refused(exercise, f"it lacks {key!r}")
    if not isinstance(raw["passed"], bool):
        kind = type(raw["passed"]).__name__
        return _refused(exercise, f"'passed' is the {kind} {raw['passed']!r:.40}, not true/false")
    if not isinstance(raw["message"], str):
        return _refused(exercise, f"'message' is a {type(raw['message']).__name__}, not text")
    extra = sorted(set(raw) - {*RECORD_KEYS, TAG})
    if extra:
        return _refused(exercise, f"unexpected keys {extra}")
    tag = raw.get(TAG)
    if not isinstance(tag, str):
        return _refused(
            exercise,
            "not signed by a checker in this run (the submission's own code displayed it, or "
            "a checker ran outside the grader)",
        )
    if not hmac.compare_digest(tag, record_tag(secret, raw)):
        return _refused(
            exercise,
            "its tag does not match this run's secret (forged, altered, or copied from "
            "another run)",
        )
    return Record(exercise, raw["passed"], raw["message"])


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _cells(nb: object) -> list[Mapping[str, Any]]:
    cells = nb.get("cells", []) if isinstance(nb, Mapping) else []
    return [c for c in cells if isinstance(c, Mapping)] if isinstance(cells, list) else []


def exercise_ids(nb: Any) -> list[str]:
    r"""The exercise ids a notebook expects, in order of first appearance.

    Taken from ``metadata["aigc_course"]["exercises"]`` where that is a list of strings (student
    copies carry it), else from the checker calls (``check_*(``) in the code cells: the answer
    key's exercises.
    """
    meta = nb.get("metadata", {}) if isinstance(nb, Mapping) else {}
    meta = meta.get("aigc_course", {}) if isinstance(meta, Mapping) else {}
    listed = meta.get("exercises") if isinstance(meta, Mapping) else None
    if isinstance(listed, list) and all(isinstance(e, str) for e in listed):
        return list(dict.fromkeys(listed))
    found: list[str] = []
    for cell in _cells(nb):
        if cell.get("cell_type") != "code":
            continue
        for line in _source(cell).splitlines():
            if line.lstrip().startswith(("#", "from ", "import ")):
                continue
            for name in CHECKER_CALL.findall(line):
                if name not in found:
                    found.append(name)
    return found


def feedback_records(nb: Any) -> list[tuple[int, object]]:
    r"""Every feedback record in the notebook's code-cell outputs: ``(cell index, raw record)``.

    The raw record is what the output stores under ``FEEDBACK_MIME`` (a dict, or JSON text);
    :func:`parse_record` reads and checks it.
    """
    records = []
    for index, cell in enumerate(_cells(nb)):
        outputs = cell.get("outputs", []) if cell.get("cell_type") == "code" else []
        for output in outputs if isinstance(outputs, list) else []:
            data = output.get("data", {}) if isinstance(output, Mapping) else {}
            if isinstance(data, Mapping) and FEEDBACK_MIME in data:
                records.append((index, data[FEEDBACK_MIME]))
    return records


def verdicts_from(
    file: str, nb: Any, run_status: tuple[bool, str], *, secret: bytes
) -> list[Verdict]:
    r"""The rows for one executed (or partly executed) notebook; never raises.

    ``run_status`` is ``(ran_to_the_end, message)``; ``secret`` is the one the kernel signed
    with. The last accepted record of an exercise wins (a student may run a checker twice); an
    exercise with only refused records fails with the reason; expected exercises without a
    record are reported missing (or not reached, when the run stopped early).
    """
    ran, run_message = run_status
    accepted: dict[str, Record] = {}
    refused: dict[str, tuple[int, Record]] = {}
    unnamed: list[str] = []
    for index, raw in feedback_records(nb):
        record = parse_record(raw, secret)
        if record.exercise is None:
            unnamed.append(f"cell {index}: {record.problem}")
        elif record.problem:
            refused[record.exercise] = (index, record)
        else:
            accepted[record.exercise] = record
    if unnamed:
        run_message += f"; ignored {len(unnamed)} unreadable feedback record(s), {unnamed[0]}"
    rows = [Verdict(file, RUN, ran, run_message)]
    expected = exercise_ids(nb)
    seen = [e for e in [*accepted, *refused] if e not in expected]
    for exercise in dict.fromkeys([*expected, *seen]):
        if exercise in accepted:
            record = accepted[exercise]
            note = " [a refused record for it was ignored]" if exercise in refused else ""
            rows.append(Verdict(file, exercise, record.passed, record.message + note))
        elif exercise in refused:
            index, record = refused[exercise]
            rows.append(Verdict(file, exercise, False, f"{record.message} (cell {index})"))
        elif ran:
            rows.append(
                Verdict(file, exercise, False, "missing: no checker output (cell deleted?)")
            )
        else:
            rows.append(Verdict(file, exercise, False, f"not reached: {run_message}"))
    return rows


def _error_summary(exc: BaseException) -> str:
    name = getattr(exc, "ename", "") or type(exc).__name__
    value = getattr(exc, "evalue", "") or str(exc).strip().splitlines()[-1:]
    if isinstance(value, list):
        value = value[0] if value else ""
    return f"{name}: {value}"[:300]


class _ArmError(RuntimeError):
    r"""The kernel could not load the course package, so no checker verdict could be trusted."""


ARM_TIMEOUT = 120.0  # seconds a fresh kernel may take to import the course package


def _arming_hooks(client: Any, secret: bytes, failure: dict[str, str]) -> tuple[Any, Any]:
    r"""(on_notebook_start, check before each cell): arm the kernel; stop cleanly if it failed.

    The arming request has its own time budget (:data:`ARM_TIMEOUT`, not ``--timeout``: the
    import of torch alone can take longer than a short cell limit) and never raises, because
    nbclient runs this hook where an exception would leave the kernel running; a failure is
    raised by the second hook, before the first cell, inside nbclient's cleanup.
    """
    from queue import Empty

    from nbclient.util import ensure_async

    async def arm(notebook: Any = None) -> None:
        try:
            code = _ARM_CODE % secret.hex()
            msg_id = await ensure_async(
                client.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
            )
            deadline = time.monotonic() + ARM_TIMEOUT
            while time.monotonic() < deadline:
                try:
                    reply = await ensure_async(client.kc.shell_channel.get_msg(timeout=1))
                except Empty:
                    if not await ensure_async(client.kc.is_alive()):
                        failure["error"] = "the kernel died while loading the course package"
                        return
                    continue
                if reply.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                content = reply.get("content", {})
                if content.get("status") != "ok":
                    failure["error"] = (
                        "the kernel could not load aigc_course.exercises.feedback "
                        f"({content.get('ename', content.get('status'))}: "
                        f"{content.get('evalue', '')}); install the course package in the "
                        "grading kernel"
                    )
                return
            failure["error"] = f"the kernel did not load the course package in {ARM_TIMEOUT:g} s"
        except Exception as exc:  # never raise here: see the docstring
            failure["error"] = f"could not prepare the kernel: {_error_summary(exc)}"

    def before_cell() -> None:
        if "error" in failure:
            raise _ArmError(failure["error"])

    return arm, before_cell


def grade_file(
    path: Path, *, timeout: float, kernel_name: str = "python3", secret: bytes | None = None
) -> list[Verdict]:
    r"""Execute one submission and return its rows; never raises for a faulty submission.

    ``secret`` (drawn fresh when None) is the key the kernel signs the checkers' records with;
    see the module docstring.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    file = str(path)
    secret = secrets.token_bytes(32) if secret is None else secret
    try:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:  # grade what the code does now, not what was saved
            if cell.cell_type == "code":
                cell.outputs = []
    except Exception as exc:  # not JSON, not a notebook: record it and go on
        return [Verdict(file, RUN, False, f"unreadable: {_error_summary(exc)}")]
    env = {**os.environ, "AIGC_QUICK": "1", "MPLBACKEND": "Agg"}
    client = NotebookClient(
        nb,
        timeout=math.ceil(timeout),
        kernel_name=kernel_name,
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    current = {"n": -1}
    failure: dict[str, str] = {}
    arm, before_cell = _arming_hooks(client, secret, failure)

    def on_cell_start(cell: Any, cell_index: int) -> None:
        before_cell()
        current["n"] = cell_index

    client.on_notebook_start = arm
    client.on_cell_start = on_cell_start
    try:
        client.execute(env=env)
        status = (True, "ran to the end")
    except CellTimeoutError:
        status = (False, f"timed out: cell {current['n']} ran longer than {timeout:g} s")
    except CellExecutionError as exc:
        status = (False, f"error in cell {current['n']}: {_error_summary(exc)}")
    except DeadKernelError as exc:
        status = (False, f"kernel died in cell {current['n']}: {_error_summary(exc)}")
    except _ArmError as exc:
        status = (False, f"could not run: {exc}")
    except Exception as exc:  # a kernel that does not start, say: record and continue
        status = (False, f"could not run: {_error_summary(exc)}")
    return verdicts_from(file, nb, status, secret=secret)


def csv_text(rows: Iterable[Verdict]) -> str:
    r"""The rows as CSV text: a header ``file, exercise, passed, message``, then one line each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["file", "exercise", "passed", "message"])
    for row in rows:
        writer.writerow([row.file, row.exercise, row.passed, row.message])
    return buffer.getvalue()


def write_csv(rows: Iterable[Verdict], out: Path) -> None:
    r"""Write the rows as CSV to ``out`` atomically (temporary file, fsync, rename)."""
    from aigc_course.runtime import atomic_write

    text = csv_text(rows)
    with atomic_write(out) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_grades(rows: Sequence[Verdict], out: Path, files: Sequence[Path]) -> tuple[int, str]:
    r"""Write the final CSV; if that fails, save the grades elsewhere. Return (exit status, note).

    The fallback is ``grades-unsaved-<time>-<pid>.csv`` beside the first submission, then standard
    output (the CSV text between two marker lines). Grades are never dropped.
    """
    try:
        write_csv(rows, out)
        return 0, f"wrote {len(rows)} rows to {out}"
    except OSError as exc:
        reason = f"could not write --out {out} ({exc.strerror or exc})"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = Path(files[0]).absolute().parent if files else Path.cwd()
    fallback = folder / f"grades-unsaved-{stamp}-{os.getpid()}.csv"
    try:
        write_csv(rows, fallback)
        return 1, f"error: {reason}; the grades were saved to {fallback} instead"
    except OSError as exc:
        reason += f", nor {fallback} ({exc.strerror or exc})"
    sys.stdout.write("----- grades (CSV) -----\n" + csv_text(rows) + "----- end of grades -----\n")
    return 1, f"error: {reason}; the grades are printed above as CSV: copy them now"


def summary_table(rows: Sequence[Verdict]) -> str:
    r"""A plain-text table: per file, exercises passed out of graded, and how the run ended."""
    files: dict[str, list[Verdict]] = {}
    for row in rows:
        files.setdefault(row.file, []).append(row)
    width = max([len("file"), *(len(f) for f in files)])
    lines = [f"{'file':<{width}}  passed  run", f"{'-' * width}  ------  ---"]
    for file, file_rows in files.items():
        exercises = [r for r in file_rows if r.exercise != RUN]
        run = next((r for r in file_rows if r.exercise == RUN), None)
        passed = sum(r.passed for r in exercises)
        score = f"{passed}/{len(exercises)}"
        lines.append(f"{file:<{width}}  {score:>6}  {run.message if run else ''}")
    return "\n".join(lines)


def _parse_args(argv: Sequence[str] | None) -> tuple[list[Path], Path, float, str]:
    r"""Parse and check the command line before anything runs (a bad argument exits with 2)."""
    from aigc_course._check import check_output_file, check_real

    parser = argparse.ArgumentParser(
        prog="python -m aigc_course.grade", description=__doc__.splitlines()[0]
    )
    parser.add_argument("files", nargs="+", help="submitted notebooks (.ipynb)")
    parser.add_argument("--out", required=True, help="CSV file to write (its folder must exist)")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds allowed per cell (default 600)"
    )
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name")
    args = parser.parse_args(argv)
    try:
        timeout = check_real(args.timeout, "--timeout", low=0.0, low_open=True)
        out = check_output_file(args.out, "--out", inputs=args.files, refuse_suffix=".ipynb")
    except ValueError as exc:
        parser.error(str(exc))
    return [Path(f) for f in args.files], out, timeout, args.kernel


def main(argv: Sequence[str] | None = None) -> int:
    r"""The command line: grade every file, write the CSV after each one; see the module doc."""
    files, out, timeout, kernel = _parse_args(argv)
    rows: list[Verdict] = []
    interrupted = False
    for done, path in enumerate(files):
        print(f"grading {path} ...", flush=True)
        try:
            rows.extend(grade_file(path, timeout=timeout, kernel_name=kernel))
        except KeyboardInterrupt:
            rows += [Verdict(str(p), RUN, False, NOT_GRADED_YET) for p in files[done:]]
            print("interrupted: saving the grades so far", file=sys.stderr)
            interrupted = True
            break
        except Exception as exc:  # a grader bug must not cost the other submissions
            rows.append(Verdict(str(path), RUN, False, f"grader error: {_error_summary(exc)}"))
        pending = [Verdict(str(p), RUN, False, NOT_GRADED_YET) for p in files[done + 1 :]]
        # The grades so far survive a killed grader; a failure is reported (with a fallback)
        # by save_grades below.
        with contextlib.suppress(OSError):
            write_csv([*rows, *pending], out)
    status, note = save_grades(rows, out, files)
    print(summary_table(rows))
    print(note, file=sys.stderr if status else sys.stdout)
    return 130 if interrupted and not status else status


if __name__ == "__main__":  # pragma: no cover - exercised through the CLI tests
    sys.exit(main())
