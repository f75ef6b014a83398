r"""Grade exercise submissions: run each notebook, collect every checker's verdict, write a CSV.

Usage::

    python -m aigc_course.grade FILE.ipynb [FILE.ipynb ...] --out grades.csv [--timeout 600]

Each submission is executed from top to bottom in a fresh kernel (nbclient) in quick mode
(``AIGC_QUICK=1`` in the kernel's environment), in the submission's folder, with a time limit per
cell. Every checker's :class:`~aigc_course.exercises.feedback.Feedback` shown in a cell output
carries a machine-readable record (MIME type ``FEEDBACK_MIME``: exercise id, passed,
message); the grader reads those records from the executed notebook, so what a student prints or
renames does not change the verdict.

The CSV has one row per (file, exercise): ``file, exercise, passed, message``. The exercise ids
are the checkers' names (``check_gaussian_kl``). Each file also gets a row with the exercise
``(run)``: whether the notebook ran to the end, raised (which cell, which exception), timed out
or could not be read. The ids a submission must contain come from its metadata (written by
``tools/make_student_copies.py``); an expected exercise with no verdict (its cell was deleted, or
the run stopped before it) gets a row that says so, with ``passed`` false. A submission that
fails in any way is recorded, and the next one is still graded.

Grading runs the students' code: run it in a container or a throw-away account, not as yourself.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FEEDBACK_MIME = "application/vnd.aigc-course.feedback+json"
RUN = "(run)"
CHECKER_CALL = re.compile(r"\b(check_[A-Za-z0-9_]+)\s*\(")


@dataclass(frozen=True)
class Verdict:
    r"""One CSV row: a submission file, an exercise id, whether it passed, and why."""

    file: str
    exercise: str
    passed: bool
    message: str


def exercise_ids(nb: Any) -> list[str]:
    r"""The exercise ids a notebook expects, in order of first appearance.

    Taken from ``metadata["aigc_course"]["exercises"]`` where present (student copies carry it),
    else from the checker calls (``check_*(``) in the code cells: the answer key's exercises.
    """
    meta = nb.get("metadata", {}).get("aigc_course", {})
    if "exercises" in meta:
        return list(meta["exercises"])
    found: list[str] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        for line in source.splitlines():
            if line.lstrip().startswith(("#", "from ", "import ")):
                continue
            for name in CHECKER_CALL.findall(line):
                if name not in found:
                    found.append(name)
    return found


def feedback_records(nb: Any) -> list[dict[str, Any]]:
    r"""Every feedback record (a dict with exercise, passed, message) in the notebook's outputs."""
    records = []
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            record = output.get("data", {}).get(FEEDBACK_MIME)
            if isinstance(record, str):  # some writers store JSON as text
                record = json.loads(record)
            if isinstance(record, dict) and "exercise" in record:
                records.append(record)
    return records


def verdicts_from(file: str, nb: Any, run_status: tuple[bool, str]) -> list[Verdict]:
    r"""The rows for one executed (or partly executed) notebook.

    ``run_status`` is ``(ran_to_the_end, message)``. The last record of an exercise wins (a
    student may run a checker twice); expected exercises without a record are reported missing.
    """
    ran, run_message = run_status
    rows = [Verdict(file, RUN, ran, run_message)]
    last: dict[str, dict[str, Any]] = {}
    for record in feedback_records(nb):
        last[str(record["exercise"])] = record
    expected = exercise_ids(nb)
    for exercise in [*expected, *(e for e in last if e not in expected)]:
        record = last.get(exercise)
        if record is not None:
            rows.append(Verdict(file, exercise, bool(record["passed"]), str(record["message"])))
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


def grade_file(path: Path, *, timeout: float, kernel_name: str = "python3") -> list[Verdict]:
    r"""Execute one submission and return its rows; never raises for a faulty submission."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    file = str(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # not JSON, not a notebook: record it and go on
        return [Verdict(file, RUN, False, f"unreadable: {_error_summary(exc)}")]
    for cell in nb.cells:  # grade what the code does now, not what was saved
        if cell.cell_type == "code":
            cell.outputs = []
    env = {**os.environ, "AIGC_QUICK": "1", "MPLBACKEND": "Agg"}
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    current = {"n": -1}

    def on_cell_start(cell: Any, cell_index: int) -> None:
        current["n"] = cell_index

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
    except Exception as exc:  # a kernel that does not start, say: record and continue
        status = (False, f"could not run: {_error_summary(exc)}")
    return verdicts_from(file, nb, status)


def write_csv(rows: Iterable[Verdict], out: Path) -> None:
    r"""Write the rows as CSV (``file, exercise, passed, message``) to ``out``, atomically."""
    from aigc_course.runtime import atomic_write

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["file", "exercise", "passed", "message"])
    for row in rows:
        writer.writerow([row.file, row.exercise, row.passed, row.message])
    with atomic_write(out) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m aigc_course.grade", description=__doc__.splitlines()[0]
    )
    parser.add_argument("files", nargs="+", type=Path, help="submitted notebooks (.ipynb)")
    parser.add_argument("--out", required=True, type=Path, help="CSV file to write")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds allowed per cell (default 600)"
    )
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error(f"--timeout must be positive, got {args.timeout}")
    rows: list[Verdict] = []
    for path in args.files:
        print(f"grading {path} ...", flush=True)
        rows.extend(grade_file(path, timeout=args.timeout, kernel_name=args.kernel))
    write_csv(rows, args.out)
    print(summary_table(rows))
    print(f"wrote {len(rows)} rows to {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through the CLI tests
    sys.exit(main())
