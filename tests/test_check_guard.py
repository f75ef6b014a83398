"""The one validation layer: argument checks go through aigc_course/_check.py, nowhere else.

Rejecting ``True`` where a number is expected needs ``isinstance(value, bool)`` (Python counts
a bool as an int); a module that writes that test itself has grown its own validator. This
scans the package's source, so a new copy fails here with the file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "aigc_course"
BOOL_TEST = re.compile(r"isinstance\([^()]*(?:\([^()]*\))?[^()]*\bbool\b")

# Where a value must *be* a bool (not where a bool is refused as a number).
ALLOWED = {"grade.py": "a feedback record's 'passed' must be true or false"}

# Modules whose checks move onto _check in this release (emptied as each one is converted).
NOT_YET: frozenset[str] = frozenset()


def _offenders() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "_check.py":
            continue
        lines = [
            i
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if BOOL_TEST.search(line) and not line.lstrip().startswith("#")
        ]
        if lines:
            found[rel] = lines
    return found


def test_bool_rejection_lives_only_in_the_validation_module():
    offenders = {k: v for k, v in _offenders().items() if k not in NOT_YET | set(ALLOWED)}
    assert not offenders, (
        "use aigc_course._check (check_count, check_real, is_int, is_real_number) instead of "
        f"isinstance(..., bool) in: {offenders}"
    )


def test_the_not_yet_list_holds_no_converted_module():
    stale = sorted(NOT_YET - set(_offenders()))
    assert not stale, f"remove converted modules from NOT_YET: {stale}"


def test_the_pattern_finds_what_it_should():
    assert BOOL_TEST.search("if isinstance(n, bool) or n < 0:")
    assert BOOL_TEST.search("ok = isinstance(v, (int, float)) and not isinstance(v, bool)")
    assert not BOOL_TEST.search("flag: bool = False")
